"""The seam between sources and dispatch (standard library only).

A source reads facts (a file written, a tick, a request, stream records), shapes payloads
with the pure builders of :mod:`router.events`, and hands them to a :class:`Dispatch`. It
never decides how often, in what order or where failures go: that is dispatch's policy.
The three verbs:

- ``submit``: an asynchronous invocation (S3, schedules, destinations). Durable: the id is
  returned once the event is committed to the queue.
- ``invoke``: a synchronous invocation (HTTP). Admission (a free worker, the bounded wait for
  one) is the runtime pool's; the integration timeout is dispatch's (``give_up_after``).
- ``open_stream``: a stream's event source mapping (DynamoDB Streams). Dispatch owns batching,
  filters, retries, checkpoints, discards and on-failure destinations; the source reads
  shards and :meth:`StreamConsumer.put` s the records, in order.
- ``open_queue``: a queue's event source mapping (SQS). Dispatch owns filters, batching, the
  batching window, concurrency, FIFO group order and which messages are deleted; the source
  receives (as much as :meth:`QueueMapping.room` allows), :meth:`QueueMapping.put` s the
  messages and does the deletes and releases dispatch asks of its :class:`QueueIO`.

Ids are injected like the clock (:class:`Ids`), so tests can fix them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .config import TriggerConfig
    from .invocation import Invocation


class Ids(Protocol):
    """Where request and event ids come from."""

    def uuid(self) -> str:
        """A version 4 UUID as text (``str(uuid.uuid4())``'s form)."""
        ...


class RandomIds:
    """Random version 4 UUIDs, without ``uuid.uuid4()``'s system call and object: ids must
    be unique, not secret (a request id is made on every HTTP request)."""

    def uuid(self) -> str:
        n = (random.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class SequentialIds:
    """Predictable ids for tests: ``00000000-0000-4000-8000-000000000001``, ...2, ..."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def uuid(self) -> str:
        n, self._next = self._next, self._next + 1
        return f"00000000-0000-4000-8000-{n:012d}"


class Reservation:
    """A worker slot of a function taken ahead of its invocation: the async queue decides on
    the loop, the invocation runs in its own task. The invocation ``take()`` s it; a task that
    ends first ``release()`` s it (idempotent), which gives the slot back."""

    __slots__ = ("_give_back", "_held")

    def __init__(self, give_back: Callable[[], None]) -> None:
        self._give_back = give_back
        self._held = True

    def take(self) -> bool:
        """The invocation starts: the slot is its own now. False if it was given back."""
        held, self._held = self._held, False
        return held

    def release(self) -> None:
        """Give the slot back if no invocation took it."""
        if self.take():
            self._give_back()


@dataclass
class StreamRecord:
    """One stream record as the function will see it, with what the policy needs of it."""

    data: dict[str, Any]  # the Lambda-shaped record (``Records[i]`` of the event)
    sequence_number: str
    arrival: float  # epoch seconds (ApproximateCreationDateTime)
    key: str = ""  # the partition key: records of one key stay in order (parallelization)
    size: int = 0  # bytes of JSON in the event (computed when 0)

    def __post_init__(self) -> None:
        if not self.size:
            import json

            self.size = len(json.dumps(self.data, separators=(",", ":"), default=str)) + 1


class StreamConsumer(Protocol):
    """The policy of one shard: put records in order; dispatch does the rest."""

    def start(self) -> None: ...

    async def put(self, records: Iterable[StreamRecord]) -> None:
        """Hand over records in shard order (waits while too many are read ahead)."""
        ...

    async def wait_idle(self) -> None:
        """Until every record put so far is done (delivered, filtered out or discarded)."""
        ...

    async def stop(self, grace: float = 5.0) -> None: ...

    @property
    def pending(self) -> int: ...

    def info(self) -> dict[str, Any]:
        """Progress: checkpoint, read, filtered, delivered, discarded, batches, failures."""
        ...


class StreamMapping(Protocol):
    """One trigger's event source mapping over one stream, as dispatch runs it."""

    async def checkpoints(self) -> dict[str, str]:
        """Shard id -> the last sequence number done, from the previous run (empty at first)."""
        ...

    def shard(self, shard_id: str) -> StreamConsumer:
        """The consumer of one shard (its checkpoints are kept by dispatch)."""
        ...


@dataclass
class QueueMessage:
    """One received SQS message as the function will see it, with what the policy needs."""

    data: dict[str, Any]  # the Lambda-shaped record (``Records[i]`` of the event)
    group: str = ""  # a FIFO queue's MessageGroupId: one batch of a group in flight, in order
    size: int = 0  # bytes of JSON in the event (computed when 0)

    def __post_init__(self) -> None:
        if not self.size:
            import json

            self.size = len(json.dumps(self.data, separators=(",", ":"), default=str)) + 1

    @property
    def message_id(self) -> str:
        return str(self.data["messageId"])

    @property
    def receipt_handle(self) -> str:
        return str(self.data["receiptHandle"])


class QueueIO(Protocol):
    """What dispatch asks of the queue (the source does the I/O)."""

    async def delete(self, messages: list[QueueMessage]) -> None:
        """DeleteMessage(Batch): done with them (delivered, or filtered out)."""
        ...

    async def release(self, messages: list[QueueMessage]) -> None:
        """ChangeMessageVisibility 0: received but never handed to the function (a stop)."""
        ...


class QueueMapping(Protocol):
    """One trigger's event source mapping over one queue, as dispatch runs it."""

    pollers: int  # how many receive loops the source runs

    def start(self) -> None: ...

    async def room(self) -> int:
        """Waits until the mapping can take messages; how many one receive may bring (1..10)."""
        ...

    async def put(self, messages: Iterable[QueueMessage]) -> None:
        """Hand over the messages of one receive, in the order received."""
        ...

    async def wait_idle(self) -> None:
        """Until every message put so far is done (deleted, or left to come back)."""
        ...

    async def stop(self, grace: float = 5.0) -> None: ...

    @property
    def pending(self) -> int: ...

    def info(self) -> dict[str, Any]:
        """Progress: received, filtered, delivered, failed, batches."""
        ...


class ResponseStream(Protocol):
    """Where a streaming function's response goes as the function writes it (a Node.js handler
    wrapped by ``awslambda.streamifyResponse``), for a caller that streams it on: the Invoke
    API's ``InvokeWithResponseStream``, a function URL in ``RESPONSE_STREAM`` mode, a REST route
    whose transfer mode is ``STREAM``. Called on the event loop, in order; neither may block or
    raise. Nothing is called for a function that does not stream (its whole response is the
    :class:`Invocation`'s), nor after the invocation failed; the invocation's return ends it."""

    def start(self, content_type: str, request_id: str) -> None:
        """The stream opened (its first write, or its end when nothing was written)."""
        ...

    def write(self, chunk: bytes) -> None:
        """Bytes the function wrote, in order (the first of an ``HttpResponseStream`` are its
        JSON prelude and 8 NUL bytes)."""
        ...


class Dispatch(Protocol):
    """What every source is handed: see the module docstring."""

    async def submit(self, trigger: TriggerConfig, event: Any) -> str:
        """Queue an asynchronous invocation; its event id once committed."""
        ...

    def submit_threadsafe(self, trigger: TriggerConfig, event: Any, *, cause: dict[str, Any] | None = None) -> str:
        """``submit`` from a thread that is not the loop's (watchdog); blocks until committed.
        ``cause``: the write through the embedded AWS that caused the event (``router.lineage``:
        the function, its running request id when known, and the chain's counts)."""
        ...

    async def invoke(
        self, trigger: TriggerConfig, event: Any, *, give_up_after: float | None = None,
        on_give_up: Callable[[], bool] | None = None, queue_factor: int | None = None,
        stream: ResponseStream | None = None,
    ) -> Invocation:  # fmt: skip
        """A synchronous invocation, journaled. ``give_up_after`` seconds without an answer
        call ``on_give_up()`` once (the invocation runs on, as behind API Gateway);
        ``queue_factor``: at most that many times the function's concurrency may wait for a
        worker, beyond that ``ThrottledError``. ``stream``: a streaming function's response
        goes there as it is written (Lambda's streamed-response limits apply)."""
        ...

    async def open_stream(self, trigger: TriggerConfig, source_arn: str) -> StreamMapping:
        """The event source mapping of ``trigger`` over the stream ``source_arn``."""
        ...

    async def open_queue(self, trigger: TriggerConfig, queue_arn: str, io: QueueIO, *, fifo: bool) -> QueueMapping:
        """The event source mapping of ``trigger`` over the queue ``queue_arn``."""
        ...

    def event_pending(self, event_id: str) -> bool:
        """True while a submitted event is queued, running or waiting for a retry."""
        ...
