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

:func:`install` is idempotent and changes only the in-process moto (an external endpoint is
what it is).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

_installed = False
_lock = threading.Lock()
_queue_locks: dict[str, threading.Lock] = {}
_sequence = itertools.count(1)


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.sqs.models import SQSBackend

        original_receive = SQSBackend.receive_message
        original_send = SQSBackend.send_message

        def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            queue = self.get_queue(queue_name)
            with _queue_lock(queue.queue_arn):
                if queue.fifo_queue:
                    for message in list(queue.pending_messages):
                        if message.visible:
                            queue.pending_messages.discard(message)
                return original_receive(self, queue_name, *args, **kwargs)

        def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            message = original_send(self, queue_name, *args, **kwargs)
            if self.get_queue(queue_name).fifo_queue and message.sequence_number is None:
                message.sequence_number = f"{next(_sequence) + 10**19:020d}"
            return message

        SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
        SQSBackend.send_message = send_message  # type: ignore[method-assign]
        _installed = True


def _queue_lock(arn: str) -> threading.Lock:
    with _lock:
        return _queue_locks.setdefault(arn, threading.Lock())
