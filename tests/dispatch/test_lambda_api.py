"""The Lambda Invoke API: the hook called directly, and through boto3's lambda client on the
embedded AWS endpoint for the three invocation types."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from router.clock import ManualClock
from router.dispatch.fakes import FakeRuntime
from router.dispatch.lambda_api import make_lambda_api

from .dispatch_helpers import Seen, make_config, running

PATH = "/2015-03-31/functions/{}/invocations"


def handler(function: str, event: Any) -> Any:
    if event.get("fail"):
        raise KeyError("missing")
    return {"hello": event.get("name")}


Api = Callable[..., Awaitable[tuple[int, dict[str, str], bytes] | None]]


async def with_api(tmp_path: Path, body: Callable[[Api, Seen], Awaitable[None]], **functions: Any) -> None:
    config = make_config(tmp_path, functions or {"greet": {}})
    async with running(config, FakeRuntime(handler, concurrency=1), ManualClock()) as d:
        hook = make_lambda_api(d, asyncio.get_running_loop())

        async def call(name: str, payload: bytes = b"{}", method: str = "POST", **headers: str) -> Any:
            # the hook runs on the AWS server's thread, never on the loop
            return await asyncio.to_thread(hook, method, PATH.format(name), headers, payload)

        await body(call, Seen(d))


def test_request_response_returns_the_result_and_the_log_tail(tmp_path: Path) -> None:
    async def body(call: Api, seen: Seen) -> None:
        status, headers, payload = await call("greet", b'{"name": "ann"}', **{"x-amz-log-type": "Tail"})
        assert status == 200 and json.loads(payload) == {"hello": "ann"}
        assert "X-Amz-Function-Error" not in headers
        assert headers["X-Amz-Executed-Version"] == "$LATEST"
        [inv] = seen.invocations
        assert headers["x-amzn-RequestId"] == inv.id and inv.source == "lambda-api"
        tail = base64.b64decode(headers["X-Amz-Log-Result"]).decode()
        assert tail == inv.logs and tail.startswith(f"START RequestId: {inv.id}")

    asyncio.run(with_api(tmp_path, body))


def test_a_function_error_is_a_200_with_the_error_header_and_object(tmp_path: Path) -> None:
    async def body(call: Api, seen: Seen) -> None:
        status, headers, payload = await call("greet", b'{"fail": true}')
        assert status == 200 and headers["X-Amz-Function-Error"] == "Unhandled"
        error = json.loads(payload)
        assert error["errorType"] == "KeyError" and error["errorMessage"] == "'missing'"
        assert "X-Amz-Log-Result" not in headers

    asyncio.run(with_api(tmp_path, body))


def test_the_log_tail_is_the_last_4_kb(tmp_path: Path) -> None:
    from router.dispatch.fakes import FakeOutcome

    class Chatty(FakeRuntime):
        async def invoke(self, function: str, event: Any, **kwargs: Any) -> FakeOutcome:
            out = await super().invoke(function, event, **kwargs)
            out.logs = "x" * 5000 + "END"
            return out

    async def main() -> None:
        config = make_config(tmp_path, {"greet": {}})
        async with running(config, Chatty(handler), ManualClock()) as d:
            hook = make_lambda_api(d, asyncio.get_running_loop())
            _, headers, _ = await asyncio.to_thread(hook, "POST", PATH.format("greet"), {"X-Amz-Log-Type": "Tail"}, b"")
            tail = base64.b64decode(headers["X-Amz-Log-Result"])
            assert len(tail) == 4096 and tail.endswith(b"xEND")

    asyncio.run(main())


def test_event_queues_and_dry_run_runs_nothing(tmp_path: Path) -> None:
    async def body(call: Api, seen: Seen) -> None:
        status, headers, payload = await call("greet", b'{"name": "bo"}', **{"X-Amz-Invocation-Type": "Event"})
        assert (status, payload) == (202, b"")
        await seen.count(1)
        assert seen.invocations[0].id == headers["x-amzn-RequestId"]
        assert seen.invocations[0].event == {"name": "bo"} and seen.invocations[0].event_id is not None
        status, _, payload = await call("greet", **{"X-Amz-Invocation-Type": "DryRun"})
        assert (status, payload) == (204, b"")
        assert len(seen.invocations) == 1

    asyncio.run(with_api(tmp_path, body))


@pytest.mark.parametrize(
    ("name", "payload", "headers", "status", "kind"),
    [
        ("nope", b"{}", {}, 404, "ResourceNotFoundException"),
        ("greet:prod", b"{}", {}, 404, "ResourceNotFoundException"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:greet", b"{}", {}, 404, "ResourceNotFoundException"),
        ("greet", b"{not json", {}, 400, "InvalidRequestContentException"),
        ("greet", b"{}", {"X-Amz-Invocation-Type": "Later"}, 400, "InvalidParameterValueException"),
        ("greet", b"{}", {"X-Amz-Client-Context": "!!"}, 400, "InvalidRequestContentException"),
        ("greet", b'"' + b"x" * (1024 * 1024) + b'"', {"X-Amz-Invocation-Type": "Event"}, 413,
         "RequestEntityTooLargeException"),
    ],
)  # fmt: skip
def test_bad_requests_get_aws_errors(
    tmp_path: Path, name: str, payload: bytes, headers: dict[str, str], status: int, kind: str
) -> None:
    async def body(call: Api, seen: Seen) -> None:
        got, out, text = await call(name, payload, **headers)
        assert (got, out["x-amzn-ErrorType"]) == (status, kind)
        assert json.loads(text)["Message"]
        assert seen.invocations == []

    asyncio.run(with_api(tmp_path, body))


def test_names_arns_and_latest_all_reach_the_function(tmp_path: Path) -> None:
    async def body(call: Api, seen: Seen) -> None:
        for ref in ("greet:$LATEST", "123456789012:function:greet",
                    "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Agreet"):  # fmt: skip
            status, _, _ = await call(ref)
            assert status == 200, ref
        assert len(seen.invocations) == 3

    asyncio.run(with_api(tmp_path, body))


def test_client_context_reaches_the_runtime_and_other_paths_go_to_moto(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"greet": {}})
    runtime = FakeRuntime(handler)

    async def main() -> None:
        async with running(config, runtime, ManualClock()) as d:
            hook = make_lambda_api(d, asyncio.get_running_loop())
            context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
            await asyncio.to_thread(hook, "POST", PATH.format("greet"), {"x-amz-client-context": context}, b"{}")
            assert runtime.calls[0].client_context == {"custom": {"k": "v"}}
            assert hook("GET", "/2015-03-31/functions/greet", {}, b"") is None
            assert hook("GET", PATH.format("greet"), {}, b"") is None

    asyncio.run(main())


def test_a_sync_invoke_of_a_full_function_is_throttled(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"greet": {"concurrency": 1}})
    gate = asyncio.Event()

    async def slow(function: str, event: Any) -> Any:
        await gate.wait()

    async def main() -> None:
        async with running(config, FakeRuntime(slow), ManualClock()) as d:
            hook = make_lambda_api(d, asyncio.get_running_loop())
            busy = asyncio.create_task(d.invoke("greet", {}))
            await asyncio.sleep(0.01)
            status, headers, body = await asyncio.to_thread(hook, "POST", PATH.format("greet"), {}, b"{}")
            assert (status, headers["x-amzn-ErrorType"]) == (429, "TooManyRequestsException")
            assert json.loads(body)["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
            gate.set()
            await busy

    asyncio.run(main())


@pytest.mark.slow
def test_boto3_lambda_client_invokes_through_the_embedded_aws(tmp_path: Path) -> None:
    """All three invocation types with boto3, unchanged, against the embedded endpoint."""
    from router.aws import Aws

    config = make_config(tmp_path, {"greet": {}}, aws={"port": 0})

    async def main() -> None:
        async with AsyncExitStack() as stack:
            aws = Aws(config)
            await aws.start(stack)
            async with running(config, FakeRuntime(handler), ManualClock()) as d:
                aws.lambda_api = make_lambda_api(d, asyncio.get_running_loop())
                seen = Seen(d)
                client = aws.client("lambda")
                ok = await asyncio.to_thread(client.invoke, FunctionName="greet", Payload=b'{"name": "cy"}',
                                             LogType="Tail")  # fmt: skip
                assert ok["StatusCode"] == 200 and "FunctionError" not in ok
                assert json.loads(ok["Payload"].read()) == {"hello": "cy"}
                assert base64.b64decode(ok["LogResult"]).decode().startswith("START RequestId:")
                assert ok["ExecutedVersion"] == "$LATEST"
                bad = await asyncio.to_thread(client.invoke, FunctionName="greet", Payload=b'{"fail": 1}')
                assert bad["StatusCode"] == 200 and bad["FunctionError"] == "Unhandled"
                assert json.loads(bad["Payload"].read())["errorType"] == "KeyError"
                queued = await asyncio.to_thread(client.invoke, FunctionName="greet", InvocationType="Event",
                                                 Payload=json.dumps({"name": "di"}))  # fmt: skip
                assert queued["StatusCode"] == 202
                await seen.until(lambda invs: any(i.event == {"name": "di"} for i in invs))
                dry = await asyncio.to_thread(client.invoke, FunctionName="greet", InvocationType="DryRun")
                assert dry["StatusCode"] == 204
                with pytest.raises(client.exceptions.ResourceNotFoundException):
                    await asyncio.to_thread(client.invoke, FunctionName="nope")
                # the control plane answers from the config (issue 17: never moto's Docker path)
                listed = await asyncio.to_thread(client.list_functions)
                assert [f["FunctionName"] for f in listed["Functions"]] == ["greet"]
                aws.lambda_api = None

    asyncio.run(main())
