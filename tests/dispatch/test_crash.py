"""kill -9 of a process mid-stream, then a restart: every accepted event runs at least once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

CHILD = Path(__file__).with_name("crash_child.py")


def numbers(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().splitlines() if line.strip().isdigit()]


def wait_gone(pids: list[int], timeout: float = 10) -> list[int]:
    """The processes still alive after ``timeout`` (killed, and returned for the assertion)."""
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    for pid in alive:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["fake", "python"])
def test_kill_9_mid_stream_then_restart_loses_no_accepted_event(tmp_path: Path, runtime: str) -> None:
    produce = subprocess.Popen([sys.executable, str(CHILD), "produce", str(tmp_path), "600", runtime])
    try:
        deadline = time.monotonic() + 60
        while len(numbers(tmp_path / "accepted")) < 300:
            assert produce.poll() is None, "the producer died on its own"
            assert time.monotonic() < deadline, "the producer accepted too few events"
            time.sleep(0.005)
        os.kill(produce.pid, signal.SIGKILL)
    finally:
        produce.kill()
        produce.wait()
    # orphaned workers see their pipe close and exit
    assert wait_gone(numbers(tmp_path / "pids")) == [], "workers outlived the killed daemon"
    accepted = set(numbers(tmp_path / "accepted"))
    before = set(numbers(tmp_path / "processed"))
    assert len(accepted) >= 300
    assert accepted - before, "the kill came after everything had run: nothing to prove"

    subprocess.run([sys.executable, str(CHILD), "drain", str(tmp_path), runtime], check=True, timeout=120)
    processed = set(numbers(tmp_path / "processed"))
    assert accepted <= processed, f"lost: {sorted(accepted - processed)[:20]}"
    assert wait_gone(numbers(tmp_path / "pids")) == []
