"""Init errors are invocation errors (as in Lambda): a config whose handler cannot load is
accepted, the other functions serve, and that function's invocations answer Lambda's init
error from a real worker."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from router.check import banner_warnings, node_version
from router.config import load_config
from router.runtimes import Runtimes

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
       "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # fmt: skip


async def invoke_all(config_path: Path, names: list[str]) -> dict[str, Any]:
    config = load_config(config_path)
    async with AsyncExitStack() as stack:
        runtimes = Runtimes(config, env=ENV, hot_reload=False)
        await runtimes.start(stack)
        outcomes = await asyncio.gather(*(runtimes.invoke(name, {"n": 1}) for name in names))
    return dict(zip(names, outcomes, strict=True))


def test_functions_that_cannot_load_answer_their_init_error(tmp_path: Path) -> None:
    (tmp_path / "fns").mkdir()
    (tmp_path / "fns" / "ok.py").write_text("def handler(event, context):\n    return event['n'] + 1\n")
    (tmp_path / "sys.py").write_text("def handler(event, context):\n    return 1\n")
    config = tmp_path / "triggers.yaml"
    config.write_text(
        "functions:\n  ok: {handler: fns/ok.handler}\n  missing: {handler: fns/gone.handler}\n"
        "  nodot: {handler: fns/ok}\n  builtin: {handler: sys.handler}\n"
    )
    out = asyncio.run(invoke_all(config, ["ok", "missing", "nodot", "builtin"]))
    assert out["ok"].ok and out["ok"].result == 2
    errors = {name: (o.status, o.error["errorType"], o.error["errorMessage"]) for name, o in out.items() if not o.ok}
    # awslambdaric bootstrap.py _get_handler: the messages of these init faults
    assert errors == {
        "missing": ("error", "Runtime.ImportModuleError",
                    "Unable to import module 'fns/gone': No module named 'fns.gone'"),
        "nodot": ("error", "Runtime.MalformedHandlerName",
                  "Bad handler 'fns/ok': not enough values to unpack (expected 2, got 1)"),
        "builtin": ("error", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
    }  # fmt: skip
    assert [w.split(":")[0:2] for w in banner_warnings(load_config(config))] == [
        ["warning", " function missing"], ["warning", " function nodot"], ["warning", " function builtin"]]


@pytest.mark.skipif(node_version("node") is None, reason="Node.js is not installed")
def test_node_function_that_cannot_load_answers_its_init_error(tmp_path: Path) -> None:
    (tmp_path / "ok.js").write_text("exports.handler = async (event) => event.n + 1;\n")
    config = tmp_path / "triggers.yaml"
    config.write_text(
        "functions:\n  ok: {handler: ok.handler}\n  missing: {handler: gone.handler, runtime: nodejs20.x}\n"
        "  nodot: {handler: ok, runtime: nodejs20.x}\n"
    )
    out = asyncio.run(invoke_all(config, ["ok", "missing", "nodot"]))
    assert out["ok"].ok and out["ok"].result == 2
    assert {name: o.error["errorType"] for name, o in out.items() if o.error} == {
        "missing": "Runtime.ImportModuleError", "nodot": "Runtime.MalformedHandlerName"}  # fmt: skip
