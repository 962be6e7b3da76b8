"""Test hygiene for the whole suite (DESIGN.md, "Test hygiene").

- Dummy AWS credentials and no EC2 metadata probe: nothing here talks off the machine.
- A test that leaks a child process (a worker, a daemon) or a non-daemon thread fails.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import psutil
import pytest

pytest_plugins = ["pytester"]

for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)


def _children() -> set[int]:
    try:
        return {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}
    except psutil.Error:
        return set()


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(autouse=True)
def _no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a child process or a thread behind."""
    procs_before = _children()
    threads_before = _threads()
    yield
    deadline = time.monotonic() + 5
    while True:
        procs = _children() - procs_before
        threads = {t for t in _threads() - threads_before if not t.name.startswith(("pydevd", "asyncio_"))}
        if not procs and not threads:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for pid in procs:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    problems = []
    if procs:
        problems.append(f"leaked child processes: {sorted(procs)}")
    if threads:
        problems.append(f"leaked threads: {sorted(t.name for t in threads)}")
    pytest.fail("; ".join(problems), pytrace=False)
