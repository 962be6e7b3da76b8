from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from router.events import schedule

from .conftest import key_differences, load_fixture


def test_matches_the_aws_documentation_example() -> None:
    expected = load_fixture("schedule.json")["event"]
    when = datetime(2019, 3, 1, 1, 23, 45, 678000, tzinfo=UTC).timestamp()  # the fraction is dropped
    ours = schedule.build_event(rule="my-schedule", region="us-east-2", account="123456789012", time=when,
                                event_id="cdc73f9d-aea9-11e3-9d5a-835b769c0d9c")  # fmt: skip
    assert key_differences(ours, expected) == []
    assert ours == expected
    parsed = EventBridgeModel.model_validate(ours)
    assert parsed.detail_type == "Scheduled Event" and parsed.source == "aws.events"


def test_rule_arn_is_kept_and_names_are_checked() -> None:
    arn = "arn:aws:events:eu-west-1:111122223333:rule/nightly"
    event = schedule.build_event(rule=arn, region="eu-west-1", account="111122223333", time=0, event_id="x")
    assert event["resources"] == [arn] and event["time"] == "1970-01-01T00:00:00Z"
    with pytest.raises(ValueError, match="bad rule name 'no spaces'"):
        schedule.rule_arn("no spaces", region="us-east-1", account="123456789012")
    with pytest.raises(ValueError, match="bad account '42'"):
        schedule.build_event(rule="r", region="us-east-1", account="42", time=0, event_id="x")


def test_a_constant_input_replaces_the_whole_event() -> None:
    args = dict(rule="r", region="us-east-1", account="123456789012", time=0.0, event_id="x")
    assert schedule.build_payload(input={"kind": "nightly"}, **args) == {"kind": "nightly"}
    assert schedule.build_payload(input=None, **args)["detail-type"] == "Scheduled Event"
