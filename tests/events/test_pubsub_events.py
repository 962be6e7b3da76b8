"""SNS and EventBridge events as AWS sends them (router.events.sns / eventbridge), validated
with aws-lambda-powertools' parser models; input transformation per the EventBridge guide."""

from __future__ import annotations

import json
from pathlib import Path

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsModel

from router.events import eventbridge as eb
from router.events import sns

EC2 = eb.event(event_id="7bf73129-1428-4cd3-a780-95db273d1602", source="aws.ec2",
               detail_type="EC2 Instance State-change Notification", account="123456789012",
               time="2015-11-11T21:29:54Z", region="us-east-1",
               resources=["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
               detail={"instance-id": "i-0123456789", "state": "RUNNING"})  # fmt: skip


def test_sns_event_validates() -> None:
    topic = sns.topic_arn("us-east-1", "123456789012", "orders")
    sub = sns.subscription_arn(topic, "t1")
    assert sub.startswith(topic + ":") and sub == sns.subscription_arn(topic, "t1")
    attrs = sns.lambda_attributes({"n": {"DataType": "Number", "StringValue": "3"},
                                   "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})  # fmt: skip
    assert attrs == {"n": {"Type": "Number", "Value": "3"}, "b": {"Type": "Binary", "Value": "AAE="}}
    body = sns.notification(message_id="95df01b4-ee98-5cb9-9903-4c221d41eb5e", topic=topic, message="hi",
                            subject=None, timestamp=1546433107.0, attributes=attrs, region="us-east-1",
                            subscription=sub)  # fmt: skip
    event = sns.event(body, sub)
    model = SnsModel.model_validate(event)
    record = event["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["Sns"]["Subject"] is None and record["Sns"]["Timestamp"] == "2019-01-02T12:45:07.000Z"
    assert model.Records[0].Sns.Message == "hi"
    assert sns.policy_view(attrs) == {"n": 3}  # binary attributes are not matched


def test_eventbridge_event_validates() -> None:
    model = EventBridgeModel.model_validate(EC2)
    assert model.detail_type == "EC2 Instance State-change Notification"
    assert list(EC2) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]


def test_put_events_entry_errors() -> None:
    ok = {"Source": "app", "DetailType": "t", "Detail": '{"a": 1}'}
    assert eb.entry_error(ok) is None
    malformed = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert eb.entry_error({**ok, "Detail": "{nope"}) == malformed
    assert eb.entry_error({**ok, "Detail": "[1]"})["ErrorCode"] == "MalformedDetail"  # type: ignore[index]
    big = eb.entry_error({**ok, "Detail": json.dumps({"x": "y" * eb.MAX_ENTRY_BYTES})})
    assert big is not None and big["ErrorCode"] == "InvalidArgument" and "256 KB" in big["ErrorMessage"]
    assert eb.entry_error({**ok, "Source": ""})["ErrorMessage"].startswith("Parameter Source")  # type: ignore[index]


def test_input_path_and_transformer_as_the_guide_shows() -> None:
    # EventBridge user guide, "Amazon EventBridge input transformation", "Input transform examples"
    paths = {"instance": "$.detail.instance-id", "state": "$.detail.state"}
    kw = {"rule_name": "r", "rule_arn": "arn:aws:events:us-east-1:123456789012:rule/r", "ingestion_time": "t"}
    assert eb.input_path(EC2, "$.detail") == EC2["detail"]
    assert eb.input_path(EC2, "$.resources[0]") == EC2["resources"][0]
    assert eb.input_path(EC2, "$.detail.nope") is None
    text = "instance i-0123456789 is in RUNNING"
    assert eb.transform(EC2, paths, '"instance <instance> is in <state>"', **kw) == text
    assert eb.transform(EC2, paths, "instance <instance> is in <state>", **kw) == text
    out = eb.transform(EC2, paths, '{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}', **kw)
    assert out == {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"}
    template = '{"myStatus": "<instance> is in state \\"<state>\\"", "rule": "<aws.events.rule-name>"}'
    out = eb.transform(EC2, paths, template, **kw)
    assert out == {"myStatus": 'i-0123456789 is in state "RUNNING"', "rule": "r"}
    out = eb.transform(EC2, {}, '{"e": <aws.events.event.json>, "m": <aws.events.event>}', **kw)
    assert out["e"] == EC2 and "detail" not in out["m"] and out["m"]["id"] == EC2["id"]
    assert eb.template_problem(paths, "<instance> <other>") is not None
    assert eb.template_problem({"x": "detail.a"}, "<x>") is not None
    assert eb.template_problem(paths, "<instance> <aws.events.rule-arn>") is None


def test_destination_event() -> None:
    record = {"version": "1.0", "requestContext": {"condition": "Success"}}
    e = eb.destination_event(event_id="1", record=record, success=False, function_arn="arn:fn", bus="default",
                             account="123456789012", region="us-east-1", time="2026-01-01T00:00:00Z")  # fmt: skip
    assert e["source"] == "lambda" and e["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert e["detail"] == record
    EventBridgeModel.model_validate(e)


CLI_CONFIG = """
functions:
  f: {handler: app.handler, runtime: python3.11}
resources:
  topics: {orders: {}}
triggers:
  - {name: picky, function: f, sns: {topic: orders, filter_policy: {store: [x]}}}
  - {name: rule, function: f, eventbridge: {pattern: {source: [shop]},
                                            input_transformer: {input_paths: {id: "$.detail.id"}, template: "id <id>"}}}
"""


def test_cli_sns_and_eventbridge(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from router.cli.event import event_command

    runner = CliRunner()
    out = runner.invoke(event_command, ["sns", "--message", "m", "--attribute", "n=2", "--attribute", "s=x"])
    assert out.exit_code == 0, out.output
    event = json.loads(out.output)
    SnsModel.model_validate(event)
    assert event["Records"][0]["Sns"]["MessageAttributes"] == {"n": {"Type": "Number", "Value": "2"},
                                                              "s": {"Type": "String", "Value": "x"}}  # fmt: skip
    out = runner.invoke(event_command, ["eventbridge", "--source", "s", "--detail-type", "T", "--detail", '{"a": 1}'])
    assert out.exit_code == 0, out.output
    assert EventBridgeModel.model_validate(json.loads(out.output)).detail == {"a": 1}
    bad = runner.invoke(event_command, ["eventbridge", "--detail", "[1]"])
    assert bad.exit_code == 2 and "MalformedDetail" in bad.output
    bad = runner.invoke(event_command, ["sns", "--attribute", "nope"])
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.output
    (tmp_path / "triggers.yaml").write_text(CLI_CONFIG)
    config = ["-c", str(tmp_path / "triggers.yaml")]
    out = runner.invoke(event_command, ["eventbridge", *config, "--trigger", "rule", "--detail", '{"id": 7}'])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == "id 7"
    bad = runner.invoke(event_command, ["eventbridge", *config, "--trigger", "rule", "--source", "other"])
    assert bad.exit_code == 2 and "does not match the pattern of trigger rule" in bad.output
    out = runner.invoke(event_command, ["sns", *config, "--trigger", "picky", "--attribute", "store=x"])
    assert json.loads(out.output)["Records"][0]["Sns"]["TopicArn"].endswith(":orders")
    bad = runner.invoke(event_command, ["sns", *config, "--trigger", "picky"])
    assert bad.exit_code == 2 and "filter policy (MessageAttributes) drops this message" in bad.output


def test_a_destination_record_over_256_kb_drops_its_payloads() -> None:
    from router.aws_pubsub import DESTINATION_LIMIT, _fit

    small = {"version": "1.0", "requestContext": {"condition": "Success"}, "requestPayload": 1, "responsePayload": 2}
    assert json.loads(_fit(small)) == small
    big = {**small, "requestPayload": "x" * DESTINATION_LIMIT}
    assert json.loads(_fit(big)) == {"version": "1.0", "requestContext": {"condition": "Success"}}
