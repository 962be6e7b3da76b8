"""SNS and EventBridge triggers through the whole router (embedded moto, dispatcher, real
Python and Node workers): Publish -> each matching subscription, filter policies of both
scopes, SNS -> SQS fan-out into an sqs trigger (raw and enveloped), PutEvents -> rules with
the pattern operators, input / input_path / input_transformer, per-entry errors, and async
destinations to a topic and a bus; events validated against powertools' models."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsModel

from router import Router

pytestmark = pytest.mark.slow

HANDLERS = '''
def echo(event, context):
    return event

def fail(event, context):
    raise ValueError("no " + str(event.get("n")))
'''

NODE = '''
exports.handler = async (event) => event;
'''

CONFIG = """
version: 1
settings: {region: eu-west-2, aws: {port: 0}}
functions:
  echo: {handler: handlers.echo}
  node: {handler: nodeh.handler, runtime: nodejs22.x}
  body: {handler: handlers.echo}
  eb: {handler: handlers.echo}
  ebnode: {handler: nodeh.handler, runtime: nodejs22.x}
  fanout: {handler: handlers.echo}
  fail: {handler: handlers.fail, async: {retries: 0, retry_delays: [0], on_failure: {topic: results}}}
  ok: {handler: handlers.echo, async: {on_success: {bus: app-bus}}}
  seen: {handler: handlers.echo}
  more: {handler: nodeh.handler, runtime: nodejs22.x}
resources:
  topics: {orders: {}, results: {}}
  buses: [app-bus]
  queues: {fan: {}, rawfan: {}}
triggers:
  - {name: all-orders, function: echo, sns: orders}
  - {name: big-orders, function: node,
     sns: {topic: orders, filter_policy: {price: [{numeric: [">=", 100]}], store: [{prefix: "ex"}]}}}
  - {name: body-orders, function: body,
     sns: {topic: orders, filter_policy_scope: MessageBody,
           filter_policy: {kind: [{anything-but: [test]}], n: [{numeric: [">", 0]}]}}}
  - {name: failed-records, function: seen, sns: results}
  - {name: more-orders, function: more,
     sns: {topic: orders, filter_policy: {ip: [{cidr: 10.0.0.0/8}], file: [{suffix: .png}],
                                          kind: [{equals-ignore-case: ORDER}], coupon: [{exists: false}]}}}
  - {name: fan, function: fanout, sqs: fan}
  - {name: rawfan, function: fanout, sqs: rawfan}
  - {name: eb-whole, function: eb, eventbridge: {pattern: {source: [shop], detail: {n: [{numeric: [">", 1]}]}}}}
  - {name: eb-path, function: eb,
     eventbridge: {bus: app-bus, pattern: {source: [{prefix: "sh"}], detail-type: [path]}, input_path: "$.detail"}}
  - {name: eb-transform, function: ebnode,
     eventbridge: {bus: app-bus, pattern: {detail-type: [{equals-ignore-case: "ORDER"}]},
                   input_transformer: {input_paths: {id: "$.detail.id"},
                                       template: '{"order": <id>, "rule": "<aws.events.rule-name>"}'}}}
  - {name: eb-const, function: eb,
     eventbridge: {bus: app-bus, pattern: {source: [{wildcard: "cron.*"}],
                   "$or": [{detail: {ip: [{cidr: "10.0.0.0/8"}]}}, {detail: {x: [{exists: true}]}}]},
                   input: {fixed: true}}}
  - {name: eb-dest, function: seen, eventbridge: {bus: app-bus, pattern: {source: [lambda]}}}
  - {name: eb-more, function: eb,
     eventbridge: {pattern: {source: [{anything-but: [shop, web]}], detail-type: [{suffix: done}]}}}
"""


@pytest.fixture()
def r(tmp_path: Path) -> Iterator[Router]:
    root = tmp_path
    (root / "handlers.py").write_text(HANDLERS)
    (root / "nodeh.js").write_text(NODE)
    (root / "triggers.yaml").write_text(textwrap.dedent(CONFIG).lstrip())
    with Router(root / "triggers.yaml") as router:
        yield router


def test_publish_reaches_each_matching_subscription(r: Router) -> None:
    message_id = r.publish("orders", "hello", price=150, store="example_corp")
    inv = r.wait("echo", timeout=30)
    assert inv.ok and inv.source == "sns" and inv.trigger == "all-orders"
    event = SnsModel.model_validate(inv.event)
    sns = inv.event["Records"][0]["Sns"]
    assert sns["MessageId"] == message_id and sns["Message"] == "hello" and sns["Subject"] is None
    assert sns["TopicArn"] == "arn:aws:sns:eu-west-2:123456789012:orders"
    assert sns["MessageAttributes"]["price"] == {"Type": "Number", "Value": "150"}
    assert event.Records[0].EventSubscriptionArn.startswith(sns["TopicArn"] + ":")
    node = r.wait("node", timeout=30)  # the attribute policy matches (numeric and prefix)
    assert node.ok and node.result["Records"][0]["Sns"]["MessageId"] == message_id

    r.publish("orders", "cheap", price=5, store="example_corp")  # only the unfiltered subscription
    r.publish("orders", json.dumps({"kind": "real", "n": 2}), subject="s")  # body scope matches
    r.publish("orders", json.dumps({"kind": "test", "n": 2}))  # anything-but drops it
    got = r.wait("echo", count=3, timeout=30)
    assert [g.event["Records"][0]["Sns"]["Message"] for g in got][0] == "cheap"
    body = r.wait("body", timeout=30)
    assert json.loads(body.event["Records"][0]["Sns"]["Message"]) == {"kind": "real", "n": 2}
    assert body.event["Records"][0]["Sns"]["Subject"] == "s"
    assert len(r.invocations("node")) == 1 and len(r.invocations("body")) == 1
    # suffix, cidr, equals-ignore-case and exists (false) together; then one attribute off each time
    good = {"ip": "10.1.2.3", "file": "a.png", "kind": "Order"}
    r.publish("orders", "all four", **good)
    for bad in ({"ip": "192.168.1.1"}, {"file": "a.jpg"}, {"kind": "other"}, {"coupon": "x"}):
        r.publish("orders", f"not {bad}", **{**good, **bad})
    assert r.wait("more", timeout=30).result["Records"][0]["Sns"]["Message"] == "all four"
    r.wait("echo", count=5, timeout=30)  # the unfiltered subscription got all five
    assert len(r.invocations("more")) == 1
    r.aws.client("sns").publish_batch(TopicArn="arn:aws:sns:eu-west-2:123456789012:orders", PublishBatchRequestEntries=[
        {"Id": "a", "Message": "b1"}, {"Id": "b", "Message": "b2"}])  # fmt: skip
    batch = r.wait("echo", count=2, timeout=30)
    assert sorted(b.event["Records"][0]["Sns"]["Message"] for b in batch) == ["b1", "b2"]


def test_sns_to_sqs_fan_out_honours_raw_delivery(r: Router) -> None:
    sns, sqs = r.aws.client("sns"), r.aws.client("sqs")
    topic = "arn:aws:sns:eu-west-2:123456789012:orders"
    for queue, raw in (("fan", "false"), ("rawfan", "true")):
        arn = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"],
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]  # fmt: skip
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": raw})
    r.publish("orders", "to queues", store="x")
    got = r.wait("fanout", count=2, timeout=30)
    bodies = {g.trigger: g.event["Records"][0]["body"] for g in got}
    assert bodies["rawfan"] == "to queues"
    envelope = json.loads(bodies["fan"])
    assert envelope["Type"] == "Notification" and envelope["Message"] == "to queues"
    r.wait("echo", timeout=30)


def test_put_events_rules_and_inputs(r: Router) -> None:
    event_id = r.put_event("shop", "order placed", {"n": 2})
    inv = r.wait("eb", trigger="eb-whole", timeout=30)
    model = EventBridgeModel.model_validate(inv.event)
    assert inv.source == "eventbridge" and inv.event["id"] == event_id and model.detail == {"n": 2}
    assert inv.event["region"] == "eu-west-2" and inv.event["version"] == "0"
    r.put_event("shop", "order placed", {"n": 1})  # numeric > 1: no match
    r.put_event("shop", "path", {"n": 5, "deep": {"a": 1}}, bus="app-bus")
    assert r.wait("eb", trigger="eb-path", timeout=30).event == {"n": 5, "deep": {"a": 1}}
    r.put_event("web", "Order", {"id": 7}, bus="app-bus")
    assert r.wait("ebnode", timeout=30).result == {"order": 7, "rule": "eb-transform"}
    r.put_event("cron.nightly", "tick", {"ip": "10.1.2.3"}, bus="app-bus")
    r.put_event("cron.nightly", "tick", {"ip": "192.168.0.1"}, bus="app-bus")  # neither $or branch
    r.put_event("cron.hourly", "tick", {"x": 1}, bus="app-bus")
    consts = r.wait("eb", trigger="eb-const", count=2, timeout=30)
    assert [c.event for c in consts] == [{"fixed": True}, {"fixed": True}]
    r.put_event("shop", "job done", {})  # anything-but: not from shop
    r.put_event("batch", "job done", {"k": 1})
    assert r.wait("eb", trigger="eb-more", timeout=30).event["detail"] == {"k": 1}
    assert len(r.invocations("eb")) == 5


def test_put_events_per_entry_errors(r: Router) -> None:
    events = r.aws.client("events")
    answer = events.put_events(Entries=[
        {"Source": "shop", "DetailType": "x", "Detail": "{not json"},
        {"Source": "shop", "DetailType": "x", "Detail": json.dumps({"n": 9})},
        {"Source": "shop", "DetailType": "x", "Detail": json.dumps({"big": "y" * 262_144})},
    ])  # fmt: skip
    entries = answer["Entries"]
    assert answer["FailedEntryCount"] == 2
    assert entries[0] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert "EventId" in entries[1] and entries[2]["ErrorCode"] == "InvalidArgument"
    assert r.wait("eb", trigger="eb-whole", timeout=30).event["id"] == entries[1]["EventId"]
    with pytest.raises(ValueError, match="MalformedDetail"):
        r.put_event("shop", "x", "[1, 2")


def test_destinations_to_a_topic_and_a_bus(r: Router) -> None:
    r.invoke_async("fail", {"n": 3})
    seen = r.wait("seen", trigger="failed-records", timeout=30)
    record = json.loads(seen.event["Records"][0]["Sns"]["Message"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"n": 3} and record["responsePayload"]["errorMessage"] == "no 3"
    r.invoke_async("ok", {"k": 1})
    dest = r.wait("seen", trigger="eb-dest", timeout=30).event
    EventBridgeModel.model_validate(dest)
    assert dest["source"] == "lambda" and dest["detail-type"] == "Lambda Function Invocation Result - Success"
    assert dest["detail"]["requestPayload"] == {"k": 1} and dest["detail"]["responsePayload"] == {"k": 1}
    assert dest["resources"][-1].endswith(":function:ok:$LATEST")


LOOPER = '''
import os
import boto3

def handler(event, context):
    sns = boto3.client("sns", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    topic = event["Records"][0]["Sns"]["TopicArn"]
    sns.publish(TopicArn=topic, Message="again")
    return "published"
'''


def test_a_loop_through_sns_stops_after_16(tmp_path: Path) -> None:
    # Lambda recursive loop detection covers SNS (Lambda developer guide, "Use Lambda recursive loop detection")
    (tmp_path / "looper.py").write_text(LOOPER)
    (tmp_path / "triggers.yaml").write_text(textwrap.dedent(f"""
        settings: {{aws: {{port: 0}}}}
        functions:
          looper: {{handler: looper.handler, timeout: 10, async: {{on_failure: {{dir: {tmp_path}/failed}}}}}}
        resources: {{topics: {{loop: {{}}}}}}
        triggers:
          - {{function: looper, sns: loop}}
        """).lstrip())  # fmt: skip
    with Router(tmp_path / "triggers.yaml") as r:
        r.publish("loop", "start")
        runs = r.wait("looper", count=16, timeout=60)
        assert all(inv.ok for inv in runs) and runs[1].extra["cause"]["function"] == "looper"
        deadline = time.monotonic() + 30
        while not list((tmp_path / "failed").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (record,) = list((tmp_path / "failed").glob("*.json"))
        assert "RecursiveInvocationException" in record.read_text()
        assert len(r.invocations("looper")) == 16
