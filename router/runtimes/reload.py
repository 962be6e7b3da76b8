"""Hot reload: a cheap fingerprint of a code folder's source files, compared twice a second
(off the invocation path) for the folders that have warm workers.

Only source files count (``.py .js .mjs .cjs .json``), so data dropped into an ``s3`` folder
under the code root does not restart anything; ``node_modules``, ``__pycache__``,
``site-packages``, virtualenvs, hidden folders (``.git``, ``.router``) and the given
excluded folders (the state dir, the ``s3`` trigger folders) are not walked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

WATCHED_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".json")
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages"})


def fingerprint(root: Path, excluded: frozenset[str] = frozenset()) -> tuple[int, int]:
    """(number of source files, an order-free hash of their paths, mtimes and sizes)."""
    count = acc = 0
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not (name.startswith(".") or name in SKIPPED_DIRS
                                or entry.path in excluded
                                or os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))):  # fmt: skip
                            stack.append(entry.path)
                    elif name.endswith(WATCHED_SUFFIXES):
                        st = entry.stat()
                        count += 1
                        acc ^= hash((entry.path, st.st_mtime_ns, st.st_size))
                except OSError:  # vanished while we looked
                    continue
    return count, acc


class CodeWatcher:
    """Remembers the fingerprint of each watched code folder."""

    def __init__(self, excluded: Iterable[Path] = ()) -> None:
        self.excluded = frozenset(str(p) for p in excluded)
        self._prints: dict[Path, tuple[int, int]] = {}

    def ensure(self, root: Path) -> None:
        """Take the fingerprint of ``root`` now if it has none (before a worker starts)."""
        if root not in self._prints:
            self._prints[root] = fingerprint(root, self.excluded)

    def keep_only(self, roots: set[Path]) -> None:
        """Forget folders without workers: their next worker loads whatever is there."""
        for root in [r for r in self._prints if r not in roots]:
            del self._prints[root]

    def changed(self, root: Path) -> bool:
        new = fingerprint(root, self.excluded)
        old = self._prints.get(root)
        self._prints[root] = new
        return old is not None and old != new
