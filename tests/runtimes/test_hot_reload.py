"""Hot reload follows what each worker loaded (issue 16): a handler writing data files keeps
its warm worker; editing a module a function loaded (the handler, or a module it imports;
Python, Node.js CommonJS and ES modules) restarts that function only, with one INFO line."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from router import Router
from router.invocation import Invocation

pytestmark = pytest.mark.slow

FILES = {
    "py/app.py": "import helper\n\ndef handler(event, context):\n    return helper.VALUE\n",
    "py/helper.py": "VALUE = 1\n",
    "py/writer.py": (
        "import json, os\n\n"
        "def handler(event, context):\n"
        "    root = os.environ['LAMBDA_TASK_ROOT']\n"
        "    for name in ('out.json', 'cache.py', 'data.js'):\n"
        "        with open(os.path.join(root, name), 'w') as f:\n"
        "            f.write(json.dumps(event))\n"
        "    return 'written'\n"
    ),
    "cjs/app.js": "const helper = require('./helper');\nexports.handler = async () => helper.VALUE;\n",
    "cjs/helper.js": "exports.VALUE = 1;\n",
    "esm/app.mjs": "import { VALUE } from './helper.mjs';\nexport const handler = async () => VALUE;\n",
    "esm/helper.mjs": "export const VALUE = 1;\n",
}

CONFIG = """
settings: {http: {port: 0}, aws: {port: 0}}
functions:
  py: {handler: app.handler, code: py}
  writer: {handler: writer.handler, code: py}
  cjs: {handler: app.handler, code: cjs}
  esm: {handler: app.handler, code: esm}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "triggers.yaml").write_text(CONFIG)
    return tmp_path


def edit(path: Path, text: str) -> None:
    """Write as editors do: a new file renamed over the old one, with a later mtime."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    tmp.replace(path)


def until_cold(r: Router, function: str, timeout: float = 10) -> Invocation:
    deadline = time.monotonic() + timeout
    while True:
        inv = r.invoke(function, {})
        if inv.init_duration_ms is not None or time.monotonic() > deadline:
            return inv
        time.sleep(0.05)


def test_data_files_a_handler_writes_keep_it_warm(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        first = r.invoke("writer", {"n": 0})
        assert first.ok and first.init_duration_ms is not None
        for i in range(1, 8):
            inv = r.invoke("writer", {"n": i})
            assert inv.ok and inv.init_duration_ms is None, f"invocation {i} was a cold start"
            time.sleep(0.1)  # room for a (wrong) reload to happen
    assert (project / "py" / "out.json").read_text() == '{"n": 7}'


@pytest.mark.parametrize(("function", "module", "new"), [
    ("py", "py/helper.py", "VALUE = 2\n"),
    ("py", "py/app.py", "def handler(event, context):\n    return 2\n"),
    ("cjs", "cjs/helper.js", "exports.VALUE = 2;\n"),
    ("esm", "esm/helper.mjs", "export const VALUE = 2;\n"),
    ("esm", "esm/app.mjs", "export const handler = async () => 2;\n"),
])  # fmt: skip
def test_editing_a_loaded_module_reloads_that_function_only(
    project: Path, function: str, module: str, new: str, caplog: pytest.LogCaptureFixture
) -> None:
    others = [f for f in ("py", "cjs", "esm") if f != function]
    with Router(project / "triggers.yaml") as r, caplog.at_level(logging.INFO, logger="router.runtimes"):
        for f in ("py", "cjs", "esm"):
            assert r.invoke(f, {}).result == 1
        edit(project / module, new)
        inv = until_cold(r, function)
        assert (inv.result, inv.init_duration_ms is not None) == (2, True)
        for f in others:  # everything else stays warm
            warm = r.invoke(f, {})
            assert warm.result == 1 and warm.init_duration_ms is None
        writer = r.invoke("writer", {})  # same folder as py, but it never loaded that module
        assert writer.ok
    lines = [m for m in caplog.messages if m.startswith("reloading ")]
    assert lines == [f"reloading {function}: {(project / module).resolve()} changed"]
