"""Give memory back to the system after a burst of large bodies (``router run`` only).

CPython hands allocations over 512 bytes to the C allocator. glibc's malloc keeps what a
burst freed (fifty 5 MB request bodies and their copies: about a gigabyte) in its heaps for
reuse, and raises its mmap threshold after large frees, so later large buffers come from the
heaps too: the daemon's RSS stays at its peak. Every :data:`INTERVAL` seconds
:func:`return_memory` asks glibc how much it holds free (``mallinfo2``, over all arenas) and,
beyond :data:`SLACK`, calls ``malloc_trim(0)``, which returns the heaps' free pages
(``madvise``) and their top. Elsewhere (not glibc, or too old for ``mallinfo2``) it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

INTERVAL = 5.0  # seconds between two looks
SLACK = 32 * 1024 * 1024  # free bytes malloc may keep before they are given back


class _MallInfo2(ctypes.Structure):  # glibc >= 2.33, <malloc.h>: every field a size_t
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]  # fmt: skip


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc, or older than 2.33
        return None
    return libc


def free_held(libc: ctypes.CDLL) -> int:
    """Bytes malloc holds free in its heaps (``fordblks``)."""
    return int(libc.mallinfo2().fordblks)


def trim(libc: ctypes.CDLL) -> None:
    libc.malloc_trim(0)


async def return_memory(interval: float = INTERVAL, slack: int = SLACK) -> None:
    """Run until cancelled: trim once malloc holds ``slack`` bytes more free than at its lowest
    since the last trim (pages it gave back still count as free: without that measure it
    would trim every time once it held ``slack``)."""
    libc = _libc()
    if libc is None:
        return
    lowest = free_held(libc)
    while True:
        await asyncio.sleep(interval)
        held = free_held(libc)
        if held - lowest > slack:
            trim(libc)
            log.debug("gave back memory: malloc held %d MB free", held >> 20)
            lowest = held
        lowest = min(lowest, held)
