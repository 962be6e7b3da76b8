"""The running daemon's control channel: commands such as ``router fire`` reach the daemon
that serves a config, not a second router of their own.

A Unix socket in a private folder (mode 0700) that the daemon creates at start, named in
``state_dir/daemon.json`` with the daemon's pid. No web page can reach a Unix socket (browsers
speak TCP only), so there is no Host, Origin or token to check; the folder's permissions keep
other local users out. Standard library only: asyncio streams, one JSON line per request and
per answer.

Requests: ``{"op": "ping"}`` and ``{"op": "fire", "trigger": NAME, "input": ANY}`` (``input``
optional). Answers: ``{"ok": true, ...}`` or ``{"ok": false, "error": MESSAGE}``.

Where Unix sockets do not exist (Windows), the daemon runs without the channel and the
commands that need it say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from .errors import RouterError, UsageError

log = logging.getLogger(__name__)

DAEMON_FILE = "daemon.json"
MAX_REQUEST = 1024 * 1024  # bytes of one request line (an input for fire)
CLIENT_TIMEOUT = 30.0

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class NoDaemon(UsageError):
    """No daemon serves this config (or its channel cannot be reached)."""


async def serve(state_dir: Path, handler: Handler, stack: AsyncExitStack) -> Path | None:
    """Listen on a fresh socket and name it in ``state_dir/daemon.json``; closed with ``stack``.
    Returns the socket's path (None where there are no Unix sockets)."""
    if not hasattr(socket, "AF_UNIX"):
        log.info("no Unix sockets here: `router fire` cannot reach this daemon")
        return None
    folder = Path(tempfile.mkdtemp(prefix="router-ctl-"))  # 0700; short: a socket path has ~100 bytes
    path = folder / "control.sock"

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("a request is a JSON object")
                answer = await handler(request)
            except RouterError as exc:
                answer = {"ok": False, "error": str(exc)}
            except ValueError as exc:
                answer = {"ok": False, "error": f"bad request: {exc}"}
            writer.write(json.dumps(answer, default=str).encode() + b"\n")
            await writer.drain()
        except Exception:
            log.exception("control channel: a request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_unix_server(on_client, path=str(path), limit=MAX_REQUEST)
    info = state_dir / DAEMON_FILE
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = info.with_name(f".{DAEMON_FILE}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "control": str(path)}), encoding="utf-8")
    tmp.replace(info)

    async def close() -> None:
        server.close()
        await server.wait_closed()
        with contextlib.suppress(OSError, ValueError):
            if json.loads(info.read_text(encoding="utf-8")).get("pid") == os.getpid():
                info.unlink()
        shutil.rmtree(folder, ignore_errors=True)

    stack.push_async_callback(close)
    return path


def request(state_dir: Path, payload: dict[str, Any], *, timeout: float = CLIENT_TIMEOUT) -> dict[str, Any]:
    """Send one request to the daemon of ``state_dir``; its answer. ``NoDaemon`` when none runs."""
    info = state_dir / DAEMON_FILE
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
        path, pid = str(data["control"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        raise NoDaemon(f"no router is running on the state dir {state_dir} (start it with `router run`)") from None
    if not _alive(pid) or not hasattr(socket, "AF_UNIX"):
        raise NoDaemon(f"no router is running on the state dir {state_dir} (the last one, pid {pid}, has stopped)")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(json.dumps(payload).encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise NoDaemon(f"cannot reach the router running on {state_dir} (pid {pid}): {exc}") from None
    try:
        answer = json.loads(b"".join(chunks))
    except ValueError:
        raise RouterError(f"the router running on {state_dir} sent an answer that is not JSON") from None
    if not isinstance(answer, dict):
        raise RouterError(f"the router running on {state_dir} sent an unexpected answer")
    return answer


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process has that pid now
        return True
    return True


def app_handler(app: Any) -> Handler:
    """The requests a running :class:`router.app.App` answers."""

    async def handle(req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "config": str(app.config.path)}
        if op == "fire":
            return {"ok": True, **(await _fire(app, req.get("trigger"), req.get("input")))}
        raise UsageError(f"unknown request {op!r} (ping, fire)")

    return handle


async def _fire(app: Any, name: Any, input: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise UsageError("fire needs a trigger name")
    config = app.config
    try:
        trigger = config.trigger(name)
    except Exception:
        names = ", ".join(t.name for t in config.triggers if t.kind == "schedule") or "none"
        raise UsageError(f"no trigger {name!r} in {config.path.name} (schedule triggers: {names})") from None
    if trigger.kind != "schedule":
        raise UsageError(f"trigger {trigger.name!r} is a {trigger.kind} trigger: router fire fires schedule triggers")
    source = app.sources.get("schedule")
    if source is None or trigger.name not in source.schedules:
        raise UsageError(f"trigger {trigger.name!r} is disabled (enabled: false): the running router has not loaded it")
    event_id = await source.fire(trigger.name, input)
    return {"trigger": trigger.name, "function": trigger.function, "event_id": event_id}
