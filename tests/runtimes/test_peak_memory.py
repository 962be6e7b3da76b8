"""Max Memory Used is the worker's peak resident memory (VmHWM), which the worker reads
itself and sends just before its reply: a peak freed again before the reply still counts."""

from __future__ import annotations

import psutil
import pytest

from .conftest import Factory, Harness

HOGS = """
py_hog: {handler: pyhandlers/basic.hog, memory: 256}
js_hog: {handler: nodehandlers/basic.hog, memory: 256}
"""


@pytest.fixture
def hogs(runtimes: Factory) -> Harness:
    return runtimes(HOGS)


def _peak_mb(function: str) -> int:
    [worker] = [p for p in psutil.Process().children(recursive=True)
                if f"basic.{function.split('_')[1]}" in " ".join(p.cmdline())]  # fmt: skip
    with open(f"/proc/{worker.pid}/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return -(-kb // 1024)


@pytest.mark.parametrize("function", ["py_hog", "js_hog"])
def test_max_memory_used_is_the_peak_even_once_freed(hogs: Harness, function: str) -> None:
    first = hogs.invoke(function, {"mb": 0})
    big = hogs.invoke(function, {"mb": 60})  # 60 MB held until the handler returns
    after = hogs.invoke(function, {"mb": 0})
    assert first.ok and big.ok and after.ok
    assert big.max_memory_mb >= first.max_memory_mb + 50
    assert after.max_memory_mb >= big.max_memory_mb
    assert after.max_memory_mb == _peak_mb(function)
