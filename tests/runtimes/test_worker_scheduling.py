"""How workers wait and are scheduled (Linux): a Python worker sleeps once per invocation, not
twice, and workers run under SCHED_BATCH so that waking one never preempts router's loop."""

from __future__ import annotations

import os
import sys

import psutil
import pytest

from .conftest import Factory

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="/proc and SCHED_BATCH are Linux's")

FUNCTIONS = """
py: {handler: pyhandlers/basic.echo}
js: {handler: nodehandlers/basic.echo}
"""


def _worker(handler: str) -> psutil.Process:
    [worker] = [p for p in psutil.Process().children(recursive=True)
                if handler in " ".join(p.cmdline()) and "reaper.py" not in " ".join(p.cmdline())]  # fmt: skip
    return worker


def _voluntary_switches(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("voluntary_ctxt_switches:"))


def test_a_python_worker_sleeps_once_per_invocation(runtimes: Factory) -> None:
    """Between two invocations the worker waits for the next frame. A plain blocking recv on
    the socketpair was also woken each time router read the worker's reply (the socket's one
    wait queue serves readers and writers), so it slept twice per invocation; it waits in poll
    for POLLIN now. Counted by the kernel (the worker's voluntary context switches)."""
    harness = runtimes(FUNCTIONS)
    assert harness.invoke("py", {"n": 0}).ok
    worker = _worker("basic.echo")
    before = _voluntary_switches(worker.pid)
    calls = 60
    for n in range(calls):
        outcome = harness.invoke("py", {"n": n})
        assert outcome.ok and outcome.result == {"n": n}
    switches = _voluntary_switches(worker.pid) - before
    assert switches <= calls * 1.5, f"{switches} sleeps in {calls} invocations"


@pytest.mark.parametrize("function", ["py", "js"])
def test_workers_run_under_sched_batch(runtimes: Factory, function: str) -> None:
    harness = runtimes(FUNCTIONS)
    assert harness.invoke(function, {"n": 1}).ok
    worker = _worker("basic.echo")
    assert os.sched_getscheduler(worker.pid) == os.SCHED_BATCH
    assert os.sched_getscheduler(os.getpid()) != os.SCHED_BATCH  # router's own loop is not
