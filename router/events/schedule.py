"""The EventBridge "Scheduled Event" a schedule rule sends to its Lambda target.

Source: Lambda developer guide, "Using AWS Lambda with Amazon EventBridge (CloudWatch
Events)", example scheduled event. A target's constant ``Input`` replaces the whole event.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, TypedDict

RULE_NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")  # EventBridge PutRule: Name pattern

ScheduledEvent = TypedDict(
    "ScheduledEvent",
    {
        "version": str,
        "id": str,
        "detail-type": str,
        "source": str,
        "account": str,
        "time": str,
        "region": str,
        "resources": list[str],
        "detail": dict[str, Any],
    },
)


def rule_arn(rule: str, *, region: str, account: str) -> str:
    """The rule's ARN; ``rule`` is a rule name or already an ARN."""
    if rule.startswith("arn:"):
        return rule
    if not RULE_NAME.match(rule):
        raise ValueError(f"bad rule name {rule!r}: 1 to 64 characters from letters, digits, '.', '-', '_'")
    return f"arn:aws:events:{region}:{account}:rule/{rule}"


def build_event(*, rule: str, region: str, account: str, time: float, event_id: str) -> ScheduledEvent:
    """The Scheduled Event for one firing at ``time`` (epoch seconds; the fraction is dropped)."""
    if not re.fullmatch(r"\d{12}", account):
        raise ValueError(f"bad account {account!r}: expected 12 digits")
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": event_time_text(time),
        "region": region,
        "resources": [rule_arn(rule, region=region, account=account)],
        "detail": {},
    }


def build_payload(*, input: Any = None, **kwargs: Any) -> Any:
    """What the target receives: the constant ``input`` when the trigger has one, else the event."""
    return input if input is not None else build_event(**kwargs)


def event_time_text(time: float) -> str:
    """``2019-03-01T01:23:45Z``: UTC, whole seconds."""
    return datetime.fromtimestamp(int(time // 1), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
