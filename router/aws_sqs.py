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
import time
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
        from moto.sqs.models import Message, Queue, SQSBackend

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
        Queue.messages = property(_visible)  # type: ignore[method-assign,assignment]
        Message.visible = property(lambda m: time.time() * 1000 > m.visible_at)  # type: ignore[method-assign,assignment]
        Message.delayed = property(lambda m: time.time() * 1000 < m.delayed_until)  # type: ignore[method-assign,assignment]
        Queue.add_message = add_message  # type: ignore[method-assign]
        Queue.delete_message = delete_message  # type: ignore[method-assign]
        _installed = True


def _visible(queue: Any) -> list[Any]:
    """A queue's visible, not delayed messages, as moto's ``Queue.messages``, reading the clock
    once (moto's reads it twice per message, through a datetime: with 10,000 messages ~20 ms,
    and every SendMessage asks, through the queue's attributes; ``Message.visible`` and
    ``delayed`` read ``time.time()`` for the same reason)."""
    now = time.time() * 1000  # moto's unix_time_millis
    return [m for m in queue._messages if now > m.visible_at and now >= m.delayed_until]


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
    # A receive (or even a delete) can be logged before the message's own "add" line: the send
    # appends the message to the queue, then logs it, and a receive on another thread may take
    # it in between. Such an op waits here for its message's line.
    early: dict[str, list[dict[str, Any]]] = {}
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
            for before in early.pop(r["id"], ()):
                if before["op"] == "del":
                    live.pop(r["id"], None)
                elif (before.get("n") or 0) > (r.get("count") or 0):
                    r["count"], r["first"] = before["n"], before.get("first")
        elif op in ("recv", "del") and r["id"] not in live:
            early.setdefault(r["id"], []).append(r)
        elif op == "recv":
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


# ---------------------------------------------------------------------------- the poller's client


class EmbeddedSqs:
    """ReceiveMessage, DeleteMessageBatch and ChangeMessageVisibilityBatch on the in-process
    moto's SQS backend, with boto3's arguments and answers, without the HTTP round trip (a
    mapping's receives and deletes: ~10 ms each through the embedded server, here a few tenths
    of one). FIFO queues, and anything unusual, go through moto's own backend calls (those its
    request handlers make). A standard queue's receive and delete are router's own, on moto's
    data: moto's walk the whole queue in Python for each call (a receive tests every message's
    visibility, a delete looks for its handle in every message), so a 10,000-message backlog
    cost ~30 ms a call; here a receive stops at the messages it takes, a delete finds its
    message by handle. Same rules: the first visible, not delayed messages in the order sent;
    a message received ``maxReceiveCount`` times goes to the dead-letter queue at the next
    receive (SQS developer guide, "Using dead-letter queues"); one past its retention period
    is gone ("MessageRetentionPeriod")."""

    def __init__(self, account: str, region: str) -> None:
        from moto.sqs.models import sqs_backends

        install()
        self._backend = sqs_backends[account][region]

    @staticmethod
    def _name(url: str) -> str:
        return url.rstrip("/").rsplit("/", 1)[-1]

    def receive_message(
        self, *, QueueUrl: str, MaxNumberOfMessages: int = 1, WaitTimeSeconds: int = 0,  # noqa: N803 (boto3's)
        MessageAttributeNames: list[str] | None = None, MessageSystemAttributeNames: list[str] | None = None,  # noqa: N803
    ) -> dict[str, Any]:  # fmt: skip
        name = self._name(QueueUrl)
        queue = self._backend.get_queue(name)
        timeout = int(getattr(queue, "visibility_timeout", 30))  # the queue's, as a receive without one
        if not queue.fifo_queue:
            with _queue_lock(queue.queue_arn):
                taken = _take(queue, self._backend, MaxNumberOfMessages, timeout)
            if taken or not WaitTimeSeconds:
                return {"Messages": [_as_received(m) for m in taken]} if taken else {}
        got = self._backend.receive_message(name, MaxNumberOfMessages, WaitTimeSeconds, timeout,
                                            MessageAttributeNames or ["All"])  # fmt: skip
        return {"Messages": [_as_received(m) for m in got]} if got else {}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        name = self._name(QueueUrl)
        queue = self._backend.get_queue(name)
        rest = []
        done = []
        with _queue_lock(queue.queue_arn):
            for entry in Entries:
                if _forget(queue, entry["ReceiptHandle"]):
                    done.append(entry["Id"])
                else:
                    rest.append(entry)
        if not rest:
            return {"Successful": [{"Id": i} for i in done], "Failed": []}
        success, failed = self._backend.delete_message_batch(name, rest)
        return {"Successful": [{"Id": i} for i in done + success], "Failed": failed}

    def change_message_visibility_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        name = self._name(QueueUrl)
        failed = []
        for entry in Entries:
            try:
                self._backend.change_message_visibility(name, entry["ReceiptHandle"], int(entry["VisibilityTimeout"]))
            except Exception as exc:  # a handle that is no longer valid: reported, as SQS does
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": type(exc).__name__, "Message": str(exc)})
        return {"Failed": failed}


_taken: dict[str, Any] = {}  # receipt handle -> the message (moto's own object) taken with it


def _take(queue: Any, backend: Any, count: int, visibility_timeout: int) -> list[Any]:
    """Up to ``count`` messages received from a standard queue (copies, as moto's receive
    returns), each marked received; see :class:`EmbeddedSqs`."""
    import copy

    now_ms = time.time() * 1000
    retention = int(getattr(queue, "message_retention_period", 0) or 0)
    policy = queue.redrive_policy if queue.dead_letter_queue is not None else None
    out: list[Any] = []
    moved: list[Any] = []
    expired: list[Any] = []
    for m in list(queue._messages):
        if now_ms <= m.visible_at or now_ms < m.delayed_until:
            continue
        queue.pending_messages.discard(m)
        if retention and m.sent_timestamp and m.sent_timestamp + retention * 1000 <= now_ms:
            expired.append(m)
            continue
        if policy and m.approximate_receive_count >= int(policy["maxReceiveCount"]):
            moved.append(m)
            continue
        queue.pending_messages.add(m)
        _taken.pop(str(m.receipt_handle), None)  # an older handle of a message received again
        _handles.pop(str(m.receipt_handle), None)
        m.mark_received(visibility_timeout=visibility_timeout)
        _taken[str(m.receipt_handle)] = m
        out.append(copy.deepcopy(m))
        if len(out) >= count:
            break
    for m in expired + moved:
        queue._messages.remove(m)
    for m in moved:
        queue.dead_letter_queue.add_message(m)
    kept = _logs.get(queue.queue_arn)
    for m in out:
        if kept is not None:
            _handles[str(m.receipt_handle)] = (queue.queue_arn, m.id)
            kept.write({"op": "recv", "id": m.id, "n": m.approximate_receive_count,
                        "first": m.approximate_first_receive_timestamp})  # fmt: skip
    for m in expired:
        if kept is not None:
            kept.write({"op": "del", "id": m.id})
    return out


def _forget(queue: Any, handle: str) -> bool:
    """Delete the message ``handle`` was received with, if it was taken by :func:`_take` and is
    still its latest handle's message; False to leave it to moto."""
    m = _taken.pop(handle, None)
    if m is None:
        return False
    if handle in queue.deleted_messages:
        return True  # deleted already: SQS answers success again
    if m.receipt_handle != handle:
        return False  # received again since: moto's rules for an old handle
    queue.pending_messages.discard(m)
    queue.deleted_messages.update(m.all_receipt_handles)
    try:
        queue._messages.remove(m)
    except ValueError:
        pass
    for h in m.all_receipt_handles:
        where = _handles.pop(str(h), None)
        kept = _logs.get(where[0]) if where is not None else None
        if kept is not None and where is not None:
            kept.write({"op": "del", "id": where[1]})
            break
    return True


def _as_received(m: Any) -> dict[str, Any]:
    """A moto message as ReceiveMessage answers it with every attribute asked for."""
    attributes = {"SenderId": m.sender_id, "SentTimestamp": str(m.sent_timestamp),
                  "ApproximateReceiveCount": str(m.approximate_receive_count),
                  "ApproximateFirstReceiveTimestamp": str(m.approximate_first_receive_timestamp)}  # fmt: skip
    for key, value in (("MessageDeduplicationId", m.deduplication_id), ("MessageGroupId", m.group_id),
                       ("SequenceNumber", m.sequence_number)):  # fmt: skip
        if value is not None:
            attributes[key] = value
    trace = (m.system_attributes or {}).get("AWSTraceHeader")
    if trace:
        attributes["AWSTraceHeader"] = trace.get("StringValue")
    out = {"MessageId": m.id, "ReceiptHandle": m.receipt_handle, "MD5OfBody": m.body_md5, "Body": m.body,
           "Attributes": attributes}  # fmt: skip
    if m.message_attributes:
        out["MessageAttributes"] = m.message_attributes
        out["MD5OfMessageAttributes"] = m.attribute_md5
    return out
