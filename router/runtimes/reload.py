"""Hot reload: watch exactly the files each function's workers loaded from the user's code.

A worker reports the files of the modules it imported (Python: modules outside the standard
library and site-packages, and any under the code root; Node.js: the CommonJS cache and the ES
modules it loaded, outside ``node_modules``) after its init and after each invocation that loaded
more. Router watches those files' folders with watchdog (event-driven: no periodic tree walk)
and, when one of the files is written, replaced, moved or deleted, restarts only the functions
that loaded it: idle workers at once, busy ones when their invocation ends (``FunctionPool.
invalidate``). A data file a handler writes is never a module, so it never restarts anything.
Changes are debounced (:data:`DEBOUNCE_S`): an editor's save is one reload.

watchdog is imported here and in ``sources/s3_watch.py`` only (the import contract).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.15  # a burst of events for one save (write, chmod, rename) is one reload

OnChange = Callable[[str, str], None]  # (function, the changed file)


class CodeWatcher:
    """The files each function loaded, and a watchdog observer over their folders."""

    def __init__(self, on_change: OnChange) -> None:
        self._on_change = on_change
        self._files: dict[str, set[str]] = {}  # file -> functions that loaded it
        self._watched_dirs: set[str] = set()
        self._observer: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due: dict[str, asyncio.TimerHandle] = {}  # function -> its pending reload
        self._failed = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def stop(self) -> None:
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()
        if self._observer is not None:
            observer, self._observer = self._observer, None
            observer.stop()
            observer.join(5)

    def files(self, function: str | None = None) -> list[str]:
        """The watched files (of one function)."""
        return sorted(f for f, fns in self._files.items() if function is None or function in fns)

    def add(self, function: str, paths: Iterable[str]) -> None:
        """A worker of ``function`` reports files it loaded (on the loop)."""
        for path in paths:
            real = os.path.realpath(path)
            for p in {path, real}:
                self._files.setdefault(p, set()).add(function)
                self._watch_dir(os.path.dirname(p))

    def _watch_dir(self, folder: str) -> None:
        if folder in self._watched_dirs or self._failed:
            return
        try:
            observer = self._ensure_observer()
            observer.schedule(_Handler(self), folder, recursive=False)
        except (OSError, RuntimeError) as exc:  # inotify limits, a folder gone
            log.warning("hot reload: cannot watch %s (%s); changes there are not seen", folder, exc)
            return
        self._watched_dirs.add(folder)

    def _ensure_observer(self) -> Any:
        if self._observer is None:
            from watchdog.observers import Observer

            observer = Observer()
            observer.daemon = True
            observer.start()
            self._observer = observer
        return self._observer

    # ------------------------------------------------------------------ events (observer thread)

    def _seen(self, *paths: str) -> None:
        hit = [p for p in paths if p and p in self._files]
        if hit and self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._changed, hit[0])
            except RuntimeError:  # the loop has just closed
                pass

    # ------------------------------------------------------------------ on the loop

    def _changed(self, path: str) -> None:
        assert self._loop is not None
        for function in sorted(self._files.get(path, ())):
            pending = self._due.pop(function, None)
            if pending is not None:
                pending.cancel()
            self._due[function] = self._loop.call_later(DEBOUNCE_S, self._fire, function, path)

    def _fire(self, function: str, path: str) -> None:
        self._due.pop(function, None)
        self._on_change(function, path)


class _Handler:
    """watchdog's handler protocol (``dispatch``), without subclassing its base at import."""

    def __init__(self, watcher: CodeWatcher) -> None:
        self._watcher = watcher

    def dispatch(self, event: Any) -> None:
        if getattr(event, "is_directory", False) or event.event_type in ("opened", "closed_no_write"):
            return
        self._watcher._seen(_text(event.src_path), _text(getattr(event, "dest_path", "")))


def _text(path: str | bytes) -> str:
    return os.fsdecode(path) if path else ""
