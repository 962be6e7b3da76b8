"""``router invoke FUNCTION [-c CONFIG] [--event FILE|-]``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli.invoke import command
from router.lineage import key_id

from .conftest import FIXTURES

CONFIG = f"""
settings:
  aws: {{endpoint: "http://127.0.0.1:9"}}
functions:
  echo: {{handler: pyhandlers/basic.echo, code: {FIXTURES}}}
  fails: {{handler: pyhandlers/basic.fails, code: {FIXTURES}}}
  hello: {{handler: seeds/helloworld.myHandler, code: {FIXTURES}}}
  env: {{handler: pyhandlers/basic.environment, code: {FIXTURES}}}
  slow: {{handler: pyhandlers/basic.sleeper, code: {FIXTURES}, timeout: 1}}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "triggers.yaml"
    path.write_text(CONFIG)
    return path


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_ok_prints_the_result_and_the_logs(config: Path) -> None:
    code, out, err = run("hello", "-c", str(config), "--event", "-", stdin='{"key1": "a", "key2": "b"}')
    assert code == 0
    assert json.loads(out) == "some success message"
    lines = err.splitlines()
    assert lines[0].startswith("START RequestId: ")
    assert any(line.endswith("\tINFO\tvalue1 = a") for line in lines)
    assert lines[-1].startswith("REPORT RequestId: ") and "Init Duration" in lines[-1]


def test_event_from_a_file(config: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"x": [1, 2]}')
    code, out, _ = run("echo", "--config", str(config), "--event", str(event))
    assert code == 0 and json.loads(out) == {"x": [1, 2]}


def test_default_event_is_an_empty_object(config: Path) -> None:
    code, out, _ = run("echo", "-c", str(config))
    assert code == 0 and json.loads(out) == {}


def test_function_error_exits_1_with_the_error_payload(config: Path) -> None:
    code, out, err = run("fails", "-c", str(config))
    assert code == 1
    payload = json.loads(out)
    assert payload["errorType"] == "OrderError" and payload["errorMessage"] == "order 42 is not valid"
    assert "[ERROR] OrderError: order 42 is not valid" in err


def test_timeout_exits_1(config: Path) -> None:
    code, out, _ = run("slow", "-c", str(config), "--event", "-", stdin='{"seconds": 30}')
    assert code == 1 and json.loads(out)["errorType"] == "Sandbox.Timedout"


def test_worker_env_points_at_the_configured_endpoint(config: Path) -> None:
    code, out, _ = run("env", "-c", str(config))
    env = json.loads(out)
    assert code == 0
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert env["AWS_ACCESS_KEY_ID"] == key_id("env") and env["AWS_EC2_METADATA_DISABLED"] == "true"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["nope"], None, "no function named 'nope'"),
        (["echo", "--event", "-"], "{not json", "--event: stdin is not JSON"),
        (["echo", "--event", "/does/not/exist.json"], None, "--event: cannot read /does/not/exist.json"),
    ],
)
def test_usage_errors_exit_2(config: Path, args: list[str], stdin: str | None, message: str) -> None:
    code, out, err = run(*args, "-c", str(config), stdin=stdin)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_config_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "triggers.yaml"
    bad.write_text("functions:\n  f: {handler: missing.handler, colour: red}\n")
    code, _, err = run("f", "-c", str(bad))
    assert code == 2 and "unknown key" in err and "Traceback" not in err
    code, _, err = run("f", "-c", str(tmp_path / "absent.yaml"))
    assert code == 2 and "config file not found" in err


@pytest.mark.slow
def test_embedded_aws_is_started_for_the_call(tmp_path: Path) -> None:
    path = tmp_path / "triggers.yaml"
    path.write_text(f"settings: {{aws: {{port: 0}}}}\nfunctions:\n"
                    f"  env: {{handler: pyhandlers/basic.environment, code: {FIXTURES}}}\n")  # fmt: skip
    code, out, _ = run("env", "-c", str(path))
    assert code == 0
    assert json.loads(out)["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


def test_an_event_over_6_mb_is_refused_before_anything_runs(config: Path, tmp_path: Path) -> None:
    """Lambda's synchronous payload limit (Invoke: "the maximum payload size is 6 MB"), with the
    Invoke API's error, before the embedded AWS or a worker starts: nothing is journaled (issue 19)."""
    event = tmp_path / "big.json"
    event.write_text(json.dumps({"data": "x" * (6 * 1024 * 1024)}))
    code, out, err = run("echo", "-c", str(config), "--event", str(event))
    assert code == 2 and out == ""
    size = event.stat().st_size
    assert err == (f"router: --event: {event} is {size} bytes, over Lambda's synchronous payload limit: "
                   "RequestEntityTooLargeException: Request must be smaller than 6291456 bytes for the "
                   "InvokeFunction operation\n")  # fmt: skip
    assert not (tmp_path / ".router").exists()  # nothing started, nothing journaled
    # (exactly 6291456 bytes are accepted: tests/dispatch/test_payload_limits.py)
