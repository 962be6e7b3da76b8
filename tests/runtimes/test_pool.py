"""The platform around the handlers (AWS-SEMANTICS.md "Every runtime"): timeouts, memory,
crashes, concurrency, reaping, hot reload, for both languages."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from router.errors import InvocationError, ThrottledError

from .conftest import Factory, Harness, log_lines, touch_later

PLATFORM = """
py_sleep: {handler: pyhandlers/basic.sleeper, timeout: 1}
js_sleep: {handler: nodehandlers/basic.sleep, timeout: 1}
py_hog: {handler: pyhandlers/basic.hog, memory: 128}
js_hog: {handler: nodehandlers/basic.hog, memory: 128}
py_exit: {handler: pyhandlers/basic.exits}
py_sys_exit: {handler: pyhandlers/basic.sys_exit}
py_segv: {handler: pyhandlers/basic.segfault}
js_exit: {handler: nodehandlers/basic.exit}
py_spawns: {handler: pyhandlers/basic.spawns}
py_counter: {handler: pyhandlers/basic.counter}
"""


@pytest.fixture
def platform(runtimes: Factory) -> Harness:
    return runtimes(PLATFORM)


# ----------------------------------------------------------------------- timeouts


@pytest.mark.parametrize(("function", "event"), [("py_sleep", {"seconds": 30}), ("js_sleep", {"ms": 30000})])
def test_timeout_kills_the_worker(platform: Harness, function: str, event: dict[str, int]) -> None:
    out = platform.invoke(function, event, request_id="r-timeout")
    assert out.status == "timeout" and out.result is None
    assert out.error == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: r-timeout Error: Task timed out after 1.00 seconds",
    }
    lines = log_lines(out)
    assert re.fullmatch(r"\S+Z r-timeout Task timed out after 1\.00 seconds", lines[-3])
    assert lines[-2] == "END RequestId: r-timeout"
    platform.sleep(0.05)
    assert platform.runtimes.workers(function) == 0
    fast = platform.invoke(function, {"seconds": 0, "ms": 0})  # a fresh worker replaces it
    assert fast.ok and fast.result == "slept" and fast.init_duration_ms is not None


# ----------------------------------------------------------------------- memory


@pytest.mark.parametrize("function", ["py_hog", "js_hog"])
def test_over_memory_kills_the_worker(platform: Harness, function: str) -> None:
    out = platform.invoke(function, {"mb": 400}, request_id="r-oom")
    assert out.status == "crashed" and out.result is None
    assert out.error == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": "RequestId: r-oom Error: Runtime exited with error: signal: killed",
    }
    lines = log_lines(out)
    assert lines[-4:-2] == ["RequestId: r-oom Error: Runtime exited with error: signal: killed",
                            "Runtime.OutOfMemory"]  # fmt: skip
    assert out.max_memory_mb > 128
    ok = platform.invoke(function, {"mb": 8})
    assert ok.ok and ok.result == 8 and ok.init_duration_ms is not None
    assert ok.max_memory_mb < 128 + 64


# ----------------------------------------------------------------------- crashes


@pytest.mark.parametrize(
    ("function", "event", "message"),
    [
        ("py_exit", {"code": 3}, "Runtime exited with error: exit status 3"),
        ("py_sys_exit", {}, "Runtime exited with error: exit status 4"),
        ("py_segv", {}, "Runtime exited with error: signal: segmentation fault"),
        ("js_exit", {"code": 2}, "Runtime exited with error: exit status 2"),
        ("js_exit", {"code": 0}, "Runtime exited without providing a reason"),
    ],
)
def test_crash_fails_only_that_invocation(
    platform: Harness, function: str, event: dict[str, int], message: str
) -> None:
    out = platform.invoke(function, event, request_id="r-crash")
    assert out.status == "crashed"
    assert out.error == {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: r-crash Error: {message}"}
    assert f"RequestId: r-crash Error: {message}" in log_lines(out)
    assert platform.invoke("py_counter").ok  # others are untouched


def test_killing_a_worker_kills_what_its_handler_started(platform: Harness) -> None:
    pid = platform.invoke("py_spawns").result
    assert psutil.pid_exists(pid)
    platform.run(platform.runtimes.aclose())
    deadline = time.monotonic() + 3
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the handler's child outlived its worker"
        time.sleep(0.02)


# ----------------------------------------------------------------------- concurrency


def test_concurrency_limits_workers(runtimes: Factory) -> None:
    harness = runtimes("sleepy: {handler: nodehandlers/basic.sleep, concurrency: 2}")
    rt = harness.runtimes
    seen: list[tuple[int, int]] = []

    async def scenario() -> list[object]:
        tasks = [asyncio.create_task(rt.invoke("sleepy", {"ms": 200})) for _ in range(3)]
        await asyncio.sleep(0.1)
        seen.append((rt.busy("sleepy"), rt.free_slots("sleepy")))
        with pytest.raises(ThrottledError, match="concurrency"):
            await rt.invoke("sleepy", {"ms": 0}, wait=False)
        return list(await asyncio.gather(*tasks))

    outs = harness.run(scenario())
    assert seen == [(2, 0)]
    assert all(o.ok for o in outs)  # type: ignore[attr-defined]
    assert rt.workers("sleepy") == 2  # the third waited for a warm one
    assert sum(o.init_duration_ms is not None for o in outs) == 2  # type: ignore[attr-defined]
    assert (rt.busy("sleepy"), rt.free_slots("sleepy")) == (0, 2)


def test_parallel_invocations_use_separate_workers(runtimes: Factory) -> None:
    harness = runtimes("count: {handler: pyhandlers/basic.counter, concurrency: 3}")
    outs = harness.gather(*[("count", None)] * 3)
    assert sorted(o.result for o in outs) == [1, 1, 1]  # each worker has its own module state


def test_cancelled_invocation_does_not_leave_a_busy_worker(runtimes: Factory) -> None:
    harness = runtimes("sleepy: {handler: pyhandlers/basic.sleeper, concurrency: 1}")

    async def scenario() -> None:
        task = asyncio.create_task(harness.runtimes.invoke("sleepy", {"seconds": 30}))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    harness.run(scenario())
    assert harness.runtimes.busy("sleepy") == 0
    assert harness.invoke("sleepy", {"seconds": 0}).result == "slept"


# ----------------------------------------------------------------------- reaping


def test_idle_workers_are_reaped(runtimes: Factory) -> None:
    harness = runtimes("count: {handler: pyhandlers/basic.counter}", idle_timeout=0.2)
    assert harness.invoke("count").result == 1
    deadline = time.monotonic() + 5
    while harness.runtimes.workers("count"):
        assert time.monotonic() < deadline, "the idle worker was not reaped"
        harness.sleep(0.1)
    again = harness.invoke("count")
    assert again.result == 1 and again.init_duration_ms is not None


# ----------------------------------------------------------------------- hot reload

RELOAD = """
py_version: {handler: pyhandlers/basic.version}
py_counter: {handler: pyhandlers/basic.counter}
js_version: {handler: version.handler}
js_other: {handler: other/counter.handler, code: other}
"""


def _wait_reload(harness: Harness, function: str) -> None:
    deadline = time.monotonic() + 5
    while harness.runtimes.workers(function):
        assert time.monotonic() < deadline, "the changed code did not retire the worker"
        harness.sleep(0.1)


def test_hot_reload(runtimes: Factory, code_copy: Path) -> None:
    (code_copy / "version.js").write_text("exports.handler = async () => 1;\n")
    (code_copy / "other").mkdir()
    (code_copy / "other" / "other").mkdir()
    (code_copy / "other" / "other" / "counter.js").write_text(
        "let n = 0; exports.handler = async () => ++n;\n"
    )
    harness = runtimes(RELOAD, code=code_copy)
    assert harness.invoke("py_version").result == 1
    assert harness.invoke("js_version").result == 1
    assert harness.invoke("py_counter").result == 1
    assert harness.invoke("js_other").result == 1
    basic = code_copy / "pyhandlers" / "basic.py"
    touch_later(basic, basic.read_text().replace("VERSION = 1", "VERSION = 2"))
    touch_later(code_copy / "version.js", "exports.handler = async () => 2;\n")
    _wait_reload(harness, "py_version")
    _wait_reload(harness, "js_version")
    py, js = harness.invoke("py_version"), harness.invoke("js_version")
    assert (py.result, js.result) == (2, 2)
    assert py.init_duration_ms is not None and js.init_duration_ms is not None
    # same code folder: restarted too (its state is gone); another folder: still warm
    assert harness.invoke("py_counter").result == 1
    other = harness.invoke("js_other")
    assert other.result == 2 and other.init_duration_ms is None


def test_data_files_do_not_reload(runtimes: Factory, code_copy: Path) -> None:
    harness = runtimes("count: {handler: pyhandlers/basic.counter}", code=code_copy)
    assert harness.invoke("count").result == 1
    (code_copy / "upload.jpg").write_bytes(b"\xff\xd8")
    (code_copy / "node_modules").mkdir(exist_ok=True)
    (code_copy / "node_modules" / "dep.js").write_text("1")
    harness.sleep(1.2)
    assert harness.invoke("count").result == 2


def test_busy_worker_finishes_before_it_is_replaced(runtimes: Factory, code_copy: Path) -> None:
    slow = code_copy / "slow.py"
    slow.write_text("import time\n\ndef handler(e, c):\n    time.sleep(1.5)\n    return 'old'\n")
    harness = runtimes("slow: {handler: slow.handler, timeout: 10}", code=code_copy)
    assert harness.invoke("slow").result == "old"

    async def scenario() -> tuple[object, object]:
        task = asyncio.create_task(harness.runtimes.invoke("slow", {}))
        await asyncio.sleep(0.2)
        touch_later(slow, "def handler(e, c):\n    return 'new'\n")
        first = await task
        await asyncio.sleep(0.7)  # a housekeeping tick sees the change
        return first, await harness.runtimes.invoke("slow", {})

    first, second = harness.run(scenario())
    assert first.result == "old"  # type: ignore[attr-defined]
    assert second.result == "new"  # type: ignore[attr-defined]


# ----------------------------------------------------------------------- bad calls


def test_unknown_function(platform: Harness) -> None:
    with pytest.raises(InvocationError, match="no function named 'nope'"):
        platform.invoke("nope", {})
    with pytest.raises(InvocationError):
        platform.runtimes.free_slots("nope")


def test_event_must_be_json(platform: Harness) -> None:
    with pytest.raises(InvocationError, match="not JSON-serializable"):
        platform.invoke("py_counter", {"when": object()})
    with pytest.raises(InvocationError, match="not JSON-serializable"):
        platform.invoke("py_counter", {"n": float("nan")})


def test_missing_interpreters(runtimes: Factory) -> None:
    from router.errors import StartupError

    harness = runtimes(
        "py: {handler: pyhandlers/basic.counter}\njs: {handler: nodehandlers/basic.counter}",
        settings="python: /nonexistent/python3\nnode: /nonexistent/node",
    )
    with pytest.raises(StartupError, match="Python interpreter not found"):
        harness.invoke("py")
    with pytest.raises(StartupError, match="Node.js not found"):
        harness.invoke("js")
    assert harness.runtimes.busy("py") == 0 and harness.runtimes.busy("js") == 0


def test_large_events_and_results(runtimes: Factory) -> None:
    harness = runtimes("py: {handler: pyhandlers/basic.echo}\njs: {handler: nodehandlers/basic.echo}")
    event = {"blob": "x" * 5_000_000, "items": list(range(10_000))}
    for function in ("py", "js"):
        out = harness.invoke(function, event)
        assert out.ok and out.result == event


def test_shutdown_fails_waiting_callers_and_refuses_new_ones(runtimes: Factory) -> None:
    harness = runtimes("sleepy: {handler: pyhandlers/basic.sleeper, concurrency: 1, timeout: 30}")
    rt = harness.runtimes

    async def scenario() -> tuple[object, BaseException | None]:
        running = asyncio.create_task(rt.invoke("sleepy", {"seconds": 30}))
        await asyncio.sleep(0.3)
        waiting = asyncio.create_task(rt.invoke("sleepy", {"seconds": 0}))
        await asyncio.sleep(0.05)
        await rt.aclose()
        first = await running
        try:
            await waiting
        except InvocationError as exc:
            return first, exc
        return first, None

    first, error = harness.run(scenario())
    assert first.status == "crashed"  # type: ignore[attr-defined]
    assert isinstance(error, InvocationError) and "shut down" in str(error)
    with pytest.raises(InvocationError, match="shut down"):
        harness.invoke("sleepy", {"seconds": 0})


def test_a_ready_frame_read_before_start_awaits_it_is_not_lost(runtimes: Factory) -> None:
    """uvloop may deliver the worker's R frame before ``connect_accepted_socket`` returns;
    the frame must still end the init (it was once dropped: a 10 s init timeout followed)."""
    harness = runtimes("count: {handler: pyhandlers/basic.counter, timeout: 1}")
    connect = harness.loop.connect_accepted_socket

    async def late_return(*args: Any, **kwargs: Any) -> Any:
        connected = await connect(*args, **kwargs)
        await asyncio.sleep(1.0)  # the child starts and its R frame is read meanwhile
        return connected

    harness.loop.connect_accepted_socket = late_return  # type: ignore[method-assign]
    outcome = harness.invoke("count")
    assert (outcome.status, outcome.result) == ("ok", 1)
    assert outcome.init_duration_ms is not None and outcome.init_duration_ms < 5000
