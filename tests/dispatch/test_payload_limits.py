"""Lambda's payload limits (issue 17): a synchronous result over 6 MB fails as Lambda fails it,
through the Invoke API and through API Gateway; an asynchronous event over 1 MB is refused
before it is queued, with AWS's error; a synchronous event over 6 MB is refused before it runs,
with the same error on every path (issue 19: Dispatcher.invoke, Router.invoke, the Invoke API;
``router invoke``: tests/runtimes/test_invoke_cli.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from router import Router
from router.clock import ManualClock
from router.dispatch.async_ import ASYNC_PAYLOAD_LIMIT, PayloadTooLargeError
from router.dispatch.dispatcher import SYNC_PAYLOAD_LIMIT
from router.dispatch.fakes import FakeRuntime
from router.dispatch.lambda_api import make_lambda_api

from .dispatch_helpers import Seen, make_config, running

PATH = "/2015-03-31/functions/{}/invocations"


def _echo(function: str, event: Any) -> Any:
    return event


def test_an_async_event_over_1_mb_is_refused_before_it_is_queued(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"f": {}})
    big = {"data": "x" * ASYNC_PAYLOAD_LIMIT}

    async def main() -> None:
        async with running(config, FakeRuntime(_echo), ManualClock()) as d:
            seen = Seen(d)
            with pytest.raises(PayloadTooLargeError, match=r"f: \d+ byte payload is too large for the Event "
                                                           r"invocation type \(limit 1048576 bytes\)"):  # fmt: skip
                await d.enqueue("f", big)
            with pytest.raises(PayloadTooLargeError):
                await asyncio.to_thread(d.enqueue_threadsafe, "f", big)
            assert d.pending() == 0
            await d.enqueue("f", {"data": "x" * (ASYNC_PAYLOAD_LIMIT - 100)})  # just under: accepted
            await seen.count(1)

    asyncio.run(main())


SYNC_MESSAGE = "Request must be smaller than 6291456 bytes for the InvokeFunction operation"


def test_a_sync_event_over_6_mb_is_refused_before_it_runs(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"f": {}})
    runtime = FakeRuntime(_echo)

    async def main() -> None:
        async with running(config, runtime, ManualClock()) as d:
            seen: list[Any] = []
            d.subscribe(seen.append)
            big = {"data": "x" * SYNC_PAYLOAD_LIMIT}
            with pytest.raises(PayloadTooLargeError, match=f"^f: {SYNC_MESSAGE}$") as info:
                await d.invoke("f", big)
            assert info.value.size == SYNC_PAYLOAD_LIMIT + len('{"data":""}')
            assert info.value.error_type == "RequestEntityTooLargeException"
            with pytest.raises(PayloadTooLargeError):  # the caller's own JSON text, counted in UTF-8 bytes
                await d.invoke("f", None, event_json='"' + "é" * (SYNC_PAYLOAD_LIMIT // 2) + '"')
            assert runtime.calls == [] and seen == []  # nothing ran, nothing journaled
            fits = "x" * (SYNC_PAYLOAD_LIMIT - 2)  # its JSON: exactly 6 MB
            assert (await d.invoke("f", fits)).result == fits

    asyncio.run(main())


def test_the_invoke_api_answers_aws_413s(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"f": {}})

    async def main() -> None:
        async with running(config, FakeRuntime(_echo), ManualClock()) as d:
            hook = make_lambda_api(d, asyncio.get_running_loop())
            event = b'"' + b"x" * ASYNC_PAYLOAD_LIMIT + b'"'
            status, headers, body = await asyncio.to_thread(
                hook, "POST", PATH.format("f"), {"X-Amz-Invocation-Type": "Event"}, event)
            assert (status, headers["x-amzn-ErrorType"]) == (413, "RequestEntityTooLargeException")
            assert json.loads(body)["Message"] == (f"{len(event)} byte payload is too large for the Event "
                                                   "invocation type (limit 1048576 bytes)")  # fmt: skip
            sync = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
            status, headers, body = await asyncio.to_thread(hook, "POST", PATH.format("f"), {}, sync)
            assert (status, headers["x-amzn-ErrorType"]) == (413, "RequestEntityTooLargeException")
            assert json.loads(body)["Message"] == SYNC_MESSAGE
            assert d.pending() == 0

    asyncio.run(main())


HANDLER = '''
def handler(event, context):
    return "x" * event.get("size", 7 * 1024 * 1024)  # (an HTTP event has no size: 7 MB)
'''

CONFIG = """
settings: {aws: {port: 0}, http: {port: 0}}
functions:
  big: {handler: big.handler, timeout: 10, memory: 512}
triggers:
  - {function: big, http: "GET /v2"}
  - {function: big, http: {route: "GET /v1", payload: "1.0"}}
"""


@pytest.fixture
def router(tmp_path: Path) -> Iterator[Router]:
    (tmp_path / "big.py").write_text(HANDLER)
    with Router.from_text(CONFIG, root=tmp_path) as r:
        yield r


@pytest.mark.slow
def test_a_result_over_6_mb_fails_as_lambda_fails_it(router: Router) -> None:
    client = router.aws.client("lambda")
    size = 7 * 1024 * 1024
    out = client.invoke(FunctionName="big", Payload=json.dumps({"size": size}))
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    assert json.loads(out["Payload"].read()) == {
        "errorMessage": f"Response payload size ({size + 2} bytes) exceeded maximum allowed payload size "
                        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }  # fmt: skip
    inv = router.wait("big", where=lambda i: i.source == "lambda-api")
    assert inv.status == "error" and inv.result is None
    fits = client.invoke(FunctionName="big", Payload=json.dumps({"size": 6291556 - 2}))
    assert "FunctionError" not in fits and len(fits["Payload"].read()) == 6291556


@pytest.mark.slow
def test_router_invoke_refuses_a_sync_event_over_6_mb(router: Router) -> None:
    with pytest.raises(PayloadTooLargeError, match=f"^big: {SYNC_MESSAGE}$"):
        router.invoke("big", {"size": 1, "pad": "x" * SYNC_PAYLOAD_LIMIT})
    assert router.invocations("big") == []
    status, body = 0, b""
    try:
        router.aws.client("lambda").invoke(FunctionName="big", Payload=json.dumps({"pad": "x" * SYNC_PAYLOAD_LIMIT}))
    except Exception as exc:  # botocore's ClientError: the 413 as AWS sends it
        status, body = exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]  # type: ignore[attr-defined]
    assert (status, body) == (413, {"Code": "RequestEntityTooLargeException", "Message": SYNC_MESSAGE})
    assert router.invocations("big") == []


@pytest.mark.slow
@pytest.mark.parametrize(("path", "status", "body"), [
    ("/v1", 502, {"message": "Internal server error"}),  # REST: an integration failure
    ("/v2", 500, {"message": "Internal Server Error"}),  # HTTP API
])  # fmt: skip
def test_api_gateway_answers_an_integration_failure_for_it(router: Router, path: str, status: int,
                                                           body: dict[str, str]) -> None:  # fmt: skip
    resp = router.http.get(path)
    assert resp.status_code == status and resp.json() == body
    inv = router.wait("big", where=lambda i: i.source == "http")
    assert (inv.error or {})["errorType"] == "Function.ResponseSizeTooLarge"
