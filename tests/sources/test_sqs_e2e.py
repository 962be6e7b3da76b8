"""SQS triggers through the whole router (``Router``: embedded moto, dispatcher, real Python
and Node workers): delivery and deletion, batching windows, retries through the visibility
timeout and the redrive to a dead-letter queue, partial batch responses, FIFO order per
group, filters; events validated against powertools' SqsModel."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SqsModel

from router import Router

pytestmark = pytest.mark.slow

HANDLERS = '''
import json

def echo(event, context):
    return [r["body"] for r in event["Records"]]

def fail(event, context):
    raise ValueError("no")

def partial(event, context):
    """Answers what each body says: {"answer": ...} for the whole batch."""
    for r in event["Records"]:
        body = json.loads(r["body"])
        if "answer" in body:
            answer = body["answer"]
            return answer["bytes"].encode() if isinstance(answer, dict) and "bytes" in answer else answer
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                  if json.loads(r["body"]).get("fail")]}

def fifo(event, context):
    """A bad message fails on its first receive; it and the rest of its group are returned."""
    stopped, failures = set(), []
    for r in event["Records"]:
        group = r["attributes"]["MessageGroupId"]
        if group in stopped or (r["body"].startswith("bad") and r["attributes"]["ApproximateReceiveCount"] == "1"):
            stopped.add(group)
            failures.append({"itemIdentifier": r["messageId"]})
    return {"batchItemFailures": failures}
'''

NODE = '''
exports.handler = async (event) => event.Records.map((r) => [r.body, r.messageAttributes.kind?.stringValue ?? null]);
exports.partial = async (event) => ({
  batchItemFailures: event.Records.filter((r) => JSON.parse(r.body).fail).map((r) => ({itemIdentifier: r.messageId})),
});
'''

CONFIG = """
version: 1
settings: {region: eu-west-2, aws: {port: 0}}
functions:
  echo: {handler: handlers.echo}
  node: {handler: nodeh.handler, runtime: nodejs22.x}
  fail: {handler: handlers.fail}
  partial: {handler: handlers.partial}
  nodepartial: {handler: nodeh.partial, runtime: nodejs22.x}
  fifo: {handler: handlers.fifo, concurrency: 4}
resources:
  queues:
    jobs: {}
    nodeq: {}
    nodeparts: {visibility_timeout: 2}
    windowed: {}
    flaky: {visibility_timeout: 1, redrive: {dead_letter: flaky-dlq, max_receive_count: 2}}
    flaky-dlq: {}
    parts: {visibility_timeout: 2}
    ordered: {fifo: true, visibility_timeout: 1, content_based_deduplication: true}
    picky: {}
triggers:
  - {name: jobs-echo, function: echo, sqs: jobs}
  - {name: node-q, function: node, sqs: nodeq}
  - {name: windowed-echo, function: echo, sqs: {queue: windowed, batch_size: 50, batching_window: 1}}
  - {name: flaky-fail, function: fail, sqs: flaky}
  - {name: parts, function: partial,
     sqs: {queue: parts, report_batch_item_failures: true, batch_size: 3, batching_window: 1}}
  - {name: nodeparts, function: nodepartial,
     sqs: {queue: nodeparts, report_batch_item_failures: true, batch_size: 3, batching_window: 1}}
  - {name: ordered, function: fifo, sqs: {queue: ordered, report_batch_item_failures: true}}
  - {name: picky, function: echo, sqs: {queue: picky, filter: [{body: {kind: [order]}}, {body: [{prefix: "hi "}]}]}}
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    (tmp_path / "nodeh.js").write_text(NODE)
    (tmp_path / "triggers.yaml").write_text(textwrap.dedent(CONFIG).lstrip())
    return tmp_path


def _url(r: Router, name: str) -> str:
    return str(r.aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def _count(r: Router, name: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attrs = r.aws.client("sqs").get_queue_attributes(QueueUrl=_url(r, name), AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _until(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {check}")
        time.sleep(0.05)


def test_delivery_and_deletion_python_and_node(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        sqs = r.aws.client("sqs")
        sqs.send_message(QueueUrl=_url(r, "jobs"), MessageBody="hello",
                         MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}})
        inv = r.wait("echo", timeout=30)
        assert inv.ok and inv.result == ["hello"] and inv.source == "sqs" and inv.trigger == "jobs-echo"
        event = parse(event=inv.event, model=SqsModel)
        rec = event.Records[0]
        assert rec.eventSource == "aws:sqs" and rec.awsRegion == "eu-west-2"
        assert rec.eventSourceARN == "arn:aws:sqs:eu-west-2:123456789012:jobs"
        assert rec.attributes.ApproximateReceiveCount == "1"
        assert rec.messageAttributes["kind"].stringValue == "greeting"
        raw = inv.event["Records"][0]
        assert raw["messageAttributes"]["kind"] == {"stringValue": "greeting", "stringListValues": [],
                                                    "binaryListValues": [], "dataType": "String"}
        assert raw["md5OfBody"] == "5d41402abc4b2a76b9719d911017c592"
        assert inv.extra["batch"]["deleted"] == 1
        _until(lambda: _count(r, "jobs") == (0, 0))

        message_id = r.send("nodeq", "from node", kind="js")
        node = r.wait("node", timeout=30)
        assert node.event["Records"][0]["messageId"] == message_id
        assert node.ok and node.result == [["from node", "js"]]
        parse(event=node.event, model=SqsModel)
        banner = [line for line in r.app.banner() if line.startswith("sqs")]
        assert any("flaky  standard  batch 10" in b and "DLQ flaky-dlq after 2 receives" in b for b in banner)

        r.send("ordered", {"n": 1}, group_id="g", n=1)  # a FIFO queue by its key; a JSON body
        fifo = r.wait("fifo", timeout=30)
        assert fifo.event["Records"][0]["body"] == '{"n": 1}'
        assert fifo.event["Records"][0]["messageAttributes"]["n"]["dataType"] == "Number"
        with pytest.raises(ValueError, match="FIFO queue: send"):
            r.send("ordered", "x")
        with pytest.raises(ValueError, match="no queue 'nope'"):
            r.send("nope", "x")


def test_a_batching_window_gathers_messages(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        url = _url(r, "windowed")
        sqs = r.aws.client("sqs")
        for n in range(3):
            entries = [{"Id": str(i), "MessageBody": f"m{n}-{i}"} for i in range(10)]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        invs = [r.wait("echo", timeout=30)]
        got = list(invs[0].result)
        while len(got) < 30:
            invs.append(r.wait("echo", timeout=30))
            got += invs[-1].result
        assert sorted(got) == sorted(f"m{n}-{i}" for n in range(3) for i in range(10))
        assert len(invs) < 30 and max(len(i.result) for i in invs) > 10  # batches beyond one receive's 10


def test_failures_come_back_after_the_visibility_timeout_then_go_to_the_dead_letter_queue(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        r.aws.client("sqs").send_message(QueueUrl=_url(r, "flaky"), MessageBody="poison")
        first, second = r.wait("fail", count=2, timeout=30)
        assert [first.event["Records"][0]["attributes"]["ApproximateReceiveCount"],
                second.event["Records"][0]["attributes"]["ApproximateReceiveCount"]] == ["1", "2"]
        assert first.extra["batch"]["failed"] == "all" and first.extra["batch"]["deleted"] == 0
        assert second.attempt == 2
        _until(lambda: _count(r, "flaky-dlq")[0] == 1)
        assert _count(r, "flaky") == (0, 0)
        assert len(r.invocations("fail")) == 2  # max_receive_count 2: received twice, then redriven


@pytest.mark.parametrize(
    ("answer", "returned"),
    [
        ({"batchItemFailures": []}, set()),  # an empty list: complete success
        ({"batchItemFailures": None}, set()),  # null: complete success
        (None, set()),  # a null response: complete success
        ({"batchItemFailures": [{"itemIdentifier": "nope"}]}, {"a", "b", "c"}),  # unknown id: all fail
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b", "c"}),  # empty id: all fail
        ({"batchItemFailures": [{"id": "x"}]}, {"a", "b", "c"}),  # a bad key name: all fail
        ({"bytes": '{"batchItemFailures": []}'}, set()),  # a Python handler's bytes, read as JSON (issue 19)
        ({"bytes": "not json"}, {"a", "b", "c"}),  # "an invalid JSON response": all fail
    ],
)
def test_partial_batch_response_rules(project: Path, answer: Any, returned: set[str]) -> None:
    with Router(project / "triggers.yaml") as r:
        url = _url(r, "parts")
        entries = [{"Id": "a", "MessageBody": json.dumps({"name": "a", "answer": answer})},
                   {"Id": "b", "MessageBody": json.dumps({"name": "b"})},
                   {"Id": "c", "MessageBody": json.dumps({"name": "c"})}]
        r.aws.client("sqs").send_message_batch(QueueUrl=url, Entries=entries)
        first = r.wait("partial", timeout=30)
        names = {json.loads(rec["body"])["name"] for rec in first.event["Records"]}
        assert names == {"a", "b", "c"}, "one batch of three"
        if not returned:
            assert "failed" not in first.extra["batch"] and first.extra["batch"]["deleted"] == 3
            _until(lambda: _count(r, "parts") == (0, 0))
        else:
            assert first.extra["batch"]["failed"] == "all"
            again = r.wait("partial", timeout=30)  # back after the visibility timeout (1 s)
            assert {json.loads(rec["body"])["name"] for rec in again.event["Records"]} == returned


@pytest.mark.parametrize(("function", "queue"), [("partial", "parts"), ("nodepartial", "nodeparts")])
def test_only_the_listed_messages_return(project: Path, function: str, queue: str) -> None:
    with Router(project / "triggers.yaml") as r:
        entries = [{"Id": n, "MessageBody": json.dumps({"name": n, "fail": n == "b"})} for n in "abc"]
        r.aws.client("sqs").send_message_batch(QueueUrl=_url(r, queue), Entries=entries)
        first = r.wait(function, timeout=30)
        assert len(first.event["Records"]) == 3
        failed_id = next(rec["messageId"] for rec in first.event["Records"] if json.loads(rec["body"])["name"] == "b")
        assert first.extra["batch"]["failed"] == [failed_id] and first.extra["batch"]["deleted"] == 2
        again = r.wait(function, timeout=30)
        assert [json.loads(rec["body"])["name"] for rec in again.event["Records"]] == ["b"]
        assert again.event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_fifo_keeps_order_per_group_and_a_failure_blocks_only_its_group(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        url = _url(r, "ordered.fifo")
        sqs = r.aws.client("sqs")
        for body, group in [("a1", "A"), ("bad-a2", "A"), ("a3", "A"), ("b1", "B"), ("b2", "B"), ("b3", "B")]:
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
        seen: dict[str, list[str]] = {"A": [], "B": []}

        def delivered() -> bool:
            seen["A"], seen["B"] = [], []
            for inv in r.invocations("fifo"):
                failed = set(inv.extra["batch"].get("failed", [])) if isinstance(
                    inv.extra["batch"].get("failed"), list) else set()
                for rec in inv.event["Records"]:
                    if rec["messageId"] not in failed:
                        seen[rec["attributes"]["MessageGroupId"]].append(rec["body"])
            return len(seen["A"]) == 3 and len(seen["B"]) == 3

        _until(delivered, 30)
        assert seen == {"A": ["a1", "bad-a2", "a3"], "B": ["b1", "b2", "b3"]}
        first_b3 = min(n for n, inv in enumerate(r.invocations("fifo"))
                       if any(rec["body"] == "b3" for rec in inv.event["Records"]))
        retried = [n for n, inv in enumerate(r.invocations("fifo"))
                   if any(rec["body"] == "bad-a2" and rec["attributes"]["ApproximateReceiveCount"] == "2"
                          for rec in inv.event["Records"])]
        assert retried and first_b3 < retried[0]  # group B did not wait for A's retry
        rec = r.invocations("fifo")[0].event["Records"][0]
        assert set(rec["attributes"]) >= {"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"}
        parse(event=r.invocations("fifo")[0].event, model=SqsModel)


def test_filters_on_json_bodies_and_plain_strings(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        url = _url(r, "picky")
        sqs = r.aws.client("sqs")
        for body in [json.dumps({"kind": "order"}), json.dumps({"kind": "refund"}), "hi there", "bye", "not json {"]:
            sqs.send_message(QueueUrl=url, MessageBody=body)
        got: list[str] = []
        while len(got) < 2:
            got += r.wait("echo", timeout=30).result
        assert sorted(got) == sorted([json.dumps({"kind": "order"}), "hi there"])
        _until(lambda: _count(r, "picky") == (0, 0))  # the others were deleted, as Lambda does
        info = next(m for m in r.app.source("sqs").mappings() if m["trigger"] == "picky")
        assert info["filtered"] == 3
