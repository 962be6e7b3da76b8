"""Payloads as Lambda passes them, end to end (issue 19's follow-ups): a Python handler's bytes
stay bytes, a Decimal's digits survive to the Invoke API and ``router invoke``, any valid JSON
is an event (1e400), a lone surrogate never crashes the CLI, a client context and a Cognito
identity reach the handler's context, and the JSON log format's platform records."""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from router.cli.invoke import command, pretty_json
from router.clock import ManualClock
from router.config import parse_config
from router.dispatch import journal
from router.dispatch.base import to_invocation
from router.dispatch.dispatcher import Dispatcher
from router.dispatch.lambda_api import make_lambda_api
from router.invocation import Invocation
from router.runtimes import Runtimes
from router.store import Store

from .conftest import FIXTURES, WORKER_ENV, Factory, Harness, log_lines

FUNCTIONS = """
raw_bytes: {handler: py_fidelity/rules.raw_bytes}
json_bytes: {handler: py_fidelity/rules.json_bytes}
exact_decimal: {handler: py_fidelity/rules.exact_decimal}
echo_repr: {handler: py_fidelity/rules.echo_repr}
caller: {handler: py_fidelity/rules.caller_view}
node_caller: {handler: node_fidelity/rules.callerView, runtime: nodejs22.x}
json_ok: {handler: py_fidelity/rules.echo_repr, logging: {format: JSON}}
json_fails: {handler: py_fidelity/rules.fails, logging: {format: JSON}}
json_quiet: {handler: py_fidelity/rules.echo_repr, logging: {format: JSON, system_level: WARN}}
node_error_only: {handler: node_fidelity/rules.delError, runtime: nodejs22.x,
                  logging: {format: JSON, application_level: FATAL}}
"""


@pytest.fixture
def py(runtimes: Factory) -> Harness:
    return runtimes(FUNCTIONS)


# ------------------------------------------------------------------------------ results


def test_a_bytes_result_stays_bytes(py: Harness) -> None:
    # awslambdaric lambda_runtime_marshaller.py:55-58: bytes are posted as they are (not JSON),
    # even when they read as JSON
    out = py.invoke("raw_bytes")
    assert out.ok and out.result == b"\xff\x00 not JSON" and out.payload == out.result
    out = py.invoke("json_bytes")
    assert out.result == b'{"n": 1.10}' and out.payload == b'{"n": 1.10}'


def test_the_journal_keeps_bytes_as_base64_and_reads_them_back(py: Harness) -> None:
    inv = to_invocation(py.invoke("raw_bytes"), function="raw_bytes", trigger=None, source="invoke", event={})
    values, event_json, _, event, cut = journal._row(inv)
    record = json.loads(journal._records.encode(values, event_json, event, cut))
    assert record["result"] == {"$bytes": base64.b64encode(b"\xff\x00 not JSON").decode()}
    assert Invocation.from_dict(record).result == b"\xff\x00 not JSON"
    assert json.loads(inv.to_json())["result"] == record["result"]


def test_the_payload_keeps_every_digit(py: Harness) -> None:
    # lambda_runtime_marshaller.py:28-33: Decimal as its exact text
    out = py.invoke("exact_decimal")
    assert out.payload is not None and b"3.141592653589793238462643383279" in out.payload
    assert b"1E+400" in out.payload


def test_any_valid_json_is_an_event(py: Harness) -> None:
    # the clients read the event with simplejson / JSON.parse: 1e400 is infinity, not an error
    assert py.invoke("echo_repr", float("inf")).result == "inf"
    assert py.invoke("echo_repr", [float("-inf"), "Infinity"]).result == "[-inf, 'Infinity']"
    assert py.invoke("echo_repr", None, event_json="1e400").result == "inf"


# ------------------------------------------------------------------------------ context


@pytest.mark.parametrize("function", ["caller", "node_caller"])
def test_client_context_and_identity_reach_the_context(py: Harness, function: str) -> None:
    # awslambdaric lambda_context.py:36-43 and bootstrap.py:228-240; aws-lambda-ric 3.x
    # src/InvokeContext.js:93-100 (the Cognito identity header parsed as it is)
    identity = {"cognitoIdentityId": "us-east-1:abc", "cognitoIdentityPoolId": "us-east-1:pool"}
    context = {"custom": {"k": "v"}, "env": {"locale": "en"}, "client": {"app_title": "app"}}
    out = py.invoke(function, {"x": 1}, client_context=context, identity=identity)
    assert out.ok, out.error
    if function == "caller":
        assert out.result == {"identity": ["us-east-1:abc", "us-east-1:pool"], "custom": {"k": "v"},
                              "env": {"locale": "en"}, "app_title": "app", "event": "{'x': 1}"}  # fmt: skip
    else:
        assert out.result == {"identity": identity, "clientContext": context, "event": "[object Object]"}
    bare = py.invoke(function, {})
    if function == "caller":
        assert bare.result["identity"] == [None, None] and bare.result["custom"] is None
    else:
        assert bare.result["identity"] == "undefined" and bare.result["clientContext"] == "undefined"


# ------------------------------------------------------------------------------ logs


def test_json_format_writes_platform_records(py: Harness) -> None:
    out = py.invoke("json_ok", {}, request_id="rid-p")
    lines = log_lines(out)
    start, report = json.loads(lines[0]), json.loads(lines[-1])
    assert start["type"] == "platform.start" and set(start) == {"time", "type", "record"}
    assert start["record"] == {"requestId": "rid-p", "version": "$LATEST",
                               "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:json_ok"}  # fmt: skip
    assert report["type"] == "platform.report" and report["record"]["status"] == "success"
    metrics = report["record"]["metrics"]
    assert set(metrics) == {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs"}
    assert metrics["memorySizeMB"] == 128
    assert not any(line.startswith(("START", "END", "REPORT")) for line in lines)  # no END record
    failed = json.loads(log_lines(py.invoke("json_fails", {}))[-1])
    assert failed["record"]["status"] == "error" and failed["record"]["errorType"] == "ValueError"
    again = json.loads(log_lines(py.invoke("json_fails", {}))[-1])
    assert "initDurationMs" not in again["record"]["metrics"]  # a warm invocation


def test_system_level_warn_drops_the_platform_records(py: Harness) -> None:
    assert not any('"platform.' in line for line in log_lines(py.invoke("json_quiet", {})))


def test_a_filtered_error_log_leaves_no_empty_line(py: Harness) -> None:
    # aws-lambda-ric: the Invoke Error line goes through console.error, filtered at FATAL
    out = py.invoke("node_error_only", {})
    assert out.status == "error"
    assert [json.loads(line)["type"] for line in log_lines(out)] == ["platform.start", "platform.report"]


# ------------------------------------------------------------------------------ router invoke

CLI_CONFIG = f"""
settings:
  aws: {{endpoint: "http://127.0.0.1:9"}}
functions:
  raw_bytes: {{handler: py_fidelity/rules.raw_bytes, code: {FIXTURES}}}
  exact_decimal: {{handler: py_fidelity/rules.exact_decimal, code: {FIXTURES}}}
  lone_surrogate: {{handler: py_fidelity/rules.lone_surrogate, code: {FIXTURES}}}
  echo_repr: {{handler: py_fidelity/rules.echo_repr, code: {FIXTURES}}}
  caller: {{handler: py_fidelity/rules.caller_view, code: {FIXTURES}}}
"""


def cli(tmp_path: Path, *args: str, stdin: str | None = None) -> Any:
    path = tmp_path / "triggers.yaml"
    path.write_text(CLI_CONFIG)
    return CliRunner().invoke(command, [args[0], "-c", str(path), *args[1:]], input=stdin)


def test_cli_writes_bytes_as_they_are_and_history_shows_base64(tmp_path: Path) -> None:
    from router.cli.history import command as history

    result = cli(tmp_path, "raw_bytes")
    assert result.exit_code == 0 and result.stdout_bytes == b"\xff\x00 not JSON"
    shown = CliRunner().invoke(history, ["-c", str(tmp_path / "triggers.yaml"), "--json"])
    assert shown.exit_code == 0, shown.output
    [record] = json.loads(shown.stdout)
    assert record["result"] == {"$bytes": base64.b64encode(b"\xff\x00 not JSON").decode()}


def test_cli_prints_every_digit_and_escapes_a_lone_surrogate(tmp_path: Path) -> None:
    result = cli(tmp_path, "exact_decimal")
    assert result.exit_code == 0
    assert result.stdout == '{\n  "d": 3.141592653589793238462643383279,\n  "big": 1E+400\n}\n'
    result = cli(tmp_path, "lone_surrogate")  # was a UnicodeEncodeError traceback, no output
    assert result.exit_code == 0 and result.stdout == '{\n  "text": "a\\ud800b"\n}\n'


def test_cli_event_text_reaches_the_handler_unchanged(tmp_path: Path) -> None:
    result = cli(tmp_path, "echo_repr", "--event", "-", stdin='{"big": 1e400}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "{'big': inf}"
    result = cli(tmp_path, "echo_repr", "--event", "-", stdin='{"n": NaN}')
    assert result.exit_code == 2 and "--event: stdin is not JSON: NaN is not JSON" in result.stderr


def test_cli_client_context_and_identity(tmp_path: Path) -> None:
    result = cli(tmp_path, "caller", "--client-context", '{"custom": {"k": "v"}}',
                 "--identity", '{"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}')  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["identity"] == ["id-1", "pool-1"] and out["custom"] == {"k": "v"}
    result = cli(tmp_path, "caller", "--identity", "[1]")
    assert result.exit_code == 2 and "--identity: must be a JSON object, not list" in result.stderr
    result = cli(tmp_path, "caller", "--client-context", json.dumps({"custom": {"k": "v" * 4000}}))
    assert result.exit_code == 2 and "--client-context: must be at most 3583 bytes" in result.stderr


def test_pretty_json_keeps_numbers_and_escapes_what_the_terminal_cannot_take() -> None:
    text = '{"a": [1.10, -0.0, 12345678901234567890123], "é": "ü", "s": "\\ud800", "e": {}, "l": []}'
    assert pretty_json(text) == ('{\n  "a": [\n    1.10,\n    -0.0,\n    12345678901234567890123\n  ],\n'
                                 '  "é": "ü",\n  "s": "\\ud800",\n  "e": {},\n  "l": []\n}')  # fmt: skip
    assert '"\\u00e9": "\\u00fc"' in pretty_json(text, ascii_only=True)


# ------------------------------------------------------------------------------ Invoke API


def test_invoke_api_answers_the_payload_as_the_function_returned_it(tmp_path: Path) -> None:
    functions = "".join(f"  {name}: {{handler: py_fidelity/rules.{name}, code: {FIXTURES}}}\n"
                        for name in ("raw_bytes", "exact_decimal", "echo_repr", "caller_view"))  # fmt: skip
    config = parse_config(f"settings: {{state_dir: state}}\nfunctions:\n{functions}", "triggers.yaml", root=tmp_path)

    async def main() -> None:
        async with AsyncExitStack() as stack:
            runtimes = Runtimes(config, env=WORKER_ENV, hot_reload=False)
            await runtimes.start(stack)
            d = Dispatcher(config, runtimes, Store(config.state_dir), ManualClock())
            await d.start(stack)
            hook = make_lambda_api(d, asyncio.get_running_loop())

            async def call(name: str, body: bytes = b"{}", **headers: str) -> tuple[int, dict[str, str], bytes]:
                answer = await asyncio.to_thread(hook, "POST", f"/2015-03-31/functions/{name}/invocations",
                                                 headers, body)  # fmt: skip
                assert answer is not None
                return answer

            assert (await call("raw_bytes"))[2] == b"\xff\x00 not JSON"
            assert b"3.141592653589793238462643383279" in (await call("exact_decimal"))[2]
            assert json.loads((await call("echo_repr", b'{"x": 1e400}'))[2]) == "{'x': inf}"
            status, headers, body = await call("echo_repr", b'{"x": NaN}')
            assert status == 400 and headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
            context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
            seen = json.loads((await call("caller_view", **{"X-Amz-Client-Context": context}))[2])
            assert seen["custom"] == {"k": "v"}

    asyncio.run(main())
