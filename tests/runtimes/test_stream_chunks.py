"""A streaming Node.js handler's response reaches its caller as it is written (frames P, C, E:
router/runtimes/streaming.py), with Lambda's limits; callers without a consumer still get the
whole buffered response. Real node workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from router.runtimes import streaming
from router.runtimes.pool import RESPONSE_LIMIT

from .conftest import Factory

FUNCTIONS = """
waits: {handler: node_stream/handlers.waits, runtime: RUNTIME, timeout: 20}
big: {handler: node_stream/handlers.big, runtime: RUNTIME, timeout: 30, memory: 512}
empty: {handler: node_stream/handlers.empty, runtime: RUNTIME}
throws: {handler: node_stream/handlers.throws, runtime: RUNTIME}
echo: {handler: nodehandlers/basic.echo, runtime: RUNTIME}
"""
RUNTIMES = ["nodejs22.x", "nodejs24.x"]


class Recorder:
    """A ResponseStream that remembers what it was told; ``flag``: created at the first write."""

    def __init__(self, flag: Path | None = None) -> None:
        self.flag = flag
        self.calls: list[tuple[str, Any]] = []

    def start(self, content_type: str, request_id: str) -> None:
        self.calls.append(("start", (content_type, request_id)))

    def write(self, chunk: bytes) -> None:
        self.calls.append(("write", chunk))
        if self.flag is not None:
            self.flag.touch()  # the handler is waiting for this before it writes again

    @property
    def body(self) -> bytes:
        return b"".join(c for kind, c in self.calls if kind == "write")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_pieces_arrive_while_the_handler_runs(runtime: str, runtimes: Factory, tmp_path: Path) -> None:
    # the handler writes, then waits for the file the consumer creates at the first piece: had the
    # first piece not reached the consumer before the end, the invocation would time out
    harness = runtimes(FUNCTIONS.replace("RUNTIME", runtime))
    flag = tmp_path / "flag"
    rec = Recorder(flag)
    out = harness.invoke("waits", {"flag": str(flag)}, stream=rec)
    assert out.ok, out.error
    assert rec.calls[0] == ("start", ("text/plain", out.request_id))
    assert rec.calls[1] == ("write", b"first;") and rec.body == b"first;second"
    assert out.result == b"first;second" and out.content_type == "text/plain"  # the record keeps it


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_caller_without_a_consumer_gets_the_whole_response(runtime: str, runtimes: Factory,
                                                             tmp_path: Path) -> None:  # fmt: skip
    harness = runtimes(FUNCTIONS.replace("RUNTIME", runtime))
    (tmp_path / "flag").touch()
    out = harness.invoke("waits", {"flag": str(tmp_path / "flag")})
    assert out.ok and out.result == out.payload == b"first;second"


def test_an_empty_stream_still_starts_and_a_plain_function_never_does(runtimes: Factory) -> None:
    harness = runtimes(FUNCTIONS.replace("RUNTIME", "nodejs22.x"))
    rec = Recorder()
    out = harness.invoke("empty", {}, stream=rec)
    assert out.ok and out.result == b"" and rec.calls == [("start", ("application/octet-stream", out.request_id))]
    rec = Recorder()
    out = harness.invoke("echo", {"a": 1}, stream=rec)  # not streaming: its response is the Outcome's
    assert out.ok and out.result == {"a": 1} and rec.calls == []


def test_an_error_after_a_piece_ends_the_stream_as_a_function_error(runtimes: Factory) -> None:
    rec = Recorder()
    out = runtimes(FUNCTIONS.replace("RUNTIME", "nodejs22.x")).invoke("throws", {}, stream=rec)
    assert out.status == "error" and out.error is not None and out.error["errorMessage"] == "boom"
    assert rec.body == b"partial" and out.payload is None


def test_the_buffered_limit_applies_without_a_consumer(runtimes: Factory) -> None:
    out = runtimes(FUNCTIONS.replace("RUNTIME", "nodejs22.x")).invoke("big", {"size": RESPONSE_LIMIT + 1})
    assert out.status == "error" and out.error == {
        "errorMessage": f"Response payload size ({RESPONSE_LIMIT + 1} bytes) exceeded maximum allowed payload "
                        f"size ({RESPONSE_LIMIT} bytes).", "errorType": "Function.ResponseSizeTooLarge"}  # fmt: skip


def test_a_consumer_gets_more_than_6_mb_up_to_the_stream_limit(runtimes: Factory,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    harness = runtimes(FUNCTIONS.replace("RUNTIME", "nodejs22.x"))
    rec = Recorder()
    size = RESPONSE_LIMIT + 2 * 1024 * 1024
    out = harness.invoke("big", {"size": size}, stream=rec)
    assert out.ok and len(rec.body) == size
    assert out.result is None  # streamed on, and too large for the record to keep
    monkeypatch.setattr(streaming, "STREAM_LIMIT", 3 * 1024 * 1024)  # (200 MB in Lambda)
    rec = Recorder()
    out = harness.invoke("big", {"size": 4 * 1024 * 1024}, stream=rec)
    assert out.status == "error" and out.error is not None
    assert out.error["errorType"] == "Function.ResponseSizeTooLarge"
    assert out.error["errorMessage"].endswith(f"maximum allowed payload size ({3 * 1024 * 1024} bytes).")
    assert len(rec.body) == 3 * 1024 * 1024  # nothing past the limit reached the consumer
