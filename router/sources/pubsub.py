"""``sns`` and ``eventbridge`` triggers: subscriptions to topics and rules on buses.

I/O only. Each source listens to what is published through the embedded AWS
(:mod:`router.aws_pubsub`), picks the triggers a message or event is for (a subscription's
filter policy, a rule's pattern: :mod:`router.filters`), shapes the Lambda event with the pure
builders (:mod:`router.events.sns`, :mod:`router.events.eventbridge`) and submits it: SNS and
EventBridge both invoke Lambda asynchronously (Lambda developer guide, "Invoking Lambda with
events from other AWS services": SNS and EventBridge are asynchronous invokers), so retries,
the event's maximum age and destinations are dispatch's async rules.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from .. import aws_pubsub
from ..config import TriggerConfig, declared_topic
from ..errors import StartupError
from ..events import eventbridge, sns
from ..filters import Matcher, compile_pattern
from .base import SourceContext

log = logging.getLogger(__name__)

SUBMIT_TIMEOUT = 60.0  # seconds a publish waits for its invocations to be committed (never forever)


@dataclass(frozen=True)
class _Subscription:
    trigger: TriggerConfig
    arn: str
    policy: Matcher | None
    body_scope: bool


class _Listening:
    """What both sources share: the listener's life, pause and reset, and the submit."""

    kind = ""

    def __init__(self, triggers: list[TriggerConfig], ctx: SourceContext) -> None:
        self.ctx = ctx
        self.triggers = [t for t in triggers if getattr(t, self.kind) is not None and t.enabled]
        self._remove: Callable[[], None] | None = None
        self._paused = False
        self.delivered = 0

    async def start(self, stack: AsyncExitStack) -> None:
        if self.ctx.aws.mode != "embedded":
            raise StartupError(f"{self.kind} triggers need the embedded AWS (settings.aws.endpoint: embedded): "
                               "router sees what is published only there")  # fmt: skip
        self._loop = asyncio.get_running_loop()
        self._remove = aws_pubsub.listen(self._heard)
        stack.callback(self._stop)

    def _stop(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None

    async def pause(self) -> None:
        self._paused = True

    async def reset(self) -> None:
        self._paused = False

    def _mine(self, account: str, region: str) -> bool:
        s = self.ctx.config.settings
        return not self._paused and account == s.account and region == s.region

    def _heard(self, facts: list[aws_pubsub.Fact]) -> None:
        self._submit([pair for fact in facts for pair in self._deliveries(fact)])

    def _submit_caused(self, pairs: list[tuple[TriggerConfig, Any]], cause: dict[str, Any]) -> None:
        """Deliveries of a publish made by a function (router.lineage): journaled with their
        cause, and a chain looping through SNS is stopped as Lambda stops it."""
        self.delivered += len(pairs)
        for t, e in pairs:
            self.ctx.dispatch.submit_threadsafe(t, e, cause=cause)

    def _deliveries(self, fact: aws_pubsub.Fact) -> list[tuple[TriggerConfig, Any]]:
        raise NotImplementedError

    def _submit(self, pairs: list[tuple[TriggerConfig, Any]]) -> None:
        """Submit the invocations of one call together (their commits are grouped) and, on the
        embedded server's thread, wait until they are committed: the call answers after."""
        if not pairs:
            return
        self.delivered += len(pairs)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the embedded server's thread (or a destination's): one hop to the loop
            asyncio.run_coroutine_threadsafe(self._submit_all(pairs), self._loop).result(timeout=SUBMIT_TIMEOUT)
            return
        self._loop.create_task(self._submit_all(pairs))  # published from the loop's own thread: cannot wait

    async def _submit_all(self, pairs: list[tuple[TriggerConfig, Any]]) -> None:
        await asyncio.gather(*(self.ctx.dispatch.submit(t, e) for t, e in pairs))

    def info(self) -> dict[str, Any]:
        return {"triggers": len(self.triggers), "delivered": self.delivered}

    def describe(self) -> list[str]:
        """The banner's lines: one per subscription or rule."""
        return [f"{self.kind:<16}{self._what(t)}  -> {t.function}  [{t.name}]" for t in self.triggers]

    def _what(self, t: TriggerConfig) -> str:
        if t.sns is not None:
            policy = t.sns.filter_policy
            scope = t.sns.filter_policy_scope
            return f"topic {t.sns.topic}" + (f"  filter ({scope}) {_short(policy)}" if policy else "")
        assert t.eventbridge is not None
        rule = t.eventbridge
        shaped = ("  input" if rule.input is not None else f"  input_path {rule.input_path}" if rule.input_path
                  else "  input_transformer" if rule.input_transformer else "")  # fmt: skip
        return f"bus {rule.bus}  pattern {_short(rule.pattern)}{shaped}"


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."


class SnsSource(_Listening):
    """Every enabled ``sns`` trigger: a Lambda subscription per trigger."""

    kind = "sns"

    async def start(self, stack: AsyncExitStack) -> None:
        s = self.ctx.config.settings
        self._subs: dict[str, list[_Subscription]] = defaultdict(list)
        for t in self.triggers:
            assert t.sns is not None
            topic = sns.topic_arn(s.region, s.account, declared_topic(self.ctx.config, t.sns.topic) or t.sns.topic)
            body = t.sns.filter_policy_scope == "MessageBody"
            policy = compile_pattern(t.sns.filter_policy) if t.sns.filter_policy is not None else None
            self._subs[topic].append(_Subscription(t, sns.subscription_arn(topic, t.name), policy, body))
        await super().start(stack)

    def _heard(self, facts: list[aws_pubsub.Fact]) -> None:
        for fact in facts:
            cause = self.ctx.aws.lineage.cause(fact.key) if isinstance(fact, aws_pubsub.Notification) else None
            pairs = self._deliveries(fact)
            if cause is not None and pairs:  # Lambda's loop detection covers SNS ("Lambda recursive loop detection")
                self._submit_caused(pairs, cause)
            else:
                self._submit(pairs)

    def _deliveries(self, fact: aws_pubsub.Fact) -> list[tuple[TriggerConfig, Any]]:
        if not isinstance(fact, aws_pubsub.Notification) or not self._mine(fact.account, fact.region):
            return []
        out = []
        for sub in self._subs.get(fact.topic_arn, ()):
            if sub.policy is not None:
                view = sns.body_view(fact.message) if sub.body_scope else sns.policy_view(fact.attributes)
                if view is None or not sub.policy(view):
                    continue  # filtered out: SNS does not deliver it
            body = sns.notification(
                message_id=fact.message_id, topic=fact.topic_arn, message=fact.message, subject=fact.subject,
                timestamp=fact.timestamp, attributes=fact.attributes, region=fact.region, subscription=sub.arn,
            )  # fmt: skip
            out.append((sub.trigger, sns.event(body, sub.arn)))
        return out


class EventBridgeSource(_Listening):
    """Every enabled ``eventbridge`` trigger: a rule on its bus with the function as target."""

    kind = "eventbridge"

    async def start(self, stack: AsyncExitStack) -> None:
        self._rules: dict[str, list[tuple[TriggerConfig, Matcher]]] = defaultdict(list)
        for t in self.triggers:
            assert t.eventbridge is not None
            self._rules[t.eventbridge.bus].append((t, compile_pattern(t.eventbridge.pattern)))
        await super().start(stack)

    def _deliveries(self, fact: aws_pubsub.Fact) -> list[tuple[TriggerConfig, Any]]:
        if not isinstance(fact, aws_pubsub.BusEvent) or not self._mine(fact.account, fact.region):
            return []
        return [(t, self._input(t, fact)) for t, match in self._rules.get(fact.bus, ()) if match(fact.event)]

    def _input(self, t: TriggerConfig, fact: aws_pubsub.BusEvent) -> Any:
        """The target's input (API reference, "Target": Input is sent as it is, InputPath picks
        a part of the event, InputTransformer rewrites it; otherwise the whole event)."""
        rule = t.eventbridge
        assert rule is not None
        if rule.input is not None:
            return rule.input
        if rule.input_path is not None:
            return eventbridge.input_path(fact.event, rule.input_path)
        if rule.input_transformer is not None:
            s = self.ctx.config.settings
            arn = eventbridge.rule_arn(s.region, s.account, rule.bus, t.name)
            return eventbridge.transform(
                fact.event, rule.input_transformer.input_paths, rule.input_transformer.template, rule_name=t.name,
                rule_arn=arn, ingestion_time=fact.ingestion_time,
            )  # fmt: skip
        return fact.event
