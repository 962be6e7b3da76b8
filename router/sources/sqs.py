"""``sqs`` triggers: event source mappings over SQS queues.

I/O only. For each trigger: find the queue (a clear :class:`StartupError` when it is neither
declared nor present at the configured AWS: never a hang), open dispatch's side of the
mapping (``ctx.dispatch.open_queue``) and run its pollers: each long-polls ReceiveMessage
for as many messages as the mapping has room for, turns them into Lambda's records
(``events.sqs.from_message``) and puts them. Deleting, and giving back what was never
delivered, is done here when dispatch asks (:class:`QueueIO`); what is delivered when, and
what is deleted, is dispatch's policy.

Lambda "uses long polling to poll a queue until it becomes active" (Using Lambda with Amazon
SQS). A long poll here waits at most :data:`WAIT_SECONDS` (so that a stop is prompt); a FIFO
queue is polled without waiting (backing off to :data:`FIFO_IDLE_MAX` when idle), since
moto's long poll spins while a visible message waits behind its group's message in flight.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

from ..config import SqsTrigger, TriggerConfig, declared_queue
from ..errors import StartupError
from ..events.sqs import from_message, stand_in_sequence_number
from ..types import QueueMapping, QueueMessage
from .base import SourceContext
from .dynamodb_shards import aws_error_code

log = logging.getLogger(__name__)

WAIT_SECONDS = 1  # ReceiveMessage WaitTimeSeconds (0..20)
FIFO_IDLE_MIN = 0.01
FIFO_IDLE_MAX = 0.1
ERROR_BACKOFF_MAX = 5.0


class SqsSource:
    """Every enabled ``sqs`` trigger of a config, running."""

    def __init__(self, triggers: list[TriggerConfig], ctx: SourceContext) -> None:
        self.ctx = ctx
        self.triggers = [t for t in triggers if t.sqs is not None]
        self._mappings: dict[str, QueuePoller] = {}
        self._executor: ThreadPoolExecutor | None = None

    async def start(self, stack: AsyncExitStack) -> None:
        self._executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="router-sqs")
        stack.callback(self._executor.shutdown, wait=True, cancel_futures=True)
        stack.push_async_callback(self._stop)
        await self._open()

    async def _open(self) -> None:
        pollers = [QueuePoller(t, t.sqs, self) for t in self.triggers if t.sqs is not None and t.sqs.enabled]
        for p in pollers:
            await p.find()
        for p in pollers:
            await p.start()
            self._mappings[p.name] = p

    async def _stop(self) -> None:
        await asyncio.gather(*(m.stop() for m in self._mappings.values()))

    async def pause(self) -> None:
        """Stop every mapping (``Router.reset``: the queues are about to be re-created)."""
        await self._stop()
        self._mappings.clear()

    async def reset(self) -> None:
        await self._open()

    async def call(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    def describe(self) -> list[str]:
        lines = [m.describe() for m in self._mappings.values()]
        for t in self.triggers:
            if t.sqs is not None and not t.sqs.enabled:
                lines.append(f"sqs             {t.sqs.queue}  (mapping disabled)  -> {t.function}  [{t.name}]")
        return lines

    def mappings(self) -> list[dict[str, Any]]:
        return [m.info() for m in self._mappings.values()]

    async def wait_idle(self, trigger_name: str | None = None) -> None:
        for name, m in self._mappings.items():
            if (trigger_name is None or name == trigger_name) and m.mapping is not None:
                await m.mapping.wait_idle()


class QueuePoller:
    """One trigger's mapping: its queue, its pollers, and the deletes dispatch asks for."""

    def __init__(self, trigger: TriggerConfig, spec: SqsTrigger, source: SqsSource) -> None:
        self.trigger = trigger
        self.spec = spec
        self.source = source
        self.ctx = source.ctx
        self.name = trigger.name
        self.queue_name = spec.queue
        self.url = ""
        self.arn = ""
        self.fifo = False
        self.visibility_timeout = 30
        self.redrive: dict[str, Any] = {}
        self.mapping: QueueMapping | None = None
        self._client: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    async def find(self) -> None:
        """The queue's URL and attributes; a StartupError when it does not exist."""
        declared = declared_queue(self.ctx.config, self.spec.queue)
        self.queue_name = declared[0] if declared is not None else self.spec.queue
        client = self.ctx.aws.client("sqs")
        where = self.ctx.aws.endpoint_url or "AWS"
        try:
            self.url = (await self.source.call(client.get_queue_url, QueueName=self.queue_name))["QueueUrl"]
            attrs = (await self.source.call(client.get_queue_attributes, QueueUrl=self.url,
                                            AttributeNames=["All"]))["Attributes"]  # fmt: skip
        except Exception as exc:
            if aws_error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                raise StartupError(
                    f"trigger {self.name!r}: queue {self.queue_name!r} does not exist at {where}; declare it under "
                    "resources.queues or create it before router starts"
                ) from None
            raise StartupError(
                f"trigger {self.name!r}: cannot read queue {self.queue_name!r} at {where}: {exc}"
            ) from None
        self.arn = attrs["QueueArn"]
        self.fifo = attrs.get("FifoQueue") == "true"
        self.visibility_timeout = int(attrs.get("VisibilityTimeout", 30))
        if attrs.get("RedrivePolicy"):
            import json

            self.redrive = json.loads(attrs["RedrivePolicy"])

    async def start(self) -> None:
        self._client = self.ctx.aws.queue_client()  # the embedded AWS's backend, without HTTP
        self.mapping = await self.ctx.dispatch.open_queue(self.trigger, self.arn, self, fifo=self.fifo)
        self.mapping.start()
        for n in range(self.mapping.pollers):
            self._tasks.append(asyncio.create_task(self._poll(), name=f"sqs-{self.name}-poller{n}"))
        log.info("sqs mapping %s: %s (%d poller(s))", self.name, self.arn, len(self._tasks))

    async def stop(self) -> None:
        """The mapping first (no more room: a poller ends after its receive, and what it got
        is given back at once), then the pollers."""
        if self.mapping is not None:
            grace = min(self.ctx.config.functions[self.trigger.function].timeout + 2, 30)
            await self.mapping.stop(grace)
        if self._tasks:
            _, running = await asyncio.wait(self._tasks, timeout=WAIT_SECONDS + 5)
            for task in running:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # ------------------------------------------------------------------ I/O

    async def _poll(self) -> None:
        assert self.mapping is not None
        client = self._client
        errors = 0
        idle = FIFO_IDLE_MIN
        while True:
            room = await self.mapping.room()
            if room <= 0:
                return
            try:
                answer = await self.source.call(
                    client.receive_message, QueueUrl=self.url, MaxNumberOfMessages=room,
                    WaitTimeSeconds=0 if self.fifo else WAIT_SECONDS, MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                )  # fmt: skip
                errors = 0
            except Exception as exc:
                errors += 1
                level = logging.WARNING if errors in (1, 10) or errors % 100 == 0 else logging.DEBUG
                log.log(level, "sqs mapping %s: receiving failed (%d time(s) in a row): %s", self.name, errors, exc)
                await asyncio.sleep(min(0.1 * 2**errors, ERROR_BACKOFF_MAX))
                continue
            raw = answer.get("Messages") or []
            if raw:
                idle = FIFO_IDLE_MIN
                await self.mapping.put(self._messages(raw))
            elif self.fifo:
                await asyncio.sleep(idle)  # I/O cadence, not policy time: the real clock
                idle = min(idle * 2, FIFO_IDLE_MAX)

    def _messages(self, raw: list[dict[str, Any]]) -> list[QueueMessage]:
        region = self.ctx.config.settings.region
        out = []
        for m in raw:
            data = from_message(m, arn=self.arn, region=region)
            attrs = data["attributes"]
            if self.fifo and "SequenceNumber" not in attrs:  # moto's gap (see stand_in_sequence_number)
                attrs["SequenceNumber"] = stand_in_sequence_number(data["messageId"], attrs.get("SentTimestamp", ""))
            out.append(QueueMessage(data=data, group=str(data["attributes"].get("MessageGroupId", ""))))
        return out

    async def delete(self, messages: list[QueueMessage]) -> None:
        """DeleteMessageBatch, ten at a time (its limit)."""
        client = self._client
        for i in range(0, len(messages), 10):
            chunk = messages[i : i + 10]
            entries = [{"Id": str(n), "ReceiptHandle": m.receipt_handle} for n, m in enumerate(chunk)]
            answer = await self.source.call(client.delete_message_batch, QueueUrl=self.url, Entries=entries)
            for failed in answer.get("Failed") or []:
                log.warning("sqs mapping %s: could not delete message %s: %s", self.name,
                            chunk[int(failed["Id"])].message_id, failed.get("Message"))  # fmt: skip

    async def release(self, messages: list[QueueMessage]) -> None:
        """ChangeMessageVisibilityBatch to 0: visible again at once."""
        client = self._client
        for i in range(0, len(messages), 10):
            chunk = messages[i : i + 10]
            entries = [{"Id": str(n), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                       for n, m in enumerate(chunk)]  # fmt: skip
            await self.source.call(client.change_message_visibility_batch, QueueUrl=self.url, Entries=entries)

    # ------------------------------------------------------------------ reporting

    def describe(self) -> str:
        parts = [f"sqs             {self.queue_name}", "FIFO" if self.fifo else "standard",
                 f"batch {self.spec.batch_size}"]  # fmt: skip
        if self.spec.batching_window:
            parts.append(f"window {self.spec.batching_window:g}s")
        parts.append(f"visibility {self.visibility_timeout}s")
        if self.redrive:
            dlq = str(self.redrive.get("deadLetterTargetArn", "")).rsplit(":", 1)[-1]
            parts.append(f"DLQ {dlq} after {self.redrive.get('maxReceiveCount')} receives")
        else:
            parts.append("no DLQ")
        if self.spec.report_batch_item_failures:
            parts.append("partial batch responses")
        if self.spec.filter:
            parts.append(f"{len(self.spec.filter)} filter(s)")
        return "  ".join(parts) + f"  -> {self.trigger.function}  [{self.name}]"

    def info(self) -> dict[str, Any]:
        progress = self.mapping.info() if self.mapping is not None else {}
        return {"trigger": self.name, "function": self.trigger.function, "queue": self.queue_name,
                "queue_url": self.url, "queue_arn": self.arn, "fifo": self.fifo,
                "batch_size": self.spec.batch_size, "batching_window": self.spec.batching_window,
                "visibility_timeout": self.visibility_timeout, "redrive": self.redrive, "state": "Enabled",
                **progress}  # fmt: skip


def send_message(
    aws: Any, config: Any, queue: str, body: Any, *, group_id: str | None = None,
    deduplication_id: str | None = None, delay: int | None = None, attributes: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    """SendMessage to a queue of the config (by its key or AWS name) or of the AWS; the
    MessageId. A body that is not text is sent as JSON; attributes as
    :func:`router.events.sqs.api_attributes` shapes them."""
    import json

    from ..events.sqs import api_attributes

    declared = declared_queue(config, queue)
    name = declared[0] if declared is not None else queue
    client = aws.client("sqs")
    try:
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
    except Exception as exc:
        if aws_error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            known = ", ".join(config.resources.queues) or "none"
            raise ValueError(f"no queue {name!r} (resources.queues: {known})") from None
        raise
    if name.endswith(".fifo") and group_id is None:
        raise ValueError(f"queue {name!r} is a FIFO queue: send(..., group_id=...) (SQS requires a MessageGroupId)")
    kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": body if isinstance(body, str) else json.dumps(body)}
    if attributes:
        kwargs["MessageAttributes"] = api_attributes(attributes)
    if group_id is not None:
        kwargs["MessageGroupId"] = group_id
    if deduplication_id is not None:
        kwargs["MessageDeduplicationId"] = deduplication_id
    if delay is not None:
        kwargs["DelaySeconds"] = delay
    return str(client.send_message(**kwargs)["MessageId"])
