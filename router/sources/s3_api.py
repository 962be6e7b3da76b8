"""S3 notifications of writes made through the embedded AWS (a test's ``put_object``, a
handler's, the AWS CLI's): whoever the client is, as S3 notifies them.

The embedded AWS reports each object written or removed through it (``Aws.on_s3_write``;
router's own folder-to-bucket mirror writes are never reported, so a dropped file fires once).
Here each write becomes one record per ``s3`` trigger of its bucket whose ``events``,
``prefix`` and ``suffix`` select it (S3's notification filter), built by router's own S3
builder (size, eTag, versionId on a versioned bucket, a sequencer that grows per key), and is
submitted through the seam with its cause (the function whose workers wrote it, for lineage).
A bucket no trigger watches notifies nothing, as in AWS.

A trigger with a folder (``dir``) and ``mirror`` (the default) also gets the write in its
folder (:meth:`Notifier.written` hands it to the folder's worker, which records it as already
reported, so the watcher does not report it again).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import S3Trigger, TriggerConfig
from ..events import s3 as s3_events
from .s3_state import Ident, Row, sequencer_text

if TYPE_CHECKING:
    from .s3_sync import Syncer

log = logging.getLogger(__name__)

Mirror = Callable[[TriggerConfig, Any], None]  # (trigger, write): into the trigger's folder


def bucket_of(trigger: TriggerConfig) -> str:
    """The bucket of an ``s3`` trigger: ``bucket``, else the folder's name."""
    s3: S3Trigger = trigger.source
    return s3.bucket or Path(s3.dir or "").name


def selects(spec: S3Trigger, event_name: str, key: str) -> bool:
    """S3's notification filter: event types, then literal prefix and suffix rules."""
    return s3_events.matches(event_name, spec.events) and key.startswith(spec.prefix) and key.endswith(spec.suffix)


class Sequencer:
    """Sequencers that only grow (milliseconds in the high bits, a counter in the low 16), as
    the folder worker's: S3 compares the sequencers of one key's events as hex strings."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._last = 0
        self._lock = threading.Lock()
        self._now = now

    def next(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, int(self._now() * 1000) << 16)
            return sequencer_text(self._last)


class Notifier:
    """The SDK-write notifications of a set of ``s3`` triggers."""

    def __init__(self, triggers: list[TriggerConfig], *, submit: Callable[..., str], region: str,
                 now: Callable[[], float], mirror: Mirror | None = None) -> None:  # fmt: skip
        self.by_bucket: dict[str, list[TriggerConfig]] = {}
        for t in triggers:
            self.by_bucket.setdefault(bucket_of(t), []).append(t)
        self.submit = submit
        self.region = region
        self.now = now
        self.mirror = mirror
        self.sequencer = Sequencer()
        self.emitted = 0

    def written(self, write: Any, cause: dict[str, Any] | None) -> None:
        """One object written or removed through the embedded AWS (``aws_notify.S3Write``)."""
        triggers = self.by_bucket.get(write.bucket)
        if not triggers:
            return  # no trigger on this bucket: nothing happens, as in AWS
        mirrored: set[str] = set()
        for t in triggers:
            spec: S3Trigger = t.source
            if self.mirror is not None and spec.dir is not None and spec.mirror and spec.dir not in mirrored:
                mirrored.add(spec.dir)
                self.mirror(t, write)
            if selects(spec, write.event, write.key):
                self._notify(t, write, cause)

    def _notify(self, t: TriggerConfig, write: Any, cause: dict[str, Any] | None) -> None:
        sequencer = self.sequencer.next()
        request_id, host_id = s3_events.make_ids(f"{write.bucket}/{write.key}/{sequencer}".encode())
        record = s3_events.build_record(
            event_name=write.event, bucket=write.bucket, key=write.key, size=write.size, etag=write.etag,
            sequencer=sequencer, configuration_id=t.name, region=self.region, event_time=self.now(),
            request_id=request_id, host_id=host_id, version_id=write.version_id,
        )  # fmt: skip
        event = s3_events.build_event([record])
        try:
            if cause is None:
                self.submit(t, event)
            else:
                self.submit(t, event, cause=cause)
        except Exception as exc:  # the client's write stands; its notification is lost, loudly
            log.error("s3: could not queue %s for s3://%s/%s (trigger %s): %s",
                      write.event, write.bucket, write.key, t.name, exc)  # fmt: skip
            return
        self.emitted += 1


@dataclass(frozen=True)
class MirrorIn:
    """An object written (``data``) or removed (None) through the embedded AWS in ``bucket``,
    for the file ``path`` under the watched folder ``root`` (the two-way mirror)."""

    root: str
    path: str
    bucket: str
    data: bytes | None
    kind: str = "mirror_in"


def mirror_in(syncer: Syncer, m: MirrorIn) -> None:
    """Write (or delete) the file of an object changed through the embedded AWS, and record
    it as reported for the triggers of its bucket: it came from the bucket, and its event
    was sent already, so neither the close the watcher sees nor a rescan reports it again."""
    pairs = [(t, k) for t in syncer.roots.get(m.root, []) if t.bucket == m.bucket and (k := t.key_of(m.path))]
    if not pairs:
        return
    syncer.pending.pop(m.path, None)
    try:
        if m.data is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(m.path)
        else:
            os.makedirs(os.path.dirname(m.path), exist_ok=True)
            # whole or not at all: a reader of the folder never sees the file half written (a
            # temporary name the default ignore patterns match; its own hints find it gone)
            tmp = os.path.join(os.path.dirname(m.path), f".{os.path.basename(m.path)}.router.tmp")
            try:
                with open(tmp, "wb") as f:
                    f.write(m.data)
                os.replace(tmp, m.path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            st = os.stat(m.path)
    except OSError as exc:
        log.warning("s3: cannot mirror s3://%s/%s into %s (%s)", m.bucket, pairs[0][1], m.path, exc.strerror or exc)
        return
    stamp = time.monotonic()
    for t, key in pairs:
        if m.data is None:
            syncer.state.drop(t.name, key)
            syncer.scanned.pop((t.name, key), None)
            continue
        ident = Ident(len(m.data), st.st_mtime_ns, s3_events.etag(m.data))
        syncer.state.put(t.name, key, Row(ident, syncer.state.next_seq(syncer.now())))
        syncer.scanned[(t.name, key)] = (ident, stamp)
