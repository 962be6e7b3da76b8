"""Debugger protocol clients for the tests: the Debug Adapter Protocol (debugpy) and the Chrome
DevTools Protocol over a WebSocket (Node's inspector). Standard library only; just what the
tests use."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import urllib.request
from typing import Any
from urllib.parse import urlparse


def _connect(port: int, wait: float = 30.0) -> socket.socket:
    """A connection to the debug adapter, once it listens (a worker starting under load may
    not have opened its port yet when the test attaches, as a person could not either)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Dap:
    """A DAP client: ``request`` sends and returns the response; events are kept for ``event``."""

    def __init__(self, port: int) -> None:
        self.sock = _connect(port)
        self.buf = b""
        self.seq = 0
        self.events: list[dict[str, Any]] = []
        self.responses: dict[int, dict[str, Any]] = {}

    def close(self) -> None:
        self.sock.close()

    def send(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments})
        self.sock.sendall(f"Content-Length: {len(body.encode())}\r\n\r\n{body}".encode())
        return self.seq

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        return self.response(self.send(command, **arguments))

    def response(self, seq: int) -> dict[str, Any]:
        while seq not in self.responses:
            self._read()
        found = self.responses.pop(seq)
        assert found["success"], found
        return found

    def event(self, name: str) -> dict[str, Any]:
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            self._read()

    def _read(self) -> None:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        length = int(dict(line.split(": ", 1) for line in head.decode().split("\r\n"))["Content-Length"])
        while len(self.buf) < length:
            self._more()
        message, self.buf = json.loads(self.buf[:length]), self.buf[length:]
        if message["type"] == "event":
            self.events.append(message)
        elif message["type"] == "response":
            self.responses[message["request_seq"]] = message

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the debug adapter closed the connection")
        self.buf += data


class Cdp:
    """A Chrome DevTools Protocol client over a WebSocket (RFC 6455: masked client frames)."""

    def __init__(self, port: int) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            url = urlparse(json.load(r)[0]["webSocketDebuggerUrl"])
        self.sock = socket.create_connection((url.hostname, url.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {url.path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())  # fmt: skip
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.id = 0
        self.events: list[dict[str, Any]] = []
        self.results: dict[int, dict[str, Any]] = {}

    def close(self) -> None:
        self.sock.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.id += 1
        self._send(json.dumps({"id": self.id, "method": method, "params": params}).encode())
        while self.id not in self.results:
            self._read()
        found = self.results.pop(self.id)
        assert "error" not in found, found
        return found["result"]  # type: ignore[no-any-return]

    def event(self, name: str) -> dict[str, Any]:
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == name:
                    return self.events.pop(i)["params"]  # type: ignore[no-any-return]
            self._read()

    def _send(self, data: bytes) -> None:
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else struct.pack("!BH", 0x80 | 126, n)
                                if n < 65536 else struct.pack("!BQ", 0x80 | 127, n))  # fmt: skip
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self) -> None:
        payload = b""
        while True:
            first, second = self._take(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._take(8))[0]
            payload += self._take(n)
            if first & 0x0F == 8:
                raise ConnectionError("the inspector closed the WebSocket")
            if first & 0x80:
                break
        message = json.loads(payload)
        if "id" in message:
            self.results[message["id"]] = message
        else:
            self.events.append(message)

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the inspector closed the connection")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
