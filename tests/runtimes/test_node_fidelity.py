"""The rules of AWS's Node.js runtime interface client per version, against real node workers:
aws-lambda-ric 3.x for nodejs18.x-22.x, 4.x for nodejs24.x. Each test runs one handler
under both and asserts what each client does. Citations: "3.x src/X.js:N" is the v3.3.0
tag of aws/aws-lambda-nodejs-runtime-interface-client, "4.x index.mjs:N" the npm package
aws-lambda-ric@4.0.2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import Factory, Harness, log_lines

HANDLERS = {
    "del_error": "node_fidelity/rules.delError",
    "shaped_empty": "node_fidelity/rules.shapedEmptyMessage",
    "shaped_message": "node_fidelity/rules.shapedWithMessage",
    "other_realm": "node_fidelity/rules.otherRealm",
    "symbol_sync": "node_fidelity/rules.throwSymbolSync",
    "symbol_async": "node_fidelity/rules.rejectSymbol",
    "unprintable": "node_fidelity/rules.rejectUnprintable",
    "reject_undefined": "node_fidelity/rules.rejectUndefined",
    "never": "node_fidelity/rules.neverSettles",
    "timer_throws": "node_fidelity/rules.timerThrows",
    "unhandled": "node_fidelity/rules.unhandled",
    "console_forms": "node_fidelity/rules.consoleForms",
    "cycle": "node_fidelity/rules.cycle",
    "environment": "node_fidelity/rules.environment",
    "folder": "node_fidelity/folder.handler",
    "no_extension": "node_fidelity/noext.handler",
    "default_export": "node_fidelity/default_export.handler",
    "through_function": "node_fidelity/rules.a.b",
    "missing_dep": "node_errors/missing_dep.handler",
}


def functions(runtime: str) -> str:
    return "\n".join(f"{name}: {{handler: {h}, runtime: {runtime}}}" for name, h in HANDLERS.items())


@pytest.fixture
def v3(runtimes: Factory) -> Harness:
    return runtimes(functions("nodejs22.x"))


@pytest.fixture
def v4(runtimes: Factory) -> Harness:
    return runtimes(functions("nodejs24.x"))


def error_line(outcome_logs: str) -> str:
    return next(line for line in outcome_logs.split("\n") if "\tERROR\t" in line)


# ----------------------------------------------------------------------- completion


def test_never_settling_async_handler(v3: Harness, v4: Harness) -> None:
    # 3.x src/Runtime.js:181-188: the loop empties, the default beforeExit listener answers null
    out = v3.invoke("never")
    assert out.ok and out.result is None
    # 4.x index.mjs:1084-1101: nothing keeps node alive, it exits 0
    out = v4.invoke("never")
    assert out.status == "crashed" and out.error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {out.request_id} Error: Runtime exited without providing a reason",
    }


def test_exception_in_a_timer(v3: Harness, v4: Harness) -> None:
    # 3.x src/index.mjs:28-31: caught, logged "Uncaught Exception", answered, exit 129
    out = v3.invoke("timer_throws")
    assert out.status == "error" and out.error is not None
    assert (out.error["errorType"], out.error["errorMessage"]) == ("Error", "thrown in a timer")
    assert "\tUncaught Exception \t" in error_line(out.logs)
    # 4.x installs no uncaughtException handler: Node's own crash, exit status 1
    out = v4.invoke("timer_throws")
    assert out.status == "crashed" and out.error is not None
    assert out.error["errorMessage"].endswith("Error: Runtime exited with error: exit status 1")
    assert "Error: thrown in a timer" in out.logs and "rules.js:" in out.logs  # Node's report
    assert v4.invoke("timer_throws").init_duration_ms is not None  # a new worker


def test_unhandled_rejection(v3: Harness, v4: Harness) -> None:
    out = v3.invoke("unhandled")
    assert out.error is not None and out.error["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert out.error["errorMessage"] == "Error: nobody handles this"
    line = error_line(out.logs)  # 3.x src/Errors.js:109-115: reason and promise are logged
    assert "\tUnhandled Promise Rejection \t" in line and '"promise":{}' in line
    out = v4.invoke("unhandled")
    assert out.status == "crashed" and out.error is not None
    assert out.error["errorMessage"].endswith("exit status 1")
    assert "nobody handles this" in out.logs


# ----------------------------------------------------------------------- error payloads


@pytest.mark.parametrize("harness", ["v3", "v4"])
def test_del_is_escaped(harness: str, request: pytest.FixtureRequest) -> None:
    # 3.x src/Errors.js:41-43, 4.x index.mjs:429-431
    out = request.getfixturevalue(harness).invoke("del_error")
    assert out.error is not None
    assert (out.error["errorType"], out.error["errorMessage"]) == ("Type%7FError", "bad%7Fmessage")
    assert out.error["trace"] and not any("\x7f" in line for line in out.error["trace"])
    assert "%7F" in out.error["trace"][0]


def test_what_counts_as_an_error(v3: Harness, v4: Harness) -> None:
    plain = {"errorType": "object", "errorMessage": "[object Object]", "trace": []}
    # 3.x src/Errors.js:11-21: name, message and stack all non-empty strings
    assert v3.invoke("shaped_empty").error == plain
    assert v3.invoke("shaped_message").error == {
        "errorType": "Shaped", "errorMessage": "has a message", "trace": ["Shaped: has a message"]}
    realm = v3.invoke("other_realm").error  # util.types.isNativeError: any realm
    assert realm is not None and realm["errorType"] == "RangeError" and realm["trace"]
    # 4.x index.mjs:426: instanceof Error only
    assert v4.invoke("shaped_empty").error == plain
    assert v4.invoke("shaped_message").error == plain
    assert v4.invoke("other_realm").error == {
        "errorType": "object", "errorMessage": "RangeError: from another realm", "trace": []}


def test_thrown_symbol(v3: Harness, v4: Harness) -> None:
    # 3.x: logging it first (`new Error(symbol)`, src/Errors.js:27) throws a TypeError; thrown
    # synchronously it escapes the invoke loop (src/Runtime.js:48-51): answered, then exit 129
    out = v3.invoke("symbol_sync")
    assert out.error is not None and out.error["errorType"] == "TypeError"
    assert out.error["errorMessage"] == "Cannot convert a Symbol value to a string"
    assert any("\tINFO\tUnexpected Top Level Error: TypeError: " in line for line in log_lines(out))
    assert v3.invoke("symbol_sync").init_duration_ms is not None
    # as a rejection, the promise's .catch(context.fail) answers that TypeError; the worker lives
    out = v3.invoke("symbol_async")
    assert out.error is not None and out.error["errorType"] == "TypeError"
    assert v3.invoke("symbol_async").init_duration_ms is None
    # 4.x index.mjs:448-453 logs new Error(String(symbol)): a symbol answer
    for function in ("symbol_sync", "symbol_async"):
        out = v4.invoke(function)
        assert out.error == {"errorType": "symbol", "errorMessage": "Symbol(sym)", "trace": []}
        assert '"errorMessage":"Symbol(sym)"' in error_line(out.logs)


def test_value_whose_to_string_throws(v3: Harness, v4: Harness) -> None:
    # 3.x: the TypeError its toString throws is caught by .catch(context.fail) and answered
    out = v3.invoke("unprintable")
    assert out.error is not None
    assert (out.error["errorType"], out.error["errorMessage"]) == ("TypeError", "no string for you")
    # 4.x: LifecycleManager.fail (index.mjs:1051-1055) throws while logging: the rejection is
    # unhandled and node exits 1
    out = v4.invoke("unprintable")
    assert out.status == "crashed" and out.error is not None
    assert out.error["errorMessage"].endswith("exit status 1")


def test_rejection_with_undefined(v3: Harness, v4: Harness) -> None:
    # 3.x: context.fail(undefined) is done('handled') (src/CallbackContext.js:69-75)
    assert v3.invoke("reject_undefined").error == {
        "errorType": "string", "errorMessage": "handled", "trace": []}
    # 4.x: formatError(undefined), logged as new Error("undefined")
    out = v4.invoke("reject_undefined")
    assert out.error == {"errorType": "undefined", "errorMessage": "undefined", "trace": []}
    assert '"errorMessage":"undefined"' in error_line(out.logs)


def test_unstringifiable_result(v3: Harness, v4: Harness) -> None:
    # 3.x src/RAPIDClient.js:207-213
    out = v3.invoke("cycle")
    assert out.error is not None and out.error["errorType"] == "Error"
    assert out.error["errorMessage"] == "Unable to stringify response body"
    # 4.x index.mjs:187-192 and 377-383: its own name is logged with it
    out = v4.invoke("cycle")
    assert out.error is not None and out.error["errorType"] == "Runtime.JSONStringifyError"
    assert '"name":"Runtime.JSONStringifyError"' in error_line(out.logs)


# ----------------------------------------------------------------------- module loading


def test_folder_with_index_js(v3: Harness, v4: Harness) -> None:
    # 3.x src/UserFunction.js:149-153: the name as is, by require (a folder loads index.js)
    assert v3.invoke("folder").result == "folder index.js"
    # 4.x index.mjs:549-565: by import(), which refuses a folder
    out = v4.invoke("folder")
    assert out.error is not None and out.error["errorType"] == "Error"
    assert re.match(r"Directory import '.*/node_fidelity/folder' is not supported", out.error["errorMessage"])


@pytest.mark.parametrize("harness", ["v3", "v4"])
def test_file_without_extension(harness: str, request: pytest.FixtureRequest) -> None:
    # 3.x src/UserFunction.js:149-153, 4.x index.mjs:559 (the extension '' is tried first)
    assert request.getfixturevalue(harness).invoke("no_extension").result == "a file without extension"


def test_default_export_object(v3: Harness, v4: Harness) -> None:
    out = v3.invoke("default_export")
    assert out.error is not None and out.error["errorType"] == "Runtime.HandlerNotFound"
    assert v4.invoke("default_export").result == "from the default export"  # index.mjs:584-586


def test_export_path_through_a_function(v3: Harness, v4: Harness) -> None:
    assert v3.invoke("through_function").result == "walked through a function"  # UserFunction.js:64-68
    out = v4.invoke("through_function")  # index.mjs:595-599: objects only
    assert out.error is not None and out.error["errorType"] == "Runtime.HandlerNotFound"
    assert out.error["errorMessage"] == "node_fidelity/rules.a.b is undefined or not exported"


# ----------------------------------------------------------------------- init errors


def test_init_error_lines(v3: Harness, v4: Harness) -> None:
    # 3.x: a rejected top-level await, so src/index.mjs:28-31 logs "Uncaught Exception" with
    # the request id still undefined; 4.x index.mjs:1218-1220: "Init Error", request id "-"
    line = error_line(v3.invoke("default_export").logs)
    assert line.split("\t")[1:4] == ["undefined", "ERROR", "Uncaught Exception "]
    line = error_line(v4.invoke("through_function").logs)
    assert line.split("\t")[1:4] == ["-", "ERROR", "Init Error "]
    logged = json.loads(line.split("\t", 4)[4])
    assert logged["errorType"] == "Runtime.HandlerNotFound"
    assert logged["name"] == "Runtime.HandlerNotFound"  # 4.x: an own property


def test_missing_dependency_require_stack(v3: Harness, v4: Harness) -> None:
    # 4.x loads by import(): the stack lists the user's files only
    out = v4.invoke("missing_dep")
    assert out.error is not None and out.error["errorType"] == "Runtime.ImportModuleError"
    stack = out.error["errorMessage"].split("Require stack:\n", 1)[1].split("\n")
    assert len(stack) == 1 and stack[0].endswith("/node_errors/missing_dep.js")
    # 3.x requires from the runtime's own file, listed last (/var/runtime/index.mjs on Lambda)
    out = v3.invoke("missing_dep")
    assert out.error is not None
    stack = out.error["errorMessage"].split("Require stack:\n", 1)[1].split("\n")
    assert stack[0].endswith("/node_errors/missing_dep.js")
    assert stack[1:] and all("/router/runtimes/child/node_" in entry for entry in stack[1:])


@pytest.mark.parametrize("runtime", ["nodejs22.x", "nodejs24.x"])
def test_syntax_error(runtime: str, runtimes: Factory, tmp_path: Path) -> None:
    (tmp_path / "broken.js").write_text("exports.handler = async () => {\n  return 1 +;\n};\n")
    out = runtimes(f"broken: {{handler: broken.handler, runtime: {runtime}}}", code=tmp_path).invoke("broken")
    assert out.error is not None and out.error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert out.error["errorMessage"] == "SyntaxError: Unexpected token ';'"
    trace = out.error["trace"]
    if runtime == "nodejs24.x":  # index.mjs:168-174: Node's own stack: file:line, source, caret
        assert trace[0] == f"{tmp_path}/broken.js:2"
        assert trace[1] == "  return 1 +;" and trace[2].strip() == "^"
    else:  # 3.x src/Errors.js:106: a new error, its own stack
        assert trace[0] == "Runtime.UserCodeSyntaxError: SyntaxError: Unexpected token ';'"


# ----------------------------------------------------------------------- context, console


def test_context_and_trace_environment(v3: Harness, v4: Harness) -> None:
    trace = re.compile(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0")
    first, second = (v3.invoke("environment").result for _ in range(2))
    assert "tenantId" in first["keys"] and "xRayTraceId" not in first["keys"]  # InvokeContext.js:90-108
    assert first["tenantId"] == "undefined" and trace.fullmatch(first["trace"])
    assert first["trace"] != second["trace"]  # fresh per invocation (InvokeContext.js:113-119)
    assert first["runtimeApi"] == "127.0.0.1:9001"
    r = v4.invoke("environment").result  # index.mjs:270-282: xRayTraceId is the same header
    assert "tenantId" in r["keys"] and trace.fullmatch(r["xRayTraceId"]) and r["xRayTraceId"] == r["trace"]


@pytest.mark.parametrize("harness", ["v3", "v4"])
def test_console_forms(harness: str, request: pytest.FixtureRequest) -> None:
    out = request.getfixturevalue(harness).invoke("console_forms")
    lines = [line.split("\t", 3)[2:] for line in log_lines(out) if line[:2] == "20"]
    # console.log() formats its missing first argument (3.x LogPatch.js:204-211, 4.x index.mjs:1560)
    assert lines[:4] == [["INFO", "undefined"], ["INFO", "a x b"], ["DEBUG", "debug line"],
                         ["WARN", "warn line"]]  # fmt: skip


# ----------------------------------------------------------------------- advanced logging controls

LOGGING = """
json_warn: {handler: node_fidelity/rules.consoleForms, runtime: RUNTIME,
            logging: {format: JSON, application_level: WARN}}
json_info: {handler: node_fidelity/rules.consoleForms, runtime: RUNTIME, logging: {format: JSON}}
json_error: {handler: node_fidelity/rules.delError, runtime: RUNTIME, logging: {format: JSON}}
error_only: {handler: node_fidelity/rules.delError, runtime: RUNTIME,
             logging: {format: JSON, application_level: FATAL}}
"""


def records(outcome_logs: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in outcome_logs.split("\n") if line.startswith('{"timestamp')]


@pytest.mark.parametrize("runtime", ["nodejs22.x", "nodejs24.x"])
def test_json_log_format_and_level(runtime: str, runtimes: Factory) -> None:
    harness = runtimes(LOGGING.replace("RUNTIME", runtime))
    out = harness.invoke("json_warn", request_id="rid-1")
    warn, after, before = records(out.logs)  # below WARN: nothing (LogPatch.js:177-229, index.mjs:1555-1570)
    assert set(warn) == {"timestamp", "level", "requestId", "message"}
    assert (warn["level"], warn["requestId"], warn["message"]) == ("WARN", "rid-1", "warn line")
    assert before["errorType"] == "TypeError" and before["errorMessage"] == "logged error"
    assert str(before["message"]).startswith("before TypeError: logged error")
    # 3.x looks for the Error among every argument, 4.x after the first (LogPatch.js:59, index.mjs:1391)
    assert ("errorType" in after) is (runtime == "nodejs22.x")
    info = records(harness.invoke("json_info").logs)
    assert set(info[0]) == {"timestamp", "level", "requestId"}  # console.log(): no message at all
    assert info[0]["level"] == "INFO" and info[1]["message"] == "a x b"
    assert "DEBUG" not in {r["level"] for r in info}  # JSON's default level is INFO


@pytest.mark.parametrize("runtime", ["nodejs22.x", "nodejs24.x"])
def test_json_error_record(runtime: str, runtimes: Factory) -> None:
    harness = runtimes(LOGGING.replace("RUNTIME", runtime))
    out = harness.invoke("json_error")
    (record,) = records(out.logs)  # the error itself: console.error(error) (LogPatch.js:238-240)
    assert record["level"] == "ERROR" and isinstance(record["message"], dict)
    assert record["message"]["errorType"] == "Error"  # the constructor's name
    assert record["message"]["errorMessage"] == "bad\x7fmessage"  # the log is not escaped
    assert harness.invoke("error_only").logs.count('"level":"ERROR"') == 0  # filtered at FATAL
