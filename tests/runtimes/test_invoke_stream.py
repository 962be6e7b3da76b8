"""InvokeWithResponseStream on the embedded AWS (router/dispatch/lambda_stream.py), through
boto3's own client and event stream reader, with real workers."""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from router.clock import Clock
from router.config import parse_config
from router.dispatch.dispatcher import Dispatcher
from router.dispatch.lambda_api import make_lambda_api
from router.dispatch.lambda_stream import event, message
from router.runtimes import Runtimes
from router.store import Store

from .conftest import FIXTURES


def test_messages_read_back_with_botocore() -> None:
    from botocore.eventstream import EventStreamBuffer

    reader = EventStreamBuffer()
    reader.add_data(event("PayloadChunk", "application/octet-stream", b"abc") + message({":x": "y"}, b""))
    first, second = list(reader)
    assert first.payload == b"abc" and first.headers[":event-type"] == "PayloadChunk"
    assert second.headers == {":x": "y"} and second.payload == b""


def _events(response: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    chunks, complete = b"", {}
    for item in response["EventStream"]:
        if "PayloadChunk" in item:
            chunks += item["PayloadChunk"]["Payload"]
        if "InvokeComplete" in item:
            complete = item["InvokeComplete"]
    return chunks, complete


@pytest.mark.slow
def test_boto3_invoke_with_response_stream(tmp_path: Path) -> None:
    text = f"""
settings: {{state_dir: state, aws: {{port: 0}}}}
functions:
  streams: {{handler: node_stream/handlers.text, code: {FIXTURES}, runtime: nodejs22.x}}
  waits: {{handler: node_stream/handlers.waits, code: {FIXTURES}, runtime: nodejs22.x, timeout: 20}}
  throws: {{handler: node_stream/handlers.throws, code: {FIXTURES}, runtime: nodejs22.x}}
  plain: {{handler: pyhandlers/basic.echo, code: {FIXTURES}}}
  fails: {{handler: pyhandlers/basic.fails, code: {FIXTURES}}}
"""
    config = parse_config(text, "triggers.yaml", root=tmp_path)

    async def main() -> None:
        from router.aws import Aws

        async with AsyncExitStack() as stack:
            aws = Aws(config)
            await aws.start(stack)
            runtimes = Runtimes(config, env=aws.worker_env(), hot_reload=False)
            await runtimes.start(stack)
            dispatcher = Dispatcher(config, runtimes, Store(config.state_dir), Clock())
            await dispatcher.start(stack)
            aws.lambda_api = make_lambda_api(dispatcher, asyncio.get_running_loop())
            stack.callback(setattr, aws, "lambda_api", None)
            client = aws.client("lambda")

            def call(name: str, payload: bytes = b"{}", **kwargs: Any) -> dict[str, Any]:
                return client.invoke_with_response_stream(FunctionName=name, Payload=payload, **kwargs)

            def read(name: str, payload: bytes = b"{}", **kwargs: Any) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
                out = call(name, payload, **kwargs)  # (read on a thread: the loop runs the function meanwhile)
                return out, *_events(out)

            out, chunks, complete = await asyncio.to_thread(read, "streams")
            assert out["StatusCode"] == 200 and out["ResponseStreamContentType"] == "text/plain"
            assert (chunks, complete) == (b'hello {"a":1}world', {})
            out, chunks, complete = await asyncio.to_thread(read, "plain", b'{"n": 1.10}', LogType="Tail")
            assert json.loads(chunks) == {"n": 1.1} and out["ResponseStreamContentType"] == "application/json"
            assert base64.b64decode(complete["LogResult"]).decode().startswith("START RequestId:")
            out, chunks, complete = await asyncio.to_thread(read, "fails")
            assert chunks == b"" and complete["ErrorCode"] == "OrderError"
            assert json.loads(complete["ErrorDetails"])["errorMessage"] == "order 42 is not valid"
            with pytest.raises(client.exceptions.ResourceNotFoundException):
                await asyncio.to_thread(call, "nope")
            await asyncio.to_thread(_first_chunk_before_the_end, call, tmp_path / "flag")
            await asyncio.to_thread(_an_error_after_a_chunk, call)

    asyncio.run(main())


def _first_chunk_before_the_end(call: Any, flag: Path) -> None:
    # the handler writes, then waits until this reader has the first chunk (it creates the flag):
    # a response sent only once the function ended would time out instead
    out = call("waits", json.dumps({"flag": str(flag)}).encode(), LogType="Tail")
    assert out["ResponseStreamContentType"] == "text/plain"
    events = iter(out["EventStream"])
    assert next(events) == {"PayloadChunk": {"Payload": b"first;"}}
    assert not flag.exists()
    flag.touch()
    rest, complete = _events({"EventStream": events})
    assert rest == b"second" and "ErrorCode" not in complete, complete
    assert base64.b64decode(complete["LogResult"]).decode().rstrip().split("\n")[-1].startswith("REPORT RequestId:")


def _an_error_after_a_chunk(call: Any) -> None:
    chunks, complete = _events(call("throws"))
    assert chunks == b"partial" and complete["ErrorCode"] == "Error"
    assert json.loads(complete["ErrorDetails"])["errorMessage"] == "boom"
