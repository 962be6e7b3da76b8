"""Debugger attach: a Python worker under debugpy and a Node.js worker under --inspect, driven
through their own protocols (DAP, the DevTools protocol) to a breakpoint; the timeout does not
kill a worker paused in a debugger; --debug-wait holds the init until the client attaches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from router.api import Router
from router.config import parse_config
from router.errors import StartupError, UsageError
from router.runtimes import debug

from ._clients import Cdp, Dap

PY = '''def handler(event, context):
    greeting = "hello " + event["name"]
    return {"greeting": greeting}
'''
JS = '''exports.handler = async (event) => {
  const greeting = 'hello ' + event.name;
  return { greeting };
};
'''
# every test loads all three, so each function gets the same port in every test (py 5678,
# waits 5679, js 9229) and tests on two xdist workers never start two debuggers on one port
CONFIG = """
functions:
  py: {handler: py_fn.handler, debug: true, timeout: 1, concurrency: 5}
  js: {handler: js_fn.handler, debug: true, timeout: 1}
  waits: {handler: py_fn.handler, debug: wait}
"""
PAUSE_S = 1.5  # paused longer than the 1 s timeout


def _project(root: Path) -> Path:
    (root / "py_fn.py").write_text(PY)
    (root / "js_fn.js").write_text(JS)
    return root


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()))
    thread.start()
    return thread, out


def _dap_attach(port: int, breakpoint: tuple[Path, int] | None) -> Dap:
    dap = Dap(port)
    dap.request("initialize", adapterID="debugpy", clientID="router-tests", linesStartAt1=True,
                columnsStartAt1=True, pathFormat="path")  # fmt: skip
    attach = dap.send("attach", justMyCode=True)
    dap.event("initialized")
    if breakpoint is not None:
        path, line = breakpoint
        found = dap.request("setBreakpoints", source={"path": str(path)}, breakpoints=[{"line": line}])
        assert found["body"]["breakpoints"][0]["verified"]
    dap.request("configurationDone")
    dap.response(attach)
    return dap


@pytest.mark.slow
def test_python_breakpoint_and_the_timeout_held(tmp_path: Path) -> None:
    with Router.from_text(CONFIG, _project(tmp_path)) as router:
        target = router.app.runtimes.debug["py"]
        assert target.port >= debug.PYTHON_FIRST_PORT and not target.node
        assert router.app.runtimes._pool("py").fn.concurrency == 1  # a debugged function runs one worker
        assert router.invoke("py", {"name": "warm"}).ok  # the worker (and debugpy) is up
        dap = _dap_attach(target.port, (tmp_path / "py_fn.py", 3))
        try:
            thread, out = _in_thread(lambda: router.invoke("py", {"name": "debugger"}))
            stopped = dap.event("stopped")
            assert stopped["body"]["reason"] == "breakpoint"
            frames = dap.request("stackTrace", threadId=stopped["body"]["threadId"])["body"]["stackFrames"]
            assert (frames[0]["line"], frames[0]["source"]["path"]) == (3, str(tmp_path / "py_fn.py"))
            value = dap.request("evaluate", expression="greeting", frameId=frames[0]["id"], context="repl")
            assert value["body"]["result"] == "'hello debugger'"
            time.sleep(PAUSE_S)  # past the timeout, paused: the worker is not killed
            dap.request("continue", threadId=stopped["body"]["threadId"])
            thread.join(30)
        finally:
            dap.close()
        inv = out[0]
        assert inv.ok and inv.result == {"greeting": "hello debugger"}, inv.error
        report = [line for line in inv.logs.splitlines() if line.startswith("REPORT ")][0]
        assert report.endswith("\tTimeout: 1 s not enforced (a debugger was attached)")
        # the debugger gone, the timeout holds again
        assert "not enforced" not in router.invoke("py", {"name": "again"}).logs


@pytest.mark.slow
def test_python_debug_wait_holds_the_init_until_the_client_attaches(tmp_path: Path) -> None:
    with Router.from_text(CONFIG, _project(tmp_path)) as router:
        thread, out = _in_thread(lambda: router.invoke("waits", {"name": "late"}))
        thread.join(1.0)
        assert thread.is_alive() and not out  # waiting for the debugger
        dap = _dap_attach(router.app.runtimes.debug["waits"].port, None)
        try:
            thread.join(30)
        finally:
            dap.close()
        assert out[0].ok and out[0].result == {"greeting": "hello late"}


@pytest.mark.slow
def test_node_breakpoint_through_the_inspector(tmp_path: Path) -> None:
    with Router.from_text(CONFIG, _project(tmp_path)) as router:
        target = router.app.runtimes.debug["js"]
        assert target.port >= debug.NODE_FIRST_PORT and target.node
        assert router.invoke("js", {"name": "warm"}).ok
        cdp = Cdp(target.port)
        try:
            cdp.call("Debugger.enable")
            url = (tmp_path / "js_fn.js").as_uri()
            found = cdp.call("Debugger.setBreakpointByUrl", url=url, lineNumber=2)  # 0-based: line 3
            assert found["locations"], found
            thread, out = _in_thread(lambda: router.invoke("js", {"name": "inspector"}))
            paused = cdp.event("Debugger.paused")
            top = paused["callFrames"][0]
            where = top["location"]
            assert (where["scriptId"], where["lineNumber"]) == (found["locations"][0]["scriptId"], 2)
            value = cdp.call("Debugger.evaluateOnCallFrame", callFrameId=top["callFrameId"], expression="greeting")
            assert value["result"]["value"] == "hello inspector"
            time.sleep(PAUSE_S)
            cdp.call("Debugger.resume")
            thread.join(30)
        finally:
            cdp.close()
        inv = out[0]
        assert inv.ok and inv.result == {"greeting": "hello inspector"}, inv.error
        assert "\tTimeout: 1 s not enforced (a debugger was attached)" in inv.logs


def test_debug_options_and_the_missing_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config("functions:\n  a: {handler: a.handler}\n  b: {handler: b.handler}\n",
                          str(tmp_path / "triggers.yaml"), root=tmp_path)  # fmt: skip
    both = debug.with_debug(config, ["a"], wait=True)
    assert (both.functions["a"].debug, both.functions["b"].debug) == ("wait", False)
    with pytest.raises(UsageError, match=r"--debug nope: no function named 'nope' \(functions: a, b\)"):
        debug.with_debug(config, ["nope"], wait=False)
    with pytest.raises(UsageError, match="--debug-wait needs a function to debug"):
        debug.with_debug(config, [], wait=True)
    monkeypatch.setattr(debug.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(StartupError, match=r"needs debugpy, which is not installed: pip install 'router\[debug\]'"):
        debug.assign(both.functions, {})
