"""The watchdog side of the S3 source: folders in, :class:`Hint` s out.

This is the one module that imports watchdog. It subscribes narrowly: on Linux
(inotify) to "closed after writing", deleted, moved and directory events only, since
every extra kind of event fills the kernel's queue (with default settings watchdog lost
over half of 10,000 fast writes; with this filter none). When the kernel's queue still
overflows, watchdog drops what it lost and rebuilds its watches; we turn that into an
``overflow`` hint so the source rescans the folder and reconciles it with its state.

Where the platform has no close event (the polling observer, macOS), created and modified
files become ``touched`` hints, which the source turns into a Put once the file has been
unchanged for the trigger's ``settle`` time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver

from ..errors import StartupError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hint:
    """Something happened under a watched folder ``root`` (absolute paths).

    kinds: ``closed`` (a file finished writing, or was moved in), ``touched`` (created or
    modified where no close event exists: settle first), ``removed`` (deleted or moved
    out), ``moved`` (renamed inside root: ``path`` -> ``dest``), ``dir_added`` (created or
    moved in: scan it), ``dir_removed``, ``dir_moved``, ``overflow`` (events were lost:
    rescan root), ``root_gone`` (the folder itself was deleted). The S3 worker also queues
    ``start`` (sync root with the state at start) and ``ready`` (start-up done) for itself.
    """

    kind: str
    root: str
    path: str = ""
    dest: str = ""


OnHint = Callable[[Hint], None]


class QueueOverflowEvent(FileSystemEvent):
    """Queued by our inotify emitter when the kernel reports IN_Q_OVERFLOW."""

    event_type = "overflow"


# the inotify subscription: only what a notification needs
NATIVE_FILTER: list[type[FileSystemEvent]] = [
    FileClosedEvent, FileDeletedEvent, FileMovedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent, QueueOverflowEvent,
]  # fmt: skip
SETTLE_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]  # fmt: skip


def _inotify_observer() -> BaseObserver | None:
    """An inotify observer whose watch groups report a queue overflow as an event."""
    try:
        from watchdog.observers.inotify import (
            InotifyFullEmitter,
            InotifyObserver,
            InotifyWatchGroup,
        )
        from watchdog.observers.inotify_c import (
            CallbackId,
            InotifyFD,
            Mask,
            WatchCallback,
            WatchDescriptor,
        )
    except Exception:  # not Linux, or no usable libc
        return None

    class FD(InotifyFD):
        # A group re-adds a watch it has when a new directory is seen both by its parent's
        # walk and by its own IN_CREATE (mkdir -p); watchdog warns, which is noise here.
        def _add_callback(
            self, path: bytes, mask: Mask, callback: WatchCallback, id_: CallbackId
        ) -> WatchDescriptor:
            self._get_or_create_watch(path, mask).callbacks.pop(id_, None)
            return super()._add_callback(path, mask, callback, id_)

        def _remove_callback(self, wd: WatchDescriptor, id_: CallbackId) -> None:
            watch = self._watch_for_wd.get(wd)
            if watch is not None and id_ not in watch.callbacks:
                return  # already removed (IN_IGNORED raced with an overflow rebuild)
            super()._remove_callback(wd, id_)

    @dataclass
    class Group(InotifyWatchGroup):
        on_overflow: Callable[[], None] | None = field(default=None)

        def on_queue_overflow(self) -> None:
            super().on_queue_overflow()  # watchdog drops half-paired moves, rebuilds watches
            if self.on_overflow is not None:
                self.on_overflow()

    class Emitter(InotifyFullEmitter):
        # full events: a move in or out arrives as a move with one side empty
        def on_thread_start(self) -> None:
            self._inotify = Group(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=self.get_event_mask_from_filter(),
                follow_symlink=self.watch.follow_symlink,
                on_overflow=self._overflowed,
            )

        def _overflowed(self) -> None:
            self.queue_event(QueueOverflowEvent(self.watch.path))

    class Observer(InotifyObserver):
        def __init__(self) -> None:  # InotifyObserver's, with our inotify fd and emitter
            self._inotify_fd = FD()
            self._inotify_fd.start()
            BaseObserver.__init__(self, Emitter, inotify_fd=self._inotify_fd)

    return Observer()


class _Handler(FileSystemEventHandler):
    def __init__(self, root: str, on_hint: OnHint, native: bool) -> None:
        self.root = root
        self.on_hint = on_hint
        self.native = native

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            hint = self.translate(event)
        except Exception:  # never let one odd event stop the observer thread
            log.exception("s3 watcher: cannot handle %r", event)
            return
        if hint is not None:
            self.on_hint(hint)

    def translate(self, event: FileSystemEvent) -> Hint | None:
        src, dest = os.fsdecode(event.src_path), os.fsdecode(event.dest_path)
        root = self.root
        if isinstance(event, QueueOverflowEvent):
            return Hint("overflow", root)
        if event.is_synthetic:  # a move's sub-entries: the source handles whole directories
            return None
        if isinstance(event, FileClosedEvent):
            return Hint("closed", root, src)
        if isinstance(event, FileCreatedEvent | FileModifiedEvent):
            return None if self.native else Hint("touched", root, src)
        if isinstance(event, FileDeletedEvent):
            return Hint("removed", root, src)
        if isinstance(event, FileMovedEvent):
            return self._moved(event, src, dest, ("moved", "removed", "closed"))
        if isinstance(event, DirCreatedEvent):
            return Hint("dir_added", root, src)
        if isinstance(event, DirDeletedEvent):
            return Hint("root_gone" if src == root else "dir_removed", root, src)
        if isinstance(event, DirMovedEvent):
            return self._moved(event, src, dest, ("dir_moved", "dir_removed", "dir_added"))
        return None

    def _moved(
        self, event: FileSystemEvent, src: str, dest: str, kinds: tuple[str, str, str]
    ) -> Hint | None:
        inside, out, into = kinds
        if src and dest:
            return Hint(inside, self.root, src, dest)
        if src:
            return Hint(out, self.root, src)
        if dest:
            touched = into == "closed" and not self.native
            return Hint("touched" if touched else into, self.root, dest)
        return None


class Watcher:
    """Watches folders (recursively, never following symlinks) and reports hints.

    ``on_hint`` is called on watchdog's observer thread, in the order things happened
    per folder; it must be quick (queue the hint and return).
    """

    def __init__(self, roots: Iterable[str], on_hint: OnHint, *, polling: bool = False,
                 poll_interval: float = 0.25) -> None:  # fmt: skip
        self.roots = list(dict.fromkeys(roots))
        self.on_hint = on_hint
        observer = None if polling else _inotify_observer()
        self.native = observer is not None
        if observer is None:
            observer = self._fallback_observer(polling, poll_interval)
        self._observer: Any = observer
        self._stopped = False

    @staticmethod
    def _fallback_observer(polling: bool, interval: float) -> BaseObserver:
        if polling:
            from watchdog.observers.polling import PollingObserver

            observer: BaseObserver = PollingObserver(timeout=interval)
            return observer
        from watchdog.observers import Observer

        native: BaseObserver = Observer()
        return native

    @property
    def kind(self) -> str:
        return "inotify" if self.native else type(self._observer).__name__

    def start(self) -> None:
        event_filter = NATIVE_FILTER if self.native else SETTLE_FILTER
        for root in self.roots:
            handler = _Handler(root, self.on_hint, self.native)
            try:
                self._observer.schedule(handler, root, recursive=True, event_filter=event_filter,
                                        follow_symlink=False)  # fmt: skip
            except OSError as exc:
                raise StartupError(
                    f"cannot watch the folder {root}: {exc.strerror or exc}"
                ) from None
        try:
            self._observer.start()
        except OSError as exc:
            raise StartupError(
                f"cannot start watching {', '.join(self.roots)}: {exc.strerror or exc} "
                "(on Linux, raise fs.inotify.max_user_watches / max_user_instances)"
            ) from None

    def stop(self) -> None:
        """Stop watching (also after a failed start: the inotify reader thread runs from the
        observer's creation)."""
        if self._stopped:
            return
        self._stopped = True
        alive = self._observer.is_alive()
        self._observer.stop()
        if alive:
            self._observer.join(timeout=10)

    def overflow_groups(self) -> list[Any]:
        """The inotify watch groups (tests use them to replay a kernel queue overflow)."""
        return [
            e._inotify for e in self._observer.emitters if getattr(e, "_inotify", None) is not None
        ]
