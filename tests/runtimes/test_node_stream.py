"""Response streaming in Node.js workers, buffered for router's callers: the ``awslambda``
global (``streamifyResponse``, ``HttpResponseStream.from``) of both clients, and how an HTTP
trigger reads a streamed response's metadata prelude. Citations: aws-lambda-ric 3.x
(v3.3.0) src/Runtime.js:93-150, src/ResponseStream.js:123-262, src/HttpResponseStream.js;
4.x index.mjs:821-862, 1113-1141."""

from __future__ import annotations

import json

import pytest

from router.events.http_api import STREAM_PRELUDE_TYPE, map_stream

from .conftest import Factory, log_lines

FUNCTIONS = """
text: {handler: node_stream/handlers.text, runtime: RUNTIME}
http: {handler: node_stream/handlers.http, runtime: RUNTIME}
not_async: {handler: node_stream/handlers.notAsync, runtime: RUNTIME}
returns: {handler: node_stream/handlers.returns, runtime: RUNTIME}
destroyed: {handler: node_stream/handlers.destroyed, runtime: RUNTIME}
throws: {handler: node_stream/handlers.throws, runtime: RUNTIME}
late: {handler: node_stream/handlers.late, runtime: RUNTIME}
"""

RUNTIMES = ["nodejs22.x", "nodejs24.x"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_streamed_response_is_the_bytes_written(runtime: str, runtimes: Factory) -> None:
    harness = runtimes(FUNCTIONS.replace("RUNTIME", runtime))
    out = harness.invoke("text", {})  # three parameters: not a callback handler on 24 either
    assert out.ok, out.error
    assert out.result == b'hello {"a":1}world' and out.payload == out.result
    assert out.content_type == "text/plain"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_http_response_stream_prelude(runtime: str, runtimes: Factory) -> None:
    out = runtimes(FUNCTIONS.replace("RUNTIME", runtime)).invoke("http", {})
    assert out.ok and out.content_type == STREAM_PRELUDE_TYPE
    prelude = json.dumps({"statusCode": 201, "headers": {"x-kind": "stream"}, "cookies": ["a=1"]},
                         separators=(",", ":")).encode()  # fmt: skip
    assert out.result == prelude + b"\0" * 8 + b"chunk 1;chunk 2"
    resp = map_stream(out.result)  # what an HTTP trigger answers
    assert (resp.status, resp.body, resp.error) == (201, b"chunk 1;chunk 2", None)
    assert resp.header("x-kind") == "stream" and resp.header_values("Set-Cookie") == ["a=1"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_what_the_clients_refuse(runtime: str, runtimes: Factory) -> None:
    harness = runtimes(FUNCTIONS.replace("RUNTIME", runtime))
    kind = "Error" if runtime == "nodejs24.x" else "string"  # 3.x fails with the message itself
    for function, message in (("not_async", "Streaming does not support non-async handlers."),
                              ("destroyed", "Response stream is not finished.")):  # fmt: skip
        out = harness.invoke(function, {})
        assert out.error is not None, function
        assert (out.error["errorType"], out.error["errorMessage"]) == (kind, message)
        assert any("\tERROR\tInvoke Error \t" in line for line in log_lines(out))
    out = harness.invoke("throws", {})
    assert out.error is not None and out.error["errorMessage"] == "boom"
    out = harness.invoke("late", {})
    assert out.error is not None and out.error["errorType"] == "Runtime.InvalidStreamingOperation"
    assert out.error["errorMessage"] == "Cannot set content-type, too late."


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_return_value_is_ignored_with_a_warning(runtime: str, runtimes: Factory) -> None:
    out = runtimes(FUNCTIONS.replace("RUNTIME", runtime)).invoke("returns", {})
    assert out.ok and out.result == b"x"
    assert any(line.endswith("\tWARN\tStreaming handlers ignore return values.") for line in log_lines(out))


def test_map_stream_refuses_a_bad_prelude() -> None:
    assert map_stream(b"no delimiter").status == 500
    assert map_stream(b"[1]" + b"\0" * 8).error == "the streamed response's prelude is not an object"
    assert map_stream(b"{}" + b"\0" * 8 + b"body").status == 200  # the status defaults to 200
