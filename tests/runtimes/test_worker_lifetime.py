"""Workers and what their handlers started die with router, even after ``kill -9`` of router
while the handler spins (issue 17); a worker's orphans die with the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from router.runtimes import worker

from .conftest import WORKER_ENV, Factory

pytestmark = pytest.mark.skipif(not worker.KEEPER, reason="the keeper needs Linux prctl")

# the handler records its pid, starts a grandchild that double-forks and calls setsid (so it
# is in no process group or session of the worker), then spins without a system call
HANDLER = """
import os, time

def spin(event, context):
    d = event["dir"]
    with open(os.path.join(d, "worker.tmp"), "w") as f:
        f.write(str(os.getpid()))
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open(os.path.join(d, "grandchild.tmp"), "w") as f:
                f.write(str(os.getpid()))
            os.rename(os.path.join(d, "grandchild.tmp"), os.path.join(d, "grandchild"))
            while True:
                time.sleep(0.1)
        os._exit(0)
    os.rename(os.path.join(d, "worker.tmp"), os.path.join(d, "worker"))
    if event.get("spin"):
        while True:
            pass
    return "started"
"""

DAEMON = """
import asyncio, sys
from contextlib import AsyncExitStack
from pathlib import Path
from router.config import parse_config
from router.runtimes import Runtimes

async def main() -> None:
    root = Path(sys.argv[1])
    config = parse_config("functions:\\n  spin: {handler: handler.spin, timeout: 900}\\n", "triggers.yaml", root=root)
    async with AsyncExitStack() as stack:
        runtimes = Runtimes(config, env=ENV)
        await runtimes.start(stack)
        await runtimes.invoke("spin", {"dir": str(root), "spin": True})

asyncio.run(main())
"""


def _wait_for(path: Path, proc: subprocess.Popen[bytes] | None = None) -> int:
    deadline = time.monotonic() + 60
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the daemon ended early: {proc.stderr.read().decode() if proc.stderr else ''}")
        assert time.monotonic() < deadline, f"{path.name} never started"
        time.sleep(0.02)
    return int(path.read_text())


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _gone_soon(pids: list[int]) -> list[int]:
    """The pids still alive after a generous wait (not a timing assertion: a bound on a hang)."""
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [p for p in pids if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def test_kill_9_of_the_daemon_takes_its_spinning_worker_and_setsid_grandchild_along(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)
    script = tmp_path / "daemon.py"
    script.write_text(textwrap.dedent(DAEMON).replace("ENV", repr(WORKER_ENV)))
    daemon = subprocess.Popen([sys.executable, str(script), str(tmp_path)], stderr=subprocess.PIPE)
    try:
        worker_pid = _wait_for(tmp_path / "worker", daemon)
        grandchild = _wait_for(tmp_path / "grandchild", daemon)
        descendants = [p.pid for p in psutil.Process(daemon.pid).children(recursive=True)]
        assert worker_pid in descendants
        time.sleep(0.2)  # the handler is spinning now
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        if daemon.stderr is not None:
            daemon.stderr.close()
    assert _gone_soon([worker_pid, grandchild, *descendants]) == []


def test_a_worker_that_is_killed_takes_its_setsid_grandchild_along(runtimes: Factory, tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)
    h = runtimes("spin: {handler: handler.spin, timeout: 1}", code=tmp_path)
    outcome = h.invoke("spin", {"dir": str(tmp_path), "spin": True})
    assert outcome.status == "timeout"
    grandchild = _wait_for(tmp_path / "grandchild")
    assert _gone_soon([grandchild]) == []


def test_a_worker_s_orphans_die_when_it_exits_on_its_own(runtimes: Factory, tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(HANDLER + "\ndef leave(event, context):\n    os._exit(3)\n")
    h = runtimes("spin: {handler: handler.spin}\nleave: {handler: handler.leave}", code=tmp_path)
    assert h.invoke("spin", {"dir": str(tmp_path)}).result == "started"
    grandchild = _wait_for(tmp_path / "grandchild")
    assert _alive(grandchild)  # a warm worker keeps what it started, as Lambda freezes it
    h.run(h.runtimes.aclose())
    assert _gone_soon([grandchild]) == []
