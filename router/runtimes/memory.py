"""A process's resident memory, now and at its peak (the kernel's high-water mark), read from
/proc/PID/status on Linux (one pread per sample, on an fd kept open), else through psutil."""

from __future__ import annotations

import os
from typing import Any


class MemoryProbe:
    """Resident memory of a process (now and peak, in kB): /proc/PID/status, else psutil.
    With ``keeper``, of the only child of ``pid`` (found on the first sample that sees it)."""

    def __init__(self, pid: int, keeper: bool = False) -> None:
        self.peak_kb = 0
        self._ps: Any = None
        self._closed = False
        self._fd: int | None = None
        self._keeper = pid if keeper else 0
        if not keeper:
            self._open(pid)

    def _open(self, pid: int) -> None:
        try:
            self._fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        except OSError:
            self._fd = None
            import psutil

            self._ps = psutil.Process(pid)

    def sample(self) -> int:
        """The current resident size in kB (0 once the process is gone); updates peak_kb."""
        if self._closed:
            return 0
        if self._keeper:
            child = _only_child(self._keeper)
            if child is None:
                return 0
            self._keeper = 0
            self._open(child)
        try:
            if self._fd is None:
                rss = int(self._ps.memory_info().rss) // 1024
                self.peak_kb = max(self.peak_kb, rss)
                return rss
            data = os.pread(self._fd, 4096, 0)
        except Exception:  # the process is gone (ProcessLookupError, psutil.Error ...)
            return 0
        rss = _field_kb(data, b"VmRSS:")
        self.peak_kb = max(self.peak_kb, rss, _field_kb(data, b"VmHWM:"))
        return rss

    def close(self) -> None:
        self._closed = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _only_child(pid: int) -> int | None:
    """The first child of ``pid`` (the keeper's worker), None while it has none."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as f:  # CONFIG_PROC_CHILDREN
            pids = f.read().split()
        return int(pids[0]) if pids else None
    except (OSError, ValueError):
        import psutil

        try:
            found = psutil.Process(pid).children()
        except psutil.Error:
            return None
        return found[0].pid if found else None


def _field_kb(data: bytes, name: bytes) -> int:
    i = data.find(name)
    if i < 0:
        return 0
    end = data.find(b"kB", i)
    return int(data[i + len(name) : end]) if end > 0 else 0


def tcp_client_on(pid: int | None, port: int) -> bool:
    """A TCP connection established to ``port`` in the process tree of ``pid`` (a debugger
    attached to a worker, or to its keeper's child: router/runtimes/debug.py)."""
    import psutil

    if pid is None:
        return False
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return False
    for proc in procs:
        try:
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_ESTABLISHED and conn.laddr and conn.laddr.port == port:
                    return True
        except psutil.Error:
            continue
    return False
