"""The browser tests share one daemon and one browser per module (started before the first
test): the processes those start on demand (chromium's renderers, the daemon's workers) are
theirs, not a test's leak. Anything else a test leaves behind still fails it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psutil
import pytest

from tests.conftest import _children, _threads


def _descends_from(pid: int, roots: set[int]) -> bool:
    try:
        return any(p.pid in roots for p in psutil.Process(pid).parents())
    except psutil.Error:
        return True  # gone already


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    procs_before = _children()
    threads_before = _threads()
    yield
    deadline = time.monotonic() + 5
    while True:
        procs = {p for p in _children() - procs_before if not _descends_from(p, procs_before)}
        threads = {t for t in _threads() - threads_before if not t.name.startswith(("pydevd", "asyncio_"))}
        if not procs and not threads:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    pytest.fail(f"leaked child processes {sorted(procs)} / threads {sorted(t.name for t in threads)}", pytrace=False)
