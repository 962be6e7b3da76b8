"""The rules of awslambdaric (AWS's Python runtime interface client), against real workers.
Citations ``file.py:N`` are lines of awslambdaric 4.2.2 (the PyPI wheel)."""

from __future__ import annotations

import decimal
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from router.runtimes.python import WORKER

from .conftest import Factory, Harness, log_lines

FUNCTIONS = """
named_tuples: {handler: py_fidelity/rules.named_tuples}
exact_decimal: {handler: py_fidelity/rules.exact_decimal}
lone_surrogate: {handler: py_fidelity/rules.lone_surrogate}
echo_repr: {handler: py_fidelity/rules.echo_repr}
nested_lookup: {handler: py_fidelity/rules.nested_lookup}
not_callable: {handler: py_fidelity/rules.not_callable}
one_argument: {handler: py_fidelity/rules.one_argument}
streams: {handler: py_fidelity/rules.streams}
logs: {handler: py_fidelity/rules.logs}
context_view: {handler: py_fidelity/rules.context_view}
imports_yaml: {handler: py_fidelity/rules.imports_yaml}
import_error: {handler: pyerrors/import_error.handler}
json_logs: {handler: py_fidelity/rules.json_logs, logging: {format: JSON, application_level: WARN}}
json_error: {handler: py_fidelity/rules.nested_lookup, logging: {format: JSON}}
"""


@pytest.fixture
def py(runtimes: Factory) -> Harness:
    return runtimes(FUNCTIONS)


def test_namedtuple_is_an_object(py: Harness) -> None:
    # lambda_runtime_marshaller.py:8-16: simplejson, whose namedtuple_as_object is on
    assert py.invoke("named_tuples").result == {
        "point": {"x": 1, "y": 2}, "points": [{"x": 3, "y": {"x": 4, "y": 5}}], "plain": [6, 7]}  # fmt: skip


def _worker_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("python_worker_under_test", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the script runs nothing at import
    return module


def test_decimal_keeps_every_digit_and_surrogates_are_escaped(py: Harness) -> None:
    # lambda_runtime_marshaller.py:28-33: a Decimal is written as RawJSON(str(d)); router's
    # parent reads the JSON into floats, so the digits are checked on the worker's own text
    worker = _worker_module()
    kind, body = worker.marshal({"d": decimal.Decimal("3.141592653589793238462643383279"), "s": "a\ud800b"})
    assert kind == worker.RESULT
    assert body == b'{"d": 3.141592653589793238462643383279, "s": "a\\ud800b"}'
    assert worker.marshal(b"\xff raw")  == (worker.RAW_RESULT, b"\xff raw")  # bytes as they are
    out = py.invoke("exact_decimal")
    assert out.ok and out.result["d"] == pytest.approx(3.141592653589793)
    assert py.invoke("lone_surrogate").result == {"text": "a\ud800b"}


def test_any_json_event(py: Harness) -> None:
    # the client reads the event with simplejson.loads (lambda_runtime_marshaller.py:45-53)
    pool = py.runtimes._pools["echo_repr"]
    out = py.run(pool.invoke("rid-e", "1e400", "null", True))
    assert out.ok and out.result == "inf"


def test_traceback_without_position_markers(py: Harness) -> None:
    # bootstrap.py:191-202: traceback.format_list of plain tuples, so no ~~^^ lines
    out = py.invoke("nested_lookup")
    assert out.error is not None and out.error["errorType"] == "KeyError"
    frames = out.error["stackTrace"]
    assert frames and "rules.py" in frames[-1]
    assert not any(re.fullmatch(r"\s*[~^]+\s*", line) for frame in frames for line in frame.splitlines())
    assert not any(re.fullmatch(r"\s*[~^]+\s*", line) for line in log_lines(out))
    # the log indents the traceback with no-break spaces (bootstrap.py:29, 143-146)
    lines = log_lines(out)
    traceback_at = lines.index("Traceback (most recent call last):")
    assert lines[traceback_at + 1].startswith("\u00a0\u00a0File ")


@pytest.mark.parametrize(
    ("function", "message"),
    [("not_callable", "'int' object is not callable"),
     ("one_argument", "one_argument() takes 1 positional argument but 2 were given")],
)  # fmt: skip
def test_uncallable_handler_keeps_the_runtime_frame(py: Harness, function: str, message: str) -> None:
    # bootstrap.py:193-197: no frame outside the runtime, so the runtime's frames are kept
    out = py.invoke(function)
    assert out.error is not None and out.error["errorType"] == "TypeError"
    assert out.error["errorMessage"] == message
    assert out.error["stackTrace"] and "python_worker.py" in out.error["stackTrace"][-1]


def test_stdout_is_unbuffered_as_the_client_makes_it(py: Harness) -> None:
    out = py.invoke("streams")  # bootstrap.py:347-367, 507-508
    assert out.result == {"write_returns": "None", "stdout": "Unbuffered", "stderr": "Unbuffered"}
    assert "written" in log_lines(out)


def test_root_logging_handler(py: Harness) -> None:
    out = py.invoke("logs", request_id="rid-log")
    lines = [line for line in log_lines(out) if line.startswith("[")]
    assert re.fullmatch(r"\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\trid-log\thello there", lines[0])
    assert lines[1].startswith("[WARNING]\t") and lines[1].endswith("\trid-log\tcareful")
    assert lines[2].endswith("\tit failed")


def test_json_logs_and_level(py: Harness) -> None:
    out = py.invoke("json_logs", request_id="rid-j")
    records = [json.loads(line) for line in log_lines(out) if line.startswith('{"timestamp')]
    # lambda_runtime_log_utils.py:113-146; below WARN nothing (bootstrap.py:474-475)
    assert records == [{"timestamp": records[0]["timestamp"], "level": "WARNING", "message": "warn line",
                        "logger": "root", "requestId": "rid-j", "order": 42}]  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(records[0]["timestamp"]))
    error = py.invoke("json_error", request_id="rid-k")  # bootstrap.py:103-116
    (record,) = [json.loads(line) for line in log_lines(error) if line.startswith('{"timestamp')]
    assert record["level"] == "ERROR" and record["errorType"] == "KeyError"
    assert record["requestId"] == "rid-k" and record["stackTrace"]


def test_context_and_trace_environment(py: Harness) -> None:
    context = {"custom": {"a": 1}, "w3c": {"traceparent": "00-abc-01", "baggage": 5, "other": "x"}}
    first = py.invoke("context_view", client_context=context).result
    assert first["tenant_id"] is None
    assert first["w3c"] == {"traceparent": "00-abc-01"}  # lambda_context.py:58-88
    assert first["custom"] == {"a": 1}
    assert first["repr"].startswith("LambdaContext([aws_request_id=") and "tenant_id=None" in first["repr"]
    trace = re.compile(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0")
    second = py.invoke("context_view").result
    assert trace.fullmatch(first["trace"]) and first["trace"] != second["trace"]  # bootstrap.py:433-438
    assert second["w3c"] == {} and first["runtime_api"] == "127.0.0.1:9001"


def test_init_error_warns_first(py: Harness) -> None:
    lines = log_lines(py.invoke("import_error"))
    warning = next(i for i, line in enumerate(lines) if line.startswith("[WARNING]"))
    error = next(i for i, line in enumerate(lines) if line.startswith("[ERROR]"))
    assert "\tLAMBDA_WARNING: Unhandled exception. The most likely cause" in lines[warning]
    assert warning < error  # bootstrap.py:529-533


# ----------------------------------------------------------------------- import environment


def test_router_only_module_warns_once(py: Harness) -> None:
    out = py.invoke("imports_yaml")
    assert out.ok and out.result == "yaml"  # one virtualenv: it cannot be hidden, it is flagged
    warnings = [line for line in log_lines(out) if line.startswith("router: WARNING")]
    assert len(warnings) == 1 and "'yaml'" in warnings[0] and "PyYAML" in warnings[0]
    assert "settings.python" in warnings[0]
    again = py.invoke("imports_yaml")
    assert not any(line.startswith("router: WARNING") for line in log_lines(again))


def test_code_folder_beats_a_router_module_of_its_name(runtimes: Factory, tmp_path: Path) -> None:
    # a handler folder py/ (no __init__.py) at the code root; pytest's py.py is in site-packages
    assert (Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages" /
            "py.py").exists()  # fmt: skip
    (tmp_path / "py").mkdir()
    (tmp_path / "py" / "handler.py").write_text("def handler(event, context):\n    return 'the py folder'\n")
    (tmp_path / "yaml").mkdir()  # a folder of data named like a module: not a package
    (tmp_path / "yaml" / "settings.yml").write_text("a: 1\n")
    (tmp_path / "uses_yaml.py").write_text("import yaml\n\ndef handler(event, context):\n    return yaml.__name__\n")
    harness = runtimes("py: {handler: py/handler.handler}\nuses: {handler: uses_yaml.handler}", code=tmp_path)
    out = harness.invoke("py")
    assert out.ok and out.result == "the py folder", out.error
    uses = harness.invoke("uses")  # PyYAML, not the data folder; flagged as router's
    assert uses.ok and uses.result == "yaml" and "router: WARNING" in uses.logs


@pytest.mark.slow
def test_project_interpreter_sees_the_sdk_not_router(runtimes: Factory, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    harness = runtimes(
        "yaml: {handler: py_fidelity/rules.imports_yaml}\nboto: {handler: py_fidelity/rules.imports_boto3}",
        settings=f"python: {venv / 'bin' / 'python'}",
    )
    out = harness.invoke("yaml")
    assert out.error is not None and out.error["errorType"] == "ModuleNotFoundError"
    assert out.error["errorMessage"] == "No module named 'yaml'"
    assert harness.invoke("boto").result == "boto3"  # as the Lambda runtime provides it


def other_python() -> str | None:
    """An interpreter (3.9+) of another Python version than router's, without boto3."""
    found = [shutil.which(f"python3.{minor}") for minor in (9, 10, 12, 13)]
    found += [str(p) for p in sorted((Path.home() / ".pyenv" / "versions").glob("3.*/bin/python3"))]
    check = "import sys, importlib.util as u; assert sys.version_info[:2] >= (3, 9); "
    check += f"assert sys.version_info[:2] != {tuple(sys.version_info[:2])}; assert u.find_spec('boto3') is None"
    for path in filter(None, found):
        if subprocess.run([path, "-c", check], capture_output=True, timeout=30).returncode == 0:
            return path
    return None


def test_sdk_is_not_offered_to_another_python_version(runtimes: Factory) -> None:
    python = other_python()
    if python is None:
        pytest.skip("needs an interpreter of another Python version")
    harness = runtimes("boto: {handler: py_fidelity/rules.imports_boto3}", settings=f"python: {python}")
    out = harness.invoke("boto")
    assert out.error is not None and out.error["errorType"] == "ModuleNotFoundError"
    assert "install boto3 into the project's environment" in out.error["errorMessage"]
