"""Where the embedded moto's SQS differs from SQS, put right in process (moto's models).

- FIFO order on redelivery: moto takes a message that became visible again out of "in flight"
  one at a time while it walks the queue, so the group of a batch that failed unblocks at its
  *last* message, and a later message is received before an earlier one. SQS keeps a group in
  order ("messages that belong to the same message group are always processed one by one, in a
  strict order", SQS developer guide, "FIFO queue delivery logic"): every message visible again
  leaves "in flight" before the walk.
- SequenceNumber: moto gives one only when the sender set a MessageDeduplicationId; SQS gives
  every FIFO message one ("the large, non-consecutive number that Amazon SQS assigns to each
  message", SendMessage's SequenceNumber). Here: a process-wide counter, 20 digits.
- ReceiveMessage: moto's walk is not atomic between concurrent callers (two could take one
  message); calls on one queue are serialized.
- Durability: SQS keeps a message until it is deleted (or its retention ends), whatever
  happens to a consumer; the embedded moto lives in router's process, so a ``kill -9`` would
  lose every queue. The queues of a config are kept in a log in the state folder
  (``sqs-messages.jsonl``: each message sent, received (its receive count) and deleted, one
  JSON line each, written before the request is answered), and a restart puts the messages
  left back, as they were (ids, bodies, attributes, receive counts), visible at once: what
  was in flight is received again.

:func:`install` is idempotent and changes only the in-process moto (an external endpoint is
what it is).
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import threading
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

_installed = False
_lock = threading.Lock()
_queue_locks: dict[str, threading.Lock] = {}
_sequence = itertools.count(1)
_logs: dict[str, MessageLog] = {}  # queue ARN -> the log that keeps it
_handles: dict[str, tuple[str, str]] = {}  # receipt handle -> (queue ARN, message id), of kept queues


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.sqs.models import Queue, SQSBackend

        original_receive = SQSBackend.receive_message
        original_send = SQSBackend.send_message
        original_add = Queue.add_message
        original_delete = Queue.delete_message
        original_purge = SQSBackend.purge_queue

        def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            queue = self.get_queue(queue_name)
            with _queue_lock(queue.queue_arn):
                if queue.fifo_queue:
                    for message in list(queue.pending_messages):
                        if message.visible:
                            queue.pending_messages.discard(message)
                result = original_receive(self, queue_name, *args, **kwargs)
                kept = _logs.get(queue.queue_arn)
                if kept is not None:
                    for m in result:
                        _handles[str(m.receipt_handle)] = (queue.queue_arn, m.id)
                        kept.write({"op": "recv", "id": m.id, "n": m.approximate_receive_count,
                                    "first": m.approximate_first_receive_timestamp})  # fmt: skip
                return result

        def add_message(self: Any, message: Any) -> None:
            original_add(self, message)
            kept = _logs.get(self.queue_arn)
            if kept is not None and self._messages and self._messages[-1] is message:  # not a FIFO duplicate
                kept.write(_record(self.queue_arn, message))

        def delete_message(self: Any, receipt_handle: str) -> None:
            original_delete(self, receipt_handle)
            where = _handles.pop(receipt_handle, None)
            kept = _logs.get(where[0]) if where is not None else None
            if kept is not None and where is not None:
                kept.write({"op": "del", "id": where[1]})

        def purge_queue(self: Any, queue_name: str) -> None:
            original_purge(self, queue_name)
            arn = self.get_queue(queue_name).queue_arn
            if arn in _logs:
                _logs[arn].write({"op": "purge", "q": arn})

        def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            message = original_send(self, queue_name, *args, **kwargs)
            if self.get_queue(queue_name).fifo_queue and message.sequence_number is None:
                message.sequence_number = f"{next(_sequence) + 10**19:020d}"
            return message

        SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
        SQSBackend.send_message = send_message  # type: ignore[method-assign]
        SQSBackend.purge_queue = purge_queue  # type: ignore[method-assign]
        Queue.add_message = add_message  # type: ignore[method-assign]
        Queue.delete_message = delete_message  # type: ignore[method-assign]
        _installed = True


def _queue_lock(arn: str) -> threading.Lock:
    with _lock:
        return _queue_locks.setdefault(arn, threading.Lock())


# ---------------------------------------------------------------------------- durability


class MessageLog:
    """The log that keeps some queues' messages (one per router state folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def open(self, records: list[dict[str, Any]]) -> None:
        """Start over with ``records`` (the messages left), then append."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records), encoding="utf-8")
        tmp.replace(self.path)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)
                self._file.flush()  # in the OS's hands: a kill -9 of router loses nothing

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def keep(backend: Any, queues: dict[str, str], path: Path, *, restore: bool) -> int:
    """Keep the queues ``{ARN: name}`` (in ``backend``, moto's SQS backend of the account and
    region) in the log at ``path``; with ``restore``, first put back the messages a previous run
    left there. Returns how many were put back."""
    records = _live(path, set(queues)) if restore and path.exists() else []
    for r in records:
        backend.get_queue(queues[r["q"]])._messages.append(_message(r))
    kept = MessageLog(path)
    kept.open(records)
    with _lock:
        for arn in queues:
            _logs[arn] = kept
    return len(records)


def release(path: Path) -> None:
    """Stop keeping the queues logged at ``path`` (the router stops)."""
    with _lock:
        for arn, kept in list(_logs.items()):
            if kept.path == path:
                kept.close()
                del _logs[arn]
        for handle, (arn, _) in list(_handles.items()):
            if arn not in _logs:
                del _handles[handle]


def _live(path: Path, arns: set[str]) -> list[dict[str, Any]]:
    """The messages of the log not deleted, in the order sent, with their last receive count."""
    live: dict[str, dict[str, Any]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        try:
            r = json.loads(line)
        except ValueError:  # a line cut by the kill: the request it logged was never answered
            log.warning("%s:%d: an unreadable line is skipped", path, n + 1)
            continue
        op = r.get("op")
        if op == "add":
            live.pop(r["id"], None)  # a message moved to a dead-letter queue is added there
            live[r["id"]] = r
        elif op == "recv" and r["id"] in live:
            live[r["id"]]["count"], live[r["id"]]["first"] = r["n"], r.get("first")
        elif op == "del":
            live.pop(r["id"], None)
        elif op == "purge":
            live = {k: v for k, v in live.items() if v["q"] != r["q"]}
    return [r for r in live.values() if r["q"] in arns]


def _record(arn: str, m: Any) -> dict[str, Any]:
    attributes = {
        k: {**v, "BinaryValue": base64.b64encode(v["BinaryValue"]).decode()} if isinstance(v.get("BinaryValue"), bytes)
        else v for k, v in m.message_attributes.items()
    }  # fmt: skip
    return {"op": "add", "q": arn, "id": m.id, "body": m.body, "attrs": attributes, "system": m.system_attributes,
            "sent": m.sent_timestamp, "group": m.group_id, "dedup": m.deduplication_id, "seq": m.sequence_number,
            "sender": m.sender_id, "count": m.approximate_receive_count,
            "first": m.approximate_first_receive_timestamp}  # fmt: skip


def _message(r: dict[str, Any]) -> Any:
    from moto.sqs.models import Message

    m = Message(r["id"], r["body"], r.get("system") or None)
    m.message_attributes = r.get("attrs") or {}
    m.sent_timestamp = r.get("sent")
    m.group_id, m.deduplication_id, m.sequence_number = r.get("group"), r.get("dedup"), r.get("seq")
    m.sender_id = r.get("sender") or m.sender_id
    m.approximate_receive_count = int(r.get("count") or 0)
    m.approximate_first_receive_timestamp = r.get("first")
    return m
