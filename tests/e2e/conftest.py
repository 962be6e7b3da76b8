"""End-to-end helpers: a copy of the demo project, and `router run` as a real subprocess."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def demo(tmp_path: Path) -> Path:
    """The demo project (triggers.yaml + samples/) copied to a temp folder, on free ports."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples", ignore=shutil.ignore_patterns("tests", "__pycache__"))
    text = (ROOT / "triggers.yaml").read_text()
    text = re.sub(r"port: 3000", "port: 0", text)
    text = re.sub(r"port: 4566", "port: 0", text)
    (tmp_path / "triggers.yaml").write_text(text)
    return tmp_path


class Daemon:
    """`router run` in a subprocess; its output collected line by line."""

    def __init__(self, config: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "router", "run", str(config), *args],
            cwd=config.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="daemon-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if m := regex.search(line):
                        return m
                seen = len(self.lines)
                if self.proc.poll() is not None and seen == len(self.lines):
                    self._cond.wait(0.2)
                    if seen == len(self.lines):
                        raise AssertionError(f"daemon exited ({self.proc.returncode}) before {pattern!r}:\n"
                                             + "\n".join(self.lines))  # fmt: skip
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line matching {pattern!r} in {timeout} s:\n" + "\n".join(self.lines))
                self._cond.wait(min(left, 0.5))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        self._reader.join(5)
        self.close()
        return code

    def close(self) -> None:
        if self.proc.stdout is not None and not self._reader.is_alive():
            self.proc.stdout.close()


@pytest.fixture()
def daemon() -> Iterator[type[Daemon]]:
    started: list[Daemon] = []

    class Tracked(Daemon):
        def __init__(self, config: Path, *args: str) -> None:
            super().__init__(config, *args)
            started.append(self)

    yield Tracked
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d._reader.join(5)
        d.close()
