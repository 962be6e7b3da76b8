"""``router event sns`` and ``router event eventbridge`` (registered on ``router event``).

    $ router event sns --message '{"id": 1}' --subject hi --attribute store=example_corp
    $ router event eventbridge --source shop --detail-type 'Order Placed' --detail '{"id": 1}'
    $ router -c triggers.yaml event eventbridge --trigger orders --detail '{"id": 1}'   # input shaping too
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import click

from ..config import declared_topic
from ..events import eventbridge, sns
from .event import _emit, _setting, common_options, event_command

_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@event_command.command("sns")
@click.option("--message", default="Hello from SNS!", show_default=True, help="The message (any text).")
@click.option("--subject", default=None, help="The subject (null when not given).")
@click.option("--attribute", "attributes", multiple=True, metavar="K=V",
              help="A message attribute (String; a number is a Number). Repeatable.")  # fmt: skip
@click.option("--topic", default=None, help="Topic name (default: the trigger's, else example-topic).")
@common_options
def sns_command(message: str, subject: str | None, attributes: tuple[str, ...], topic: str | None,
                **common: Any) -> None:  # fmt: skip
    """An SNS notification as SNS delivers it to a subscribed function (Records[], aws:sns)."""
    st = _setting("sns", **common)
    src = st.trigger.sns if st.trigger else None
    if topic is not None and src is not None and topic != src.topic:
        raise click.BadParameter(f"the trigger subscribes to topic {src.topic!r}", param_hint="--topic")
    name = topic or (src.topic if src else "example-topic")
    name = (declared_topic(st.config, name) if st.config else None) or name
    if not _TOPIC.match(name.removesuffix(".fifo")):
        raise click.BadParameter(f"{name!r}: a topic name has 1-256 of A-Z a-z 0-9 _ -", param_hint="--topic")
    if subject is not None and not 1 <= len(subject) < 100:  # Publish: Subject under 100 characters
        raise click.BadParameter("a subject has 1 to 99 characters", param_hint="--subject")
    if src is not None and src.filter_policy is not None:
        from ..filters import matches

        body_scope = src.filter_policy_scope == "MessageBody"
        view = sns.body_view(message) if body_scope else sns.policy_view(_attributes(attributes))
        if view is None or not matches(src.filter_policy, view):
            where = "--message" if body_scope else "--attribute"
            raise click.UsageError(f"the subscription's filter policy ({src.filter_policy_scope}) drops this message: "
                                   f"{json.dumps(src.filter_policy)}: give a {where} it accepts")  # fmt: skip
    arn = sns.topic_arn(st.region, st.account, name)
    sub = sns.subscription_arn(arn, st.trigger.name if st.trigger else "example")
    body = sns.notification(message_id=str(uuid.uuid4()), topic=arn, message=message, subject=subject,
                            timestamp=time.time(), attributes=_attributes(attributes), region=st.region,
                            subscription=sub)  # fmt: skip
    _emit(sns.event(body, sub))


def _attributes(pairs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]{1,256}", key):
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE (a name of A-Z a-z 0-9 _ - .)",
                                     param_hint="--attribute")  # fmt: skip
        if key in out:
            raise click.BadParameter(f"attribute {key!r} given twice", param_hint="--attribute")
        number = re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
        out[key] = {"Type": "Number" if number else "String", "Value": value}
    return out


@event_command.command("eventbridge")
@click.option("--source", default=None, help="The event's source (default: the trigger pattern's, else my.app).")
@click.option("--detail-type", default=None,
              help="The event's detail-type (default: the trigger pattern's, else Example Event).")
@click.option("--detail", default="{}", show_default=True, help="The detail: a JSON object.")
@click.option("--resource", "resources", multiple=True, metavar="ARN", help="An ARN for resources. Repeatable.")
@common_options
def eventbridge_command(source: str | None, detail_type: str | None, detail: str, resources: tuple[str, ...],
                        **common: Any) -> None:  # fmt: skip
    """An EventBridge event as a rule's Lambda target gets it; with --trigger, shaped by the
    trigger's input / input_path / input_transformer (and refused when its pattern does not match)."""
    st = _setting("eventbridge", **common)
    rule = st.trigger.eventbridge if st.trigger else None
    detail_type = detail_type or _literal(rule, "detail-type") or "Example Event"
    error = eventbridge.entry_error({"Source": source or "x", "DetailType": detail_type, "Detail": detail})
    if error is not None:
        raise click.BadParameter(f"{error['ErrorCode']}: {error['ErrorMessage']}", param_hint="--detail")
    event = eventbridge.event(
        event_id=str(uuid.uuid4()), source=source or _literal(rule, "source") or "my.app", detail_type=detail_type,
        detail=json.loads(detail), account=st.account, region=st.region, time=eventbridge.iso_seconds(time.time()),
        resources=list(resources),
    )  # fmt: skip
    if rule is None or st.trigger is None:
        _emit(event)
        return
    from ..filters import matches

    if not matches(rule.pattern, event):
        raise click.UsageError(f"the event does not match the pattern of trigger {st.trigger.name}, "
                               f"{json.dumps(rule.pattern)}: give --source, --detail-type and --detail that do")
    _emit(_shaped(st.trigger.name, rule, event, st.region, st.account))


def _literal(rule: Any, key: str) -> str | None:
    """The first plain string a pattern lists for a top-level key (``source: [shop]``)."""
    values = rule.pattern.get(key) if rule is not None else None
    return next((v for v in values if isinstance(v, str)), None) if isinstance(values, list) else None


def _shaped(name: str, rule: Any, event: dict[str, Any], region: str, account: str) -> Any:
    if rule.input is not None:
        return rule.input
    if rule.input_path is not None:
        return eventbridge.input_path(event, rule.input_path)
    if rule.input_transformer is not None:
        t = rule.input_transformer
        return eventbridge.transform(event, t.input_paths, t.template, rule_name=name,
                                     rule_arn=eventbridge.rule_arn(region, account, rule.bus, name),
                                     ingestion_time=event["time"])  # fmt: skip
    return event
