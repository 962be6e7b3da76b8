"""AWS-SEMANTICS.md "Handlers: Node.js" and "Node.js 24", against real node workers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from router.runtimes.logs import TRUNCATED

from .conftest import Factory, Harness, log_lines

FUNCTIONS = """
echo: {handler: nodehandlers/basic.echo}
counter: {handler: nodehandlers/basic.counter}
ctx: {handler: nodehandlers/basic.context, memory: 512, timeout: 9}
env: {handler: nodehandlers/basic.environment, environment: {STAGE: dev}}
waits: {handler: nodehandlers/basic.waitsForTimer}
no_wait: {handler: nodehandlers/basic.doesNotWait}
promise_timer: {handler: nodehandlers/basic.promiseWithTimer}
succeed: {handler: nodehandlers/basic.succeed}
fail_no_arg: {handler: nodehandlers/basic.failNoArg}
fail_error: {handler: nodehandlers/basic.failError}
done_result: {handler: nodehandlers/basic.doneResult}
done_error: {handler: nodehandlers/basic.doneError}
first_wins: {handler: nodehandlers/basic.firstWins}
error_first: {handler: nodehandlers/basic.errorFirst}
error_timer: {handler: nodehandlers/basic.errorWithTimer}
nothing: {handler: nodehandlers/basic.nothing}
sync_return: {handler: nodehandlers/basic.syncReturn}
never_async: {handler: nodehandlers/basic.neverSettlesAsync}
never_plain: {handler: nodehandlers/basic.neverSettlesPlain}
sync_throw: {handler: nodehandlers/basic.syncThrow}
callback_number: {handler: nodehandlers/basic.callbackNumber}
uncaught: {handler: nodehandlers/basic.uncaught}
unhandled: {handler: nodehandlers/basic.unhandled}
circular: {handler: nodehandlers/basic.circular}
bigint: {handler: nodehandlers/basic.bigint}
big_error: {handler: nodehandlers/basic.bigError}
nested: {handler: nodehandlers/basic.nested.deeper.handler}
not_function: {handler: nodehandlers/basic.notAFunction}
not_exported: {handler: nodehandlers/basic.nope}
printer: {handler: nodehandlers/basic.printer}
mjs: {handler: esm/handler.handler}
type_module: {handler: esm_pkg/index.handler}
cjs: {handler: cjs/handler.handler}
missing_dep: {handler: node_errors/missing_dep.handler}
throws_at_load: {handler: node_errors/throws_at_load.handler}
"""

MODERN = """
m_callback: {handler: modern/handler.callbackStyle, runtime: nodejs24.x}
m_sync: {handler: modern/handler.syncValue, runtime: nodejs24.x}
m_context: {handler: modern/handler.contextKeys, runtime: nodejs24.x}
m_throws: {handler: modern/handler.throws, runtime: nodejs24.x}
m_circular: {handler: modern/handler.circular, runtime: nodejs24.x}
m_never: {handler: modern/handler.neverSettles, runtime: nodejs24.x}
m_esm_callback: {handler: esm_pkg/index.callbackStyle, runtime: nodejs24.x}
"""


@pytest.fixture
def node(runtimes: Factory) -> Harness:
    return runtimes(FUNCTIONS, settings="region: ap-south-1")


@pytest.fixture
def modern(runtimes: Factory) -> Harness:
    return runtimes(MODERN)


def info(outcome_logs: str) -> list[str]:
    """The messages of console.log lines (time \\t id \\t INFO \\t message)."""
    return [line.split("\t", 3)[3] for line in outcome_logs.split("\n") if "\tINFO\t" in line]


# ----------------------------------------------------------------------- context, results


def test_context(node: Harness) -> None:
    out = node.invoke("ctx", {}, request_id="rid-7")
    r = out.result
    assert r["keys"] == sorted([
        "awsRequestId", "callbackWaitsForEmptyEventLoop", "clientContext", "done", "fail",
        "functionName", "functionVersion", "getRemainingTimeInMillis", "identity",
        "invokedFunctionArn", "logGroupName", "logStreamName", "memoryLimitInMB", "succeed",
        "tenantId",  # 3.x src/InvokeContext.js:103, undefined without a tenant
    ])  # fmt: skip
    assert r["functionName"] == "ctx" and r["functionVersion"] == "$LATEST"
    assert r["memoryLimitInMB"] == "512"
    assert r["logGroupName"] == "/aws/lambda/ctx"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", r["logStreamName"])
    assert r["invokedFunctionArn"] == "arn:aws:lambda:ap-south-1:123456789012:function:ctx"
    assert r["awsRequestId"] == "rid-7"
    assert r["identity"] == "undefined" and r["clientContext"] == "undefined"
    assert 0 < r["remaining"] <= 9000
    assert r["waits"] is True


def test_client_context(node: Harness) -> None:
    cc = {"custom": {"a": 1}}
    assert node.invoke("ctx", {}, client_context=cc).result["clientContext"] == cc


def test_environment(node: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_SECRET_OF_THE_PARENT", "must not leak")
    env = node.invoke("env").result
    assert "ROUTER_SECRET_OF_THE_PARENT" not in env
    assert env["STAGE"] == "dev" and env["AWS_REGION"] == "ap-south-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs22.x"  # the default Node runtime
    assert env["_HANDLER"] == "nodehandlers/basic.environment" and env["TZ"] == ":UTC"


def test_warm_reuse_and_cold_start(node: Harness) -> None:
    outs = [node.invoke("counter") for _ in range(3)]
    assert [o.result for o in outs] == [1, 2, 3]
    assert outs[0].init_duration_ms is not None
    assert outs[1].init_duration_ms is None and outs[2].init_duration_ms is None


def test_event_round_trip(node: Harness) -> None:
    event = {"list": [1, "two", None, False], "deep": {"x": {"y": 3.5}}, "text": "é✓"}
    assert node.invoke("echo", event).result == event


def test_unstringifiable_result(node: Harness) -> None:
    for function in ("circular", "bigint"):
        out = node.invoke(function)
        assert out.status == "error" and out.error is not None
        assert out.error["errorType"] == "Error"
        assert out.error["errorMessage"] == "Unable to stringify response body"


# ----------------------------------------------------------------------- the event loop


def test_callback_waits_for_the_event_loop(node: Harness) -> None:
    out = node.invoke("waits")
    assert out.ok and out.result == "after the timer"
    assert "timer fired" in info(out.logs)  # the response waited for the timer


def test_callback_does_not_wait_when_told(node: Harness) -> None:
    out = node.invoke("no_wait")
    assert out.ok and out.result == "at once"
    assert "late timer fired" not in info(out.logs)
    node.sleep(0.3)  # the timer runs while the worker is idle ...
    nxt = node.invoke("no_wait")
    assert "late timer fired" in info(nxt.logs)  # ... and its line shows in the next invocation


def test_callback_error_does_not_wait(node: Harness) -> None:
    out = node.invoke("error_timer")
    assert out.status == "error" and out.error is not None
    assert out.error["errorMessage"] == "failed at once"
    assert "error timer fired" not in info(out.logs)


def test_promise_settles_at_once(node: Harness) -> None:
    out = node.invoke("promise_timer")
    assert out.ok and out.result == "resolved at once"
    assert "promise timer fired" not in info(out.logs)


def test_no_callback_no_promise_is_null_after_drain(node: Harness) -> None:
    out = node.invoke("nothing")
    assert out.ok and out.result is None
    assert "nothing timer fired" in info(out.logs)


def test_sync_return_value_is_ignored(node: Harness) -> None:
    out = node.invoke("sync_return")
    assert out.ok and out.result is None


def test_async_handler_that_never_settles(node: Harness) -> None:
    # 3.x src/Runtime.js:181-188: when the loop empties the default listener answers null
    out = node.invoke("never_async")
    assert out.ok and out.result is None
    plain = node.invoke("never_plain")  # not an async function: null, as for no callback
    assert plain.ok and plain.result is None


# ----------------------------------------------------------------------- succeed, fail, done


def test_context_succeed(node: Harness) -> None:
    out = node.invoke("succeed")
    assert out.ok and out.result == {"ok": True}


def test_context_fail_without_argument(node: Harness) -> None:
    out = node.invoke("fail_no_arg")
    assert out.error == {"errorType": "string", "errorMessage": "handled", "trace": []}


def test_context_fail_with_error(node: Harness) -> None:
    out = node.invoke("fail_error")
    assert out.error is not None
    assert (out.error["errorType"], out.error["errorMessage"]) == ("TypeError", "bad type")
    assert out.error["trace"][0] == "TypeError: bad type"


def test_context_done_does_not_wait(node: Harness) -> None:
    out = node.invoke("done_result")
    assert out.ok and out.result == "done result"
    assert "done timer fired" not in info(out.logs)
    err = node.invoke("done_error")
    assert err.error == {"errorType": "string", "errorMessage": "done error", "trace": []}


def test_first_completion_wins(node: Harness) -> None:
    out = node.invoke("first_wins")
    assert out.ok and out.result == "first"
    err = node.invoke("error_first")
    assert err.status == "error" and err.error is not None
    assert err.error["errorMessage"] == "first error"


# ----------------------------------------------------------------------- errors


def test_sync_throw_is_callback_error(node: Harness) -> None:
    out = node.invoke("sync_throw")
    assert out.error is not None
    assert set(out.error) == {"errorType", "errorMessage", "trace"}  # trace, no requestId
    assert out.error["errorType"] == "RangeError"
    assert out.error["errorMessage"] == "thrown synchronously"
    assert out.error["trace"][0] == "RangeError: thrown synchronously"
    assert any("basic.js" in frame for frame in out.error["trace"])
    line = next(line for line in log_lines(out) if "\tERROR\t" in line)
    time_, rid, level, message = line.split("\t", 3)
    assert (rid, level) == (out.request_id, "ERROR")
    assert message.startswith("Invoke Error \t{")
    logged = json.loads(message.split("\t", 1)[1])
    assert logged["errorType"] == "RangeError" and logged["errorMessage"] == "thrown synchronously"


def test_non_error_values(node: Harness) -> None:
    out = node.invoke("callback_number")
    assert out.error == {"errorType": "number", "errorMessage": "42", "trace": []}


def test_uncaught_exception_fails_and_ends_the_worker(node: Harness) -> None:
    out = node.invoke("uncaught")
    assert out.status == "error" and out.error is not None
    assert (out.error["errorType"], out.error["errorMessage"]) == ("Error", "uncaught later")
    assert any("\tUncaught Exception \t" in line for line in log_lines(out))
    node.sleep(0.1)
    assert node.runtimes.workers("uncaught") == 0
    again = node.invoke("uncaught")
    assert again.init_duration_ms is not None  # a new worker


def test_unhandled_rejection(node: Harness) -> None:
    out = node.invoke("unhandled")
    assert out.status == "error" and out.error is not None
    assert out.error["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert out.error["errorMessage"] == "Error: rejected"
    assert any("\tUnhandled Promise Rejection \t" in line for line in log_lines(out))
    assert node.invoke("unhandled").init_duration_ms is not None


def test_error_log_truncated_at_256_kb(node: Harness) -> None:
    out = node.invoke("big_error")
    assert out.error is not None and len(out.error["errorMessage"]) == 300_000
    line = next(line for line in log_lines(out) if "\tERROR\t" in line)
    assert line.endswith(TRUNCATED)


def test_output_of_stdout_stderr_and_console(node: Harness) -> None:
    lines = log_lines(node.invoke("printer"))
    assert "raw stdout" in lines and "raw stderr" in lines
    assert any(line.endswith("\tERROR\tconsole error") for line in lines)


# ----------------------------------------------------------------------- modules, init errors


def test_module_kinds(node: Harness) -> None:
    assert node.invoke("mjs", {"k": 1}).result == {"esm": "handler.mjs", "event": {"k": 1}}
    assert node.invoke("type_module").result == {"module": "esm"}
    assert node.invoke("cjs").result == {"module": "cjs"}
    assert node.invoke("nested").result == "nested export"


@pytest.mark.parametrize(
    ("function", "error_type", "message"),
    [
        ("not_exported", "Runtime.HandlerNotFound",
         "nodehandlers/basic.nope is undefined or not exported"),
        ("not_function", "Runtime.HandlerNotFound", "nodehandlers/basic.notAFunction is not a function"),
        ("missing_dep", "Runtime.ImportModuleError",
         "Error: Cannot find module 'definitely-not-installed-module-xyz'"),
        ("throws_at_load", "TypeError", "broken at load"),
    ],
)  # fmt: skip
def test_init_errors(node: Harness, function: str, error_type: str, message: str) -> None:
    out = node.invoke(function)
    assert out.status == "error" and out.error is not None
    assert out.error["errorType"] == error_type
    assert out.error["errorMessage"].startswith(message)
    assert out.init_duration_ms is not None
    line = next(line for line in log_lines(out) if "\tERROR\t" in line)
    assert line.split("\t")[1:4] == ["undefined", "ERROR", "Uncaught Exception "]
    assert any(line.startswith("INIT_REPORT") for line in log_lines(out))


def test_syntax_error(runtimes: Factory, tmp_path: Path) -> None:
    (tmp_path / "broken.js").write_text("exports.handler = async () => {;\n")
    out = runtimes("broken: {handler: broken.handler}", code=tmp_path).invoke("broken")
    assert out.error is not None
    assert out.error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert out.error["errorMessage"].startswith("SyntaxError: ")


def test_malformed_handler_name(runtimes: Factory) -> None:
    harness = runtimes("echo: {handler: nodehandlers/basic.echo}")
    pool = harness.runtimes._pools["echo"]
    pool.fn = pool.fn.model_copy(update={"handler": "nodehandlers/../basic.echo"})
    out = harness.invoke("echo")
    assert out.error is not None and out.error["errorType"] == "Runtime.MalformedHandlerName"


def test_node_older_than_18_is_refused(runtimes: Factory, tmp_path: Path) -> None:
    from router.errors import StartupError

    fake = tmp_path / "node16"
    fake.write_text("#!/bin/sh\necho v16.20.2\n")
    fake.chmod(0o755)
    harness = runtimes("echo: {handler: nodehandlers/basic.echo}", settings=f"node: {fake}")
    with pytest.raises(StartupError, match="is Node.js v16.20.2; install Node.js 18 or newer"):
        harness.invoke("echo")


# ----------------------------------------------------------------------- nodejs24.x


def test_node24_rejects_callback_handlers_at_init(modern: Harness) -> None:
    for function in ("m_callback", "m_esm_callback"):
        out = modern.invoke(function)
        assert out.status == "error" and out.error is not None
        assert out.error["errorType"] == "Runtime.CallbackHandlerDeprecated"
        assert "removed support for callback-based function handlers" in out.error["errorMessage"]


def test_node24_awaits_the_value(modern: Harness) -> None:
    out = modern.invoke("m_sync")
    assert out.ok and out.result == {"value": "sync"}


def test_node24_context(modern: Harness) -> None:
    r = modern.invoke("m_context").result
    assert r == {"waits": False, "succeed": "undefined", "fail": "undefined",
                 "done": "undefined", "functionName": "m_context"}  # fmt: skip


def test_node24_errors(modern: Harness) -> None:
    out = modern.invoke("m_throws")
    assert out.error is not None and out.error["errorMessage"] == "modern error"
    circular = modern.invoke("m_circular")
    assert circular.error is not None
    assert circular.error["errorType"] == "Runtime.JSONStringifyError"
    # 4.x: nothing keeps the process alive, it exits 0 (index.mjs:1084-1101 awaits forever)
    never = modern.invoke("m_never")
    assert never.status == "crashed" and never.error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {never.request_id} Error: Runtime exited without providing a reason",
    }
