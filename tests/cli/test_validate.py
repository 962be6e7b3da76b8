"""`router validate` (every problem at once, what AWS checks before the first request) and
`router validate --load` / `router check` (each handler loaded once by a real worker)."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from router.check import banner_warnings, node_version
from router.cli import main
from router.config import NODE_RUNTIMES, load_config

NODE = node_version("node")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
NODE_MAJOR = int(NODE[1:].split(".")[0]) if NODE else 0
# a runtime of the installed node's major, so that no mismatch warning mixes in
SAME = f"nodejs{NODE_MAJOR}.x" if f"nodejs{NODE_MAJOR}.x" in NODE_RUNTIMES else "nodejs22.x"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    fns = tmp_path / "fns"
    fns.mkdir()
    (fns / "web.py").write_text("def hello(event, context):\n    return 1\n")
    (fns / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (fns / "hello.js").write_text("exports.hello = async () => 1;\n")
    return tmp_path


def run(project: Path, config: str, *args: str) -> tuple[Result, list[str]]:
    path = project / "triggers.yaml"
    path.write_text(textwrap.dedent(config).lstrip("\n"))
    result = CliRunner().invoke(main, [*args, str(path)])
    assert "Traceback" not in result.output, result.output
    prefix = f"{path}:"
    return result, [line.removeprefix(prefix) for line in result.output.splitlines()]


def test_every_problem_at_once(project: Path) -> None:
    (project / "fns" / "web.js").write_text("exports.hello = async () => 1;\n")
    result, lines = run(project, """
        functions:
          web: {handler: fns/web.hello}
          other: {handler: fns/missing.handler}
        triggers:
          - {function: web, schedule: rate(1 minutes)}
          - {function: nope, http: GET /x}
    """, "validate")  # fmt: skip
    assert result.exit_code == 2
    assert lines == [
        "2:18: functions.web.handler: ambiguous handler: both fns/web.py and fns/web.js exist; "
        f"set runtime: to choose one (for example python3.{sys.version_info.minor} or nodejs22.x)",
        "3:20: functions.other.handler: handler file not found: fns/missing.py or fns/missing.js/.mjs/.cjs/.ts/.mts; "
        "every invocation fails with Runtime.ImportModuleError",
        "5:31: triggers[0].schedule.expression: rate(1 minutes): the unit must be singular for 1; "
        "use rate(1 minute)",
        "6:16: triggers[1].function: no function named 'nope' (functions: other, web)",
        f"router: {project / 'triggers.yaml'}: 4 errors",
    ]


def test_an_empty_file_is_an_error(project: Path) -> None:
    result, lines = run(project, "", "validate")
    assert result.exit_code == 2
    assert lines == [" the config file is empty: define functions (and triggers) in it",
                     f"router: {project / 'triggers.yaml'}: 1 error"]  # fmt: skip
    result, lines = run(project, "settings: {region: eu-west-1}\n", "validate")
    assert result.exit_code == 2 and lines[0] == "1:1: functions: no functions defined: a config needs at least one"


@pytest.mark.parametrize(
    ("handler", "message"),
    [("fns/web", "malformed handler 'fns/web': expected 'path/module.function'; every invocation fails with "
                 "Runtime.MalformedHandlerName"),
     ("sys.handler", "the handler module 'sys' has the name of a built-in module; every invocation fails with "
                     "Runtime.BuiltInModuleConflict (rename it)"),
     ("fns/nothing.handler", "handler file not found: fns/nothing.py or fns/nothing.js/.mjs/.cjs/.ts/.mts; every "
                             "invocation fails with Runtime.ImportModuleError")],
)  # fmt: skip
def test_handlers_that_cannot_load(project: Path, handler: str, message: str) -> None:
    result, lines = run(project, f"functions:\n  f: {{handler: {handler}}}\n", "validate")
    assert result.exit_code == 2
    assert lines[0] == f"2:16: functions.f.handler: {message}"


def test_a_file_of_the_other_runtime_is_not_found(project: Path) -> None:
    result, lines = run(project, "functions:\n  f: {handler: fns/app.handler, runtime: nodejs20.x}\n", "validate")
    assert result.exit_code == 2
    assert lines[0] == ("2:16: functions.f.handler: handler file not found: fns/app.js/.mjs/.cjs/.ts/.mts "
                        "(nodejs20.x); every invocation fails with Runtime.ImportModuleError")  # fmt: skip


def test_missing_interpreters(project: Path) -> None:
    result, lines = run(project, """
        settings: {python: no-such-python3, node: /no/such/node}
        functions:
          py: {handler: fns/app.handler}
          js: {handler: fns/hello.hello}
    """, "validate")  # fmt: skip
    assert result.exit_code == 2
    assert lines[:2] == [
        "1:20: settings.python: Python interpreter not found: 'no-such-python3' (needed by py); "
        "give the path of a python3 executable",
        "1:43: settings.node: Node.js not found: '/no/such/node' (needed by js); install Node.js 18 or newer, "
        "or set settings.node to its path",
    ]


@needs_node
def test_node_major_other_than_the_runtime_is_a_warning(project: Path) -> None:
    other = next(r for r in NODE_RUNTIMES if r != SAME)
    result, lines = run(project, f"functions:\n  js: {{handler: fns/hello.hello, runtime: {other}}}\n", "validate")
    assert result.exit_code == 0, result.output
    major = other.removeprefix("nodejs").removesuffix(".x")
    assert lines == [
        f"2:43: functions.js.runtime: warning: runtime {other}, but node is {NODE}: the function runs on "
        f"Node.js {NODE_MAJOR} with {other}'s rules; install Node.js {major} or set runtime: nodejs{NODE_MAJOR}.x",
        "triggers.yaml: ok (1 function, 0 triggers); 1 warning",
    ]


def test_ok(project: Path) -> None:
    result, lines = run(project, "functions:\n  f: {handler: fns/app.handler}\n", "validate")
    assert result.exit_code == 0 and lines == ["triggers.yaml: ok (1 function, 0 triggers)"]


def test_banner_warnings(project: Path) -> None:
    (project / "triggers.yaml").write_text("functions:\n  f: {handler: fns/gone.handler}\n  g: {handler: fns/app.h}\n")
    assert banner_warnings(load_config(project / "triggers.yaml")) == [
        "warning: function f: handler file not found: fns/gone.py or fns/gone.js/.mjs/.cjs/.ts/.mts; every invocation "
        "fails with Runtime.ImportModuleError"]  # fmt: skip


# ---------------------------------------------------------------------------- --load


def test_load_python(project: Path) -> None:
    fns = project / "fns"
    (fns / "bad.py").write_text("def h(event, context):\n    return 1 +\n")
    (fns / "imp.py").write_text("import no_such_module_here\n")
    (fns / "boom.py").write_text("raise RuntimeError('no config')\n")
    result, lines = run(project, """
        functions:
          typo: {handler: fns/web.helo}
          syntax: {handler: fns/bad.h}
          imports: {handler: fns/imp.h}
          raises: {handler: fns/boom.h}
          fine: {handler: fns/web.hello}
    """, "validate", "--load")  # fmt: skip
    assert result.exit_code == 2
    assert lines == [
        "2:19: functions.typo.handler: Runtime.HandlerNotFound: Handler 'helo' missing on module 'fns/web'",
        "3:21: functions.syntax.handler: Runtime.UserCodeSyntaxError: Syntax error in module 'fns/bad': "
        "invalid syntax (bad.py, line 2)",
        "    at fns/bad.py:2:15",
        "4:22: functions.imports.handler: Runtime.ImportModuleError: Unable to import module 'fns/imp': "
        "No module named 'no_such_module_here'",
        "5:21: functions.raises.handler: RuntimeError: no config",
        f"router: {project / 'triggers.yaml'}: 4 errors",
    ]


@needs_node
def test_load_node(project: Path) -> None:
    fns = project / "fns"
    (fns / "bad.js").write_text("exports.h = async () => {\n  return 1 +;\n};\n")
    (fns / "badm.mjs").write_text("export const h = async () => {\n  return 1 +;\n};\n")
    (fns / "cb.js").write_text("exports.h = function (event, context, callback) { callback(null, 1); };\n")
    result, lines = run(project, f"""
        functions:
          export: {{handler: fns/hello.nope, runtime: {SAME}}}
          cjs: {{handler: fns/bad.h, runtime: {SAME}}}
          esm: {{handler: fns/badm.h, runtime: {SAME}}}
          fine: {{handler: fns/hello.hello, runtime: {SAME}}}
    """, "check")  # fmt: skip
    assert result.exit_code == 2
    assert lines == [
        "2:21: functions.export.handler: Runtime.HandlerNotFound: fns/hello.nope is undefined or not exported",
        "3:18: functions.cjs.handler: Runtime.UserCodeSyntaxError: SyntaxError: Unexpected token ';'",
        "    at fns/bad.js:2:13",
        "4:18: functions.esm.handler: Runtime.UserCodeSyntaxError: SyntaxError: Unexpected token ';'",
        "    at fns/badm.mjs:2:13",
        f"router: {project / 'triggers.yaml'}: 3 errors",
    ]


@needs_node
def test_load_nodejs24_refuses_callback_handlers(project: Path) -> None:
    (project / "fns" / "cb.js").write_text("exports.h = function (event, context, callback) { callback(null, 1); };\n")
    result, lines = run(project, "functions:\n  cb: {handler: fns/cb.h, runtime: nodejs24.x}\n", "check")
    assert result.exit_code == 2
    # aws-lambda-ric 4.x: a non-streaming handler with 3 or more parameters fails its init
    assert "2:17: functions.cb.handler: Runtime.CallbackHandlerDeprecated: ERROR: AWS Lambda has removed support " \
           "for callback-based function handlers starting with Node.js 24." in "\n".join(lines)


def test_load_timeout(project: Path) -> None:
    (project / "fns" / "slow.py").write_text("import time\ntime.sleep(30)\ndef h(e, c):\n    return 1\n")
    result, lines = run(project, "functions:\n  slow: {handler: fns/slow.h}\n", "check", "--timeout", "0.5")
    assert result.exit_code == 2
    assert lines[0] == ("2:19: functions.slow.handler: the handler did not finish loading within 0.5 s "
                        "(Lambda's init limit is 10 s)")  # fmt: skip


def test_check_ok_and_skips_what_cannot_load(project: Path) -> None:
    result, lines = run(project, "functions:\n  f: {handler: fns/app.handler}\n", "check")
    assert result.exit_code == 0 and lines == ["triggers.yaml: ok (1 function, 0 triggers, handlers load)"]
    result, lines = run(project, "functions:\n  f: {handler: fns/gone.handler}\n", "validate", "--load")
    assert result.exit_code == 2 and len(lines) == 2 and "handler file not found" in lines[0]


def test_no_node_needed_for_python_only(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(Path(shutil.which("python3") or "/usr/bin/python3").parent))
    result, _ = run(project, "settings: {node: no-such-node}\nfunctions:\n  f: {handler: fns/app.handler}\n",
                    "validate")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_node_older_than_18(project: Path) -> None:
    fake = project / "old-node"  # answers --version as Node.js 16 does
    fake.write_text("#!/bin/sh\necho v16.20.2\n")
    fake.chmod(0o755)
    result, lines = run(project, f"settings: {{node: {fake}}}\nfunctions:\n  js: {{handler: fns/hello.hello}}\n",
                        "validate")  # fmt: skip
    assert result.exit_code == 2
    assert lines[0] == (f"1:18: settings.node: {fake} is Node.js v16.20.2; install Node.js 18 or newer, "
                        "or set settings.node to its path")  # fmt: skip


def test_python_version_other_than_the_runtime_is_a_warning(project: Path) -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    other = "python3.9" if here != "3.9" else "python3.10"
    result, lines = run(project, f"functions:\n  py: {{handler: fns/app.handler, runtime: {other}}}\n", "validate")
    assert result.exit_code == 0, result.output
    assert lines == [
        f"2:43: functions.py.runtime: warning: runtime {other}, but the Python interpreter is {here}: the "
        f"function runs on Python {here}; set settings.python to a Python {other.removeprefix('python')} or "
        f"runtime: python{here}",
        "triggers.yaml: ok (1 function, 0 triggers); 1 warning",
    ]
    listed = CliRunner().invoke(main, ["list", str(project / "triggers.yaml")]).output
    assert f"runs on Python {here}" in listed


def test_load_never_reaches_an_aws_endpoint(project: Path) -> None:
    # module code that calls AWS at import must not reach a running daemon's embedded AWS
    (project / "fns" / "env.py").write_text(
        "import os\nprint('ENDPOINT', os.environ['AWS_ENDPOINT_URL'], os.environ['AWS_ACCESS_KEY_ID'])\n"
        "raise RuntimeError(os.environ['AWS_ENDPOINT_URL'])\n"
    )
    result, lines = run(project, "settings: {aws: {port: 4566}}\nfunctions:\n  f: {handler: fns/env.h}\n", "check")
    endpoint = lines[0].rsplit("RuntimeError: ", 1)[1]
    assert endpoint.startswith("http://127.0.0.1:") and not endpoint.endswith(":4566")
