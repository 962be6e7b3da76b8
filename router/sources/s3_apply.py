"""Applying one change of one file: write the bucket(s), then queue the notification(s).

A :class:`Change` is planned by the S3 worker thread (which owns the state) and applied here,
possibly on a pool thread so that many files' bucket writes overlap; the worker then
records what was applied. The order inside a change is the contract: the object is in
the bucket before its event is queued, so the handler reads exactly the dropped bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..events import s3 as s3_events
from .s3_state import Read, sequencer_text

if TYPE_CHECKING:
    from .s3 import Target

log = logging.getLogger(__name__)

Emit = Callable[[Any, Any], str]  # (trigger config, event) -> event id; blocks until committed

PUT = "ObjectCreated:Put"
DELETE = "ObjectRemoved:Delete"


@dataclass
class Change:
    """A Put or Delete of ``path`` for the (trigger, key) pairs in ``targets``."""

    event: str
    path: str
    targets: list[tuple[Target, str]]
    seqs: list[int]
    got: Read | None = None  # the bytes and identity, for a Put
    upload: list[tuple[Target, str]] | None = None  # bucket writes (default: the targets')
    notify: bool = True  # False: write and record quietly (start-up without catch_up)
    level: bool = False  # found by a scan rather than by a close event
    ok: list[bool] = field(default_factory=list)  # per target: written (and queued)
    sent: int = 0


class Applier:
    """Bucket writes and notifications; thread-safe (botocore clients are)."""

    def __init__(self, s3: Any | None, emit: Emit, region: str, now: Callable[[], float]) -> None:
        self.s3 = s3  # None: no bucket to mirror into (real AWS)
        self.emit = emit
        self.region = region
        self.now = now

    def apply(self, c: Change) -> None:
        """Never raises: what failed is logged and left out of ``c.ok``."""
        c.ok = [False] * len(c.targets)
        written = self._write(c)
        for i, (t, key) in enumerate(c.targets):
            if t.bucket not in written:
                continue
            if c.notify and t.wants(c.event, key):
                if not self._notify(t, c, key, c.seqs[i]):
                    continue
                c.sent += 1
            c.ok[i] = True

    def _write(self, c: Change) -> set[str]:
        """Write (or delete) the object once per bucket; the buckets where that worked."""
        done: set[str] = set()
        for t, key in c.targets if c.upload is None else c.upload:
            if t.bucket in done:
                continue
            try:
                if self.s3 is None:
                    pass
                elif c.got is not None:
                    self.s3.put_object(Bucket=t.bucket, Key=key, Body=c.got.data)
                else:
                    self.s3.delete_object(Bucket=t.bucket, Key=key)
            except Exception as exc:
                log.error("s3: cannot update s3://%s/%s from %s (%s); no notification for it",
                          t.bucket, key, c.path, exc)  # fmt: skip
                continue
            done.add(t.bucket)
        return done

    def _notify(self, t: Target, c: Change, key: str, seq: int) -> bool:
        sequencer = sequencer_text(seq)
        request_id, host_id = s3_events.make_ids(f"{t.bucket}/{key}/{sequencer}".encode())
        ident = None if c.got is None else c.got.ident
        record = s3_events.build_record(
            event_name=c.event, bucket=t.bucket, key=key,
            size=None if ident is None else ident.size, etag=None if ident is None else ident.etag,
            sequencer=sequencer, configuration_id=t.name, region=self.region, event_time=self.now(),
            request_id=request_id, host_id=host_id,
        )  # fmt: skip
        try:
            self.emit(t.trigger, s3_events.build_event([record]))
        except Exception as exc:
            log.error("s3: could not queue %s for s3://%s/%s (trigger %s): %s",
                      c.event, t.bucket, key, t.name, exc)  # fmt: skip
            return False
        return True
