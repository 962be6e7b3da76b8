"""``s3:`` triggers: what happens to files in a local folder becomes what S3 would notify.

- a file created and finished writing, overwritten, or moved in -> ``ObjectCreated:Put``
  (an overwrite again, with a larger sequencer);
- deleted or moved out -> ``ObjectRemoved:Delete``; renamed inside -> Delete + Put.

Key = the path relative to ``dir`` with ``/``; bucket = ``bucket`` or the folder's name.
Each file is put into the bucket of the embedded AWS (its exact bytes; deleted there on
delete) before its event is queued, so a handler's ``get_object`` reads what was dropped.
Filters (``events``, ``prefix``, ``suffix``) select notifications as S3's do; ``ignore``
patterns (editor and temporary files by default) keep files out entirely.

Parts: :mod:`.s3_watch` (watchdog -> hints), :mod:`.s3_sync` (hints -> buckets, events,
state), this module (the triggers, the source's lifecycle, and ``drop``/``remove``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..config import Config, S3Trigger, TriggerConfig
from ..errors import ConfigError, ConfigIssue, UsageError
from ..events import s3 as s3_events
from .base import SourceContext
from .s3_api import Notifier, bucket_of
from .s3_sync import MirrorIn, Syncer
from .s3_watch import Watcher

log = logging.getLogger(__name__)

MAX_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 length
DROP_WAIT = 30.0  # seconds drop()/remove() wait for the watcher to handle their change


def _empty_folder(root: Path, *, keep: str = "") -> None:
    """Delete every file below ``root`` (not below ``keep``). Folders stay: they are no S3
    objects, and a folder kept is still watched, so the next file dropped into it is noticed
    at once (a new folder must be scanned and its files settled first)."""
    for folder, dirs, files in os.walk(root):
        if keep:
            dirs[:] = [d for d in dirs if os.path.join(folder, d) != keep]
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@dataclass(frozen=True)
class Target:
    """One s3 trigger, resolved: its folder, bucket and filters."""

    trigger: TriggerConfig
    root: Path  # absolute, symlinks resolved
    bucket: str
    created: bool = False  # the folder did not exist and was made at start
    private: str = ""  # router's state folder when it lies inside root: never watched

    @property
    def name(self) -> str:
        return self.trigger.name

    @property
    def spec(self) -> S3Trigger:
        s3: S3Trigger = self.trigger.source
        return s3

    @property
    def settle(self) -> float:
        return self.spec.settle

    def key_of(self, path: str) -> str | None:
        """The object key of ``path`` (under ``root``), or None (with a warning if the name
        cannot be a key)."""
        rel = os.path.relpath(path, self.root)
        if rel == "." or rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
            return None
        if self.private and (path == self.private or path.startswith(self.private + os.sep)):
            return None
        key = rel.replace(os.sep, "/")
        try:
            size = len(key.encode("utf-8"))
        except UnicodeEncodeError:
            log.warning(
                "s3: the name of %s is not valid UTF-8, so it cannot be an S3 key; skipped", path
            )
            return None
        if size > MAX_KEY_BYTES:
            log.warning(
                "s3: the key of %s is %d bytes long (S3's limit: %d); skipped",
                path,
                size,
                MAX_KEY_BYTES,
            )
            return None
        return key

    def path_of_key(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def ignores(self, key: str) -> bool:
        name = key.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.spec.ignore)

    def wants(self, event_name: str, key: str) -> bool:
        """S3's notification filter: event types, then literal prefix and suffix rules."""
        s = self.spec
        return (
            s3_events.matches(event_name, s.events)
            and key.startswith(s.prefix)
            and key.endswith(s.suffix)
        )

    def describe(self) -> str:
        s = self.spec
        parts = [f"s3 watch        {self.root}", f"bucket {self.bucket}",
                 "events " + ",".join(e.removeprefix("s3:") for e in s.events)]  # fmt: skip
        if s.prefix:
            parts.append(f"prefix {s.prefix}")
        if s.suffix:
            parts.append(f"suffix {s.suffix}")
        if s.catch_up:
            parts.append("catch_up")
        text = "  ".join(parts) + f"  -> {self.trigger.function}  [{self.name}]"
        return text + ("  (folder created)" if self.created else "")


def resolve_target(trigger: TriggerConfig, config: Config) -> Target:
    """The trigger's folder (created when missing and allowed), bucket and filters."""
    s3: S3Trigger = trigger.source
    assert s3.dir is not None, "a trigger with a folder"
    folder = (config.root / s3.dir).absolute()
    index = next((i for i, t in enumerate(config.triggers) if t.name == trigger.name), 0)

    def problem(message: str) -> ConfigError:
        where = f"triggers[{index}].s3.dir"
        return ConfigError(
            [ConfigIssue(f"{message} (trigger {trigger.name!r})", where, str(config.path))]
        )

    created = False
    if not folder.exists():
        if not s3.create:
            raise problem(f"the folder {folder} does not exist and create is false")
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise problem(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
        created = True
        log.info("s3: created the folder %s for trigger %s", folder, trigger.name)
    if not folder.is_dir():
        raise problem(f"{folder} is not a folder")
    root, state = folder.resolve(), config.state_dir.resolve()
    private = str(state) if state.is_relative_to(root) else ""  # (dir: . holds .router)
    return Target(trigger, root, s3.bucket or Path(s3.dir).name, created, private)


class S3Source:
    """Every enabled ``s3`` trigger: one watcher and one worker thread for all of them."""

    def __init__(
        self, triggers: list[TriggerConfig], ctx: SourceContext, *, polling: bool = False
    ) -> None:
        self.ctx = ctx
        self._loop: asyncio.AbstractEventLoop | None = None
        self.targets: dict[str, Target] = {}
        for t in triggers:
            if t.s3 is not None and t.s3.dir is not None:
                self.targets[t.name] = resolve_target(t, ctx.config)
        self.notifier = Notifier(triggers, submit=ctx.dispatch.submit_threadsafe, region=ctx.config.settings.region,
                                 now=ctx.clock.time, mirror=self._mirror_in)  # fmt: skip
        self._unlisten: Any = None
        self.roots: dict[str, list[Target]] = {}
        for target in self.targets.values():
            self.roots.setdefault(str(target.root), []).append(target)
        self.polling = polling
        self.watcher: Watcher | None = None
        self.watcher_kind = "watchdog"
        self.syncer: Syncer | None = None
        # True: start() returns once watching, before the folders are synced (router run, Router:
        # thousands of files do not delay readiness); caught_up() waits for the sync
        self.background_sync = False
        self._sync_lock = threading.Lock()
        self._sync_started = False
        self._paused = False  # Router.reset: the worker paused (pause), not stopped

    async def start(self, stack: AsyncExitStack) -> None:
        self._loop = asyncio.get_running_loop()
        stack.push_async_callback(self._stop_async)  # also undoes a start that failed halfway
        await asyncio.to_thread(self._start)

    def _start(self) -> None:
        if self.ctx.aws.mode == "embedded":  # writes through the embedded AWS notify
            self._unlisten = self.ctx.aws.on_s3_write(self.notifier.written)
        if not self.roots:
            return
        mirror = self.ctx.aws.mode != "aws"  # never write into a real AWS account's buckets
        if not mirror:
            log.info("s3: settings.aws.endpoint is real AWS: dropped files are not uploaded")
        conn = self.ctx.store.connect()
        self.syncer = Syncer(
            self.roots,
            conn=conn,
            s3=self.ctx.aws.object_writer() if mirror else None,
            emit=self.ctx.dispatch.submit_threadsafe,
            now=self.ctx.clock.time,
            region=self.ctx.config.settings.region,
        )
        self.watcher = Watcher(self.roots, self.syncer.submit, polling=self.polling)
        self.watcher_kind = self.watcher.kind
        self.watcher.start()  # watching before the first scan: nothing falls in between
        self._sync_started = False
        if not self.background_sync:
            self._begin_sync()
            self.syncer.ready.wait()  # folders and buckets in step before "router ready"

    def _begin_sync(self) -> None:
        """Start the syncer (once): first the folders' sync, then what the watcher queued
        meanwhile, in order. Any thread."""
        with self._sync_lock:
            if self.syncer is not None and not self._sync_started:
                self._sync_started = True
                self.syncer.start()

    async def caught_up(self) -> None:
        """Until the start-up sync of every folder is done: each file in its bucket(s), what
        changed reported (``background_sync``: ``start()`` returned before). Changes noticed
        meanwhile are handled after it, in order: none is lost or doubled."""
        await asyncio.to_thread(self._begin_sync)
        syncer = self.syncer
        while syncer is not None and self.syncer is syncer and not syncer.ready.is_set():
            await asyncio.to_thread(syncer.ready.wait, 0.1)

    async def _stop_async(self) -> None:
        await asyncio.to_thread(self.stop)  # the loop keeps serving the worker's emits meanwhile

    def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.syncer is not None:
            self.syncer.stop()
            self.syncer.state.conn.close()
            self.syncer = None

    async def pause(self) -> None:
        """``Router.reset``: no more events until :meth:`reset` (bucket writes are not
        listened to; the folders' worker finishes what it noticed, then ignores the folders).
        The watcher keeps watching, so :meth:`reset` need not start it again; a worker not
        running (a background sync not begun) is stopped and started again instead."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.syncer is not None and self.syncer.running and self.watcher is not None:
            await asyncio.to_thread(self.syncer.pause)
            self._paused = True
        else:
            await asyncio.to_thread(self.stop)

    async def reset(self, empty_under: Path | None = None) -> None:
        """After :meth:`pause`: empty the folders inside ``empty_under`` (a router's own
        temporary folder; the user's folders are never emptied), forget what was reported,
        and watch again as at start (files still there go into the fresh buckets quietly)."""
        if self._paused and self.syncer is not None:
            self._paused = False
            if self.ctx.aws.mode == "embedded":
                self._unlisten = self.ctx.aws.on_s3_write(self.notifier.written)
            await asyncio.to_thread(self.syncer.restart, partial(self._empty, empty_under))
            return
        await asyncio.to_thread(self._reset, empty_under)

    def _empty(self, empty_under: Path | None) -> None:
        for target in self.targets.values():
            if empty_under is not None and target.root.is_relative_to(empty_under.resolve()):
                _empty_folder(target.root, keep=target.private)

    def _reset(self, empty_under: Path | None) -> None:
        self._empty(empty_under)
        conn = self.ctx.store.connect()
        try:
            with conn:
                marks = ",".join("?" * len(self.targets))
                conn.execute(f"DELETE FROM s3_objects WHERE trigger IN ({marks})", list(self.targets))
                conn.execute(f"DELETE FROM s3_folders WHERE trigger IN ({marks})", list(self.targets))
        finally:
            conn.close()
        self._start()
        self._begin_sync()
        if self.syncer is not None:
            self.syncer.ready.wait()  # (the emptied folders sync at once)

    def describe(self) -> list[str]:
        lines = [t.describe() + f"  ({self.watcher_kind})" for t in self.targets.values()]
        for triggers in self.notifier.by_bucket.values():
            for t in triggers:
                if t.name not in self.targets:
                    spec: S3Trigger = t.source
                    lines.append(f"s3 writes       bucket {bucket_of(t)}  events "
                                 + ",".join(e.removeprefix("s3:") for e in spec.events)
                                 + (f"  prefix {spec.prefix}" if spec.prefix else "")
                                 + (f"  suffix {spec.suffix}" if spec.suffix else "")
                                 + f"  -> {t.function}  [{t.name}]")  # fmt: skip
        return lines

    def _mirror_in(self, trigger: TriggerConfig, write: Any) -> None:
        """An object written or removed through the embedded AWS, into the trigger's folder
        (by the folder's worker, which records it as reported: the watcher stays quiet)."""
        target, syncer = self.targets.get(trigger.name), self.syncer
        if target is None or syncer is None:
            return
        parts = write.key.split("/")
        if any(p in ("", ".", "..") for p in parts) or "\\" in write.key or "\0" in write.key:
            log.debug("s3: key %r cannot be a file under %s; not mirrored", write.key, target.root)
            return
        data = write.read() if write.read is not None and write.event.startswith("ObjectCreated") else None
        syncer.submit(MirrorIn(str(target.root), str(target.path_of_key(write.key)), target.bucket, data))

    # ------------------------------------------------------------------ the Python API

    def _target(self, trigger_name: str) -> Target:
        try:
            return self.targets[trigger_name]
        except KeyError:
            raise UsageError(f"no enabled s3 trigger named {trigger_name!r} "
                             f"(have: {', '.join(self.targets) or 'none'})") from None  # fmt: skip

    def folder(self, trigger_name: str) -> Path:
        return self._target(trigger_name).root

    def path(self, trigger_name: str, key: str) -> Path:
        """Where ``key`` lives in the trigger's folder; refuses keys that leave it."""
        target = self._target(trigger_name)
        parts = key.split("/")
        if (
            not key
            or key.startswith("/")
            or any(p in ("", ".", "..") for p in parts)
            or "\\" in key
        ):
            raise UsageError(f"s3 key {key!r}: expected a relative path with '/' separators, "
                             "no empty, '.' or '..' parts")  # fmt: skip
        return target.path_of_key(key)

    def drop(self, trigger_name: str, key: str, data: bytes) -> Path:
        """Write ``data`` as ``key`` in the trigger's folder (one close, so one Put event)."""
        path = self.path(trigger_name, key)
        target = self._target(trigger_name)
        if target.ignores(key):
            log.warning(
                "s3: %s matches an ignore pattern of trigger %s: no event will follow",
                key,
                trigger_name,
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.syncer is not None:
            self.syncer.whole(str(path))
        with self._handled(path):
            with open(path, "wb") as f:
                f.write(data)
        return path

    def remove(self, trigger_name: str, key: str) -> None:
        """Delete ``key``'s file from the trigger's folder (an ObjectRemoved:Delete event)."""
        path = self.path(trigger_name, key)
        with self._handled(path):
            try:
                path.unlink()
            except FileNotFoundError:
                message = f"s3 trigger {trigger_name!r} has no file {key!r} ({path})"
                raise UsageError(message) from None

    @contextmanager
    def _handled(self, path: Path) -> Iterator[None]:
        """Return only once the watcher has handled the change made inside (so the event is
        queued, and the next drop of the same key cannot be merged with this one)."""
        self._begin_sync()  # a drop right after start, before caught_up() began the sync
        syncer = self.syncer
        on_loop = self._loop is not None and _running_loop() is self._loop
        if syncer is None or on_loop:
            yield
            return
        mark = syncer.expect(str(path))
        yield
        if not syncer.wait_handled(str(path), mark, DROP_WAIT):
            log.warning("s3: the watcher has not handled %s after %g s", path, DROP_WAIT)

    def stats(self) -> dict[str, Any]:
        """Counters for benchmarks and debugging."""
        s = self.syncer
        if s is None:
            return {}
        return {"emitted": s.emitted, "overflows": s.overflows, "settling": len(s.pending),
                "queued": s.queue.qsize()}  # fmt: skip
