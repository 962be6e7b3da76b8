"""AWS-SEMANTICS.md "Handlers: Python", against real Python workers."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from router.lineage import key_id
from router.runtimes.logs import ERROR_LOG_LIMIT, TRUNCATED

from .conftest import Factory, Harness, log_lines

FUNCTIONS = """
echo: {handler: pyhandlers/basic.echo}
counter: {handler: pyhandlers/basic.counter}
ctx: {handler: pyhandlers/basic.context_info, memory: 256, timeout: 7}
env: {handler: pyhandlers/basic.environment, environment: {STAGE: test}}
where: {handler: pyhandlers/basic.where}
root: {handler: root_handler.handler}
decimals: {handler: pyhandlers/basic.decimals}
a_set: {handler: pyhandlers/basic.a_set}
nothing: {handler: pyhandlers/basic.nothing}
raw: {handler: pyhandlers/basic.raw_bytes}
fails: {handler: pyhandlers/basic.fails}
printer: {handler: pyhandlers/basic.printer}
lookalike: {handler: pyhandlers/basic.frame_lookalike}
logs_info: {handler: pyhandlers/basic.logs_info}
big_error: {handler: pyhandlers/basic.big_error}
missing: {handler: pyhandlers/basic.not_there}
import_error: {handler: pyerrors/import_error.handler}
raises_at_import: {handler: pyerrors/raises_at_import.handler}
prints_at_import: {handler: pyerrors/prints_at_import.handler}
"""


@pytest.fixture
def py(runtimes: Factory) -> Harness:
    return runtimes(FUNCTIONS, settings="region: eu-west-2\naccount: '111122223333'")


def test_event_round_trip(py: Harness) -> None:
    event = {"a": [1, 2.5, "x", None, True], "nested": {"k": "v"}, "unicode": "é✓"}
    out = py.invoke("echo", event)
    assert out.ok and out.result == event and out.error is None


def test_context_attributes(py: Harness) -> None:
    out = py.invoke("ctx", {}, request_id="req-123")
    r = out.result
    assert out.request_id == "req-123"
    assert r["function_name"] == "ctx"
    assert r["function_version"] == "$LATEST"
    assert r["invoked_function_arn"] == "arn:aws:lambda:eu-west-2:111122223333:function:ctx"
    assert r["memory_limit_in_mb"] == "256"  # a string, copied from the env var
    assert r["aws_request_id"] == "req-123"
    assert r["log_group_name"] == "/aws/lambda/ctx"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", r["log_stream_name"])
    assert r["identity"] == [None, None]  # an object, its fields None without Cognito
    assert r["client_context"] is None
    assert r["remaining_type"] == "int" and 0 < r["remaining"] <= 7000


def test_client_context(py: Harness) -> None:
    cc = {"custom": {"k": "v"}, "env": {"locale": "en"}, "client": {"app_title": "demo"}}
    out = py.invoke("ctx", {}, client_context=cc)
    assert out.result["client_context"] == {"custom": {"k": "v"}, "env": {"locale": "en"},
                                            "app_title": "demo"}  # fmt: skip


def test_results_are_json(py: Harness) -> None:
    out = py.invoke("decimals")
    assert out.ok and out.result == {"price": 19.99, "count": 3, "nothing": None}
    assert py.invoke("nothing").result is None
    # bytes are returned as they are, JSON or not (awslambdaric lambda_runtime_marshaller.py:55-58)
    assert py.invoke("raw").result == b'{"raw": true}'


def test_unserializable_result_is_a_marshal_error(py: Harness) -> None:
    out = py.invoke("a_set", request_id="r-set")
    assert out.status == "error"
    assert out.error == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": "r-set",
        "stackTrace": [],
    }


def test_error_payload(py: Harness) -> None:
    out = py.invoke("fails", request_id="r-fail")
    assert out.status == "error" and out.result is None
    error = out.error
    assert error is not None
    assert set(error) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert error["errorMessage"] == "order 42 is not valid"
    assert error["errorType"] == "OrderError"
    assert error["requestId"] == "r-fail"
    assert all(isinstance(frame, str) for frame in error["stackTrace"])
    assert "basic.py" in error["stackTrace"][0] and "in fails" in error["stackTrace"][0]
    assert not any("python_worker.py" in frame for frame in error["stackTrace"])
    lines = log_lines(out)
    assert "[ERROR] OrderError: order 42 is not valid" in lines
    assert lines[lines.index("[ERROR] OrderError: order 42 is not valid") + 1] == (
        "Traceback (most recent call last):"
    )


@pytest.mark.parametrize(
    ("function", "error_type", "message"),
    [
        ("import_error", "Runtime.ImportModuleError",
         "Unable to import module 'pyerrors/import_error': "
         "No module named 'definitely_not_installed_module_xyz'"),
        ("missing", "Runtime.HandlerNotFound",
         "Handler 'not_there' missing on module 'pyhandlers/basic'"),
    ],
)  # fmt: skip
def test_init_errors(py: Harness, function: str, error_type: str, message: str) -> None:
    out = py.invoke(function, {})
    assert out.status == "error"
    assert out.error == {"errorMessage": message, "errorType": error_type, "requestId": "",
                         "stackTrace": []}  # fmt: skip
    assert out.init_duration_ms is not None
    lines = log_lines(out)
    assert f"[ERROR] {error_type}: {message}" in lines
    assert any(line.startswith("INIT_REPORT") and error_type in line for line in lines)
    # the next invocation tries the init again (cold), as Lambda does
    again = py.invoke(function, {})
    assert again.error == out.error and again.init_duration_ms is not None


def test_exception_at_import(py: Harness) -> None:
    out = py.invoke("raises_at_import", {})
    assert out.status == "error" and out.error is not None
    assert (out.error["errorType"], out.error["errorMessage"]) == ("ValueError", "broken at import")
    assert "raises_at_import.py" in out.error["stackTrace"][-1]


def test_syntax_error(runtimes: Factory, tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def handler(event, context)\n    return 1\n")
    out = runtimes("broken: {handler: broken.handler}", code=tmp_path).invoke("broken", {})
    assert out.error is not None
    assert out.error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert out.error["errorMessage"].startswith("Syntax error in module 'broken': ")
    assert "broken.py" in out.error["stackTrace"][0]


def test_malformed_handler_name(runtimes: Factory) -> None:
    harness = runtimes("echo: {handler: pyhandlers/basic.echo}")
    pool = harness.runtimes._pools["echo"]
    pool.fn = pool.fn.model_copy(update={"handler": "nodot"})  # config validation refuses it
    out = harness.invoke("echo", {})
    assert out.error is not None and out.error["errorType"] == "Runtime.MalformedHandlerName"
    assert out.error["errorMessage"].startswith("Bad handler 'nodot': ")


def test_init_output_comes_before_start(py: Harness) -> None:
    lines = log_lines(py.invoke("prints_at_import", {}))
    assert lines.index("importing the module") < next(
        i for i, line in enumerate(lines) if line.startswith("START ")
    )


def test_task_root_path_and_cwd(py: Harness) -> None:
    root = str(py.config.functions["root"].code_dir)
    out = py.invoke("root")
    assert out.result == {"cwd": root, "path0": root, "module": "root_handler"}
    nested = py.invoke("where").result
    assert nested["cwd"] == root and nested["path0"] == root
    assert nested["module"] == "pyhandlers.basic"  # path/module: the path is a package path


def test_environment(py: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_SECRET_OF_THE_PARENT", "must not leak")
    env = py.invoke("env").result
    assert "ROUTER_SECRET_OF_THE_PARENT" not in env
    assert env["STAGE"] == "test"
    expected = {
        "AWS_LAMBDA_FUNCTION_NAME": "env", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/env",
        "AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-2",  # reserved: config refuses them
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{py.config.functions['env'].runtime}",
        "_HANDLER": "pyhandlers/basic.environment",
        "LAMBDA_TASK_ROOT": str(py.config.functions["env"].code_dir), "TZ": ":UTC",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": key_id("env"),  # lineage: one per function
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
    }  # fmt: skip
    assert {k: env.get(k) for k in expected} == expected
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].count("[$LATEST]") == 1
    allowed = set(expected) | {"STAGE", "PATH", "HOME", "LANG", "AWS_SECRET_ACCESS_KEY",
                               "AWS_SESSION_TOKEN", "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_RUNTIME_DIR",
                               "LC_CTYPE", "_X_AMZN_TRACE_ID"}  # fmt: skip  (LC_CTYPE: Python's C-locale coercion)
    assert set(env) <= allowed, set(env) - allowed


def test_warm_reuse_keeps_module_state(py: Harness) -> None:
    first, second, third = (py.invoke("counter") for _ in range(3))
    assert (first.result, second.result, third.result) == (1, 2, 3)
    assert first.init_duration_ms is not None and first.init_duration_ms > 0
    assert second.init_duration_ms is None and third.init_duration_ms is None
    assert py.runtimes.workers("counter") == 1


def test_log_framing(py: Harness) -> None:
    cold = py.invoke("printer", request_id="r-1")
    warm = py.invoke("printer", request_id="r-2")
    for out, rid in ((cold, "r-1"), (warm, "r-2")):
        lines = log_lines(out)
        assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
        assert lines[1:4] == ["line one", "to stderr", "no newline at the end"]
        assert lines[-2] == f"END RequestId: {rid}"
        report = lines[-1].split("\t")
        assert report[0] == f"REPORT RequestId: {rid}"
        assert report[1] == f"Duration: {out.duration_ms:.2f} ms"
        assert report[2] == f"Billed Duration: {out.billed_duration_ms} ms"
        assert report[3] == "Memory Size: 128 MB"
        assert report[4] == f"Max Memory Used: {out.max_memory_mb} MB" and out.max_memory_mb > 0
        assert out.billed_duration_ms >= out.duration_ms
    assert log_lines(cold)[-1].split("\t")[5] == f"Init Duration: {cold.init_duration_ms:.2f} ms"
    assert len(log_lines(warm)[-1].split("\t")) == 5  # no Init Duration when warm


def test_frames_never_mix_with_stdout(py: Harness) -> None:
    out = py.invoke("lookalike")
    assert out.ok and out.result == "clean"
    assert any(line.endswith("42") for line in log_lines(out))


def test_logging_module_format(py: Harness) -> None:
    out = py.invoke("logs_info", request_id="r-log")
    line = next(line for line in log_lines(out) if line.startswith("[INFO]"))
    level, when, rid, message = line.split("\t")
    assert (level, rid, message) == ("[INFO]", "r-log", "an info message")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", when)


def test_error_log_truncated_at_256_kb(py: Harness) -> None:
    out = py.invoke("big_error")
    assert out.error is not None and len(out.error["errorMessage"]) == 300_000  # payload: whole
    error_line = next(line for line in log_lines(out) if line.startswith("[ERROR]"))
    assert error_line.endswith(TRUNCATED)
    assert len(error_line.encode()) <= ERROR_LOG_LIMIT + len(TRUNCATED) + 1
    assert "Traceback" not in out.logs  # cut before it


def test_on_log_gets_every_line(py: Harness) -> None:
    out = py.invoke("printer")
    assert [line for fn, line in py.lines if fn == "printer"] == log_lines(out)


def test_results_are_what_json_reads(py: Harness) -> None:
    out = py.invoke("echo", {"n": 1e300})
    assert json.loads(json.dumps(out.result)) == {"n": 1e300}


def test_worker_runs_on_settings_python(runtimes: Factory, tmp_path: Path) -> None:
    (tmp_path / "exe.py").write_text("import sys\n\ndef handler(e, c):\n    return sys.executable\n")
    python = os.path.realpath(os.environ.get("PYTHON", "/usr/bin/python3"))
    if not os.path.exists(python):
        pytest.skip("no system python3")
    harness = runtimes("exe: {handler: exe.handler}", code=tmp_path, settings=f"python: {python}")
    assert os.path.realpath(harness.invoke("exe").result) == python
