"""events/sqs.py and ``router event sqs``: records as Lambda sends them (powertools' SqsModel),
the MD5 of message attributes as SQS computes it (checked against the embedded moto), the
partial batch response rules of dispatch's queue policy, and bad CLI input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SqsModel
from click.testing import CliRunner

from router.cli.event import event_command
from router.dispatch.queue_mapping import failed_ids
from router.events import sqs


def test_a_record_from_a_received_message_has_lambdas_shape() -> None:
    message = {"MessageId": "m1", "ReceiptHandle": "rh", "Body": "hi", "MD5OfBody": sqs.md5_of_body("hi"),
               "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000",
                              "SenderId": "AID", "ApproximateFirstReceiveTimestamp": "1700000000001",
                              "MessageGroupId": "g", "MessageDeduplicationId": "d", "SequenceNumber": "1" * 20},
               "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
                                     "s": {"DataType": "String", "StringValue": "v"}}}  # fmt: skip
    rec = sqs.from_message(message, arn="arn:aws:sqs:eu-west-1:123456789012:q.fifo", region="eu-west-1")
    assert rec["messageAttributes"]["b"] == {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [],
                                             "dataType": "Binary"}  # fmt: skip
    assert rec["attributes"]["MessageGroupId"] == "g" and rec["attributes"]["SequenceNumber"] == "1" * 20
    assert rec["md5OfMessageAttributes"] == sqs.md5_of_attributes(message["MessageAttributes"])
    parse(event=sqs.event([rec]), model=SqsModel)


def test_no_message_attributes_give_a_null_md5() -> None:
    rec = sqs.record("x", arn="arn:aws:sqs:us-east-1:123456789012:q", region="us-east-1", message_id="m",
                     receipt_handle="r", sent_at=1.5)  # fmt: skip
    assert rec["messageAttributes"] == {} and rec["md5OfMessageAttributes"] is None
    assert rec["attributes"]["SentTimestamp"] == "1500" and "MessageGroupId" not in rec["attributes"]
    parse(event=sqs.event([rec]), model=SqsModel)


def test_md5_of_attributes_matches_sqs(tmp_path: Path) -> None:
    from router import Router

    (tmp_path / "triggers.yaml").write_text("settings: {aws: {port: 0}}\nresources: {queues: {q: {}}}\n")
    attributes = {"zeta": {"DataType": "Number", "StringValue": "42"},
                  "alpha": {"DataType": "String", "StringValue": "héllo"},
                  "blob": {"DataType": "Binary", "BinaryValue": b"\xff\x00x"},
                  "custom": {"DataType": "String.custom", "StringValue": "c"}}  # fmt: skip
    with Router(tmp_path / "triggers.yaml") as r:
        client = r.aws.client("sqs")
        url = client.get_queue_url(QueueName="q")["QueueUrl"]
        sent = client.send_message(QueueUrl=url, MessageBody="b", MessageAttributes=attributes)
    assert sent["MD5OfMessageAttributes"] == sqs.md5_of_attributes(attributes)
    assert sent["MD5OfMessageBody"] == sqs.md5_of_body("b")


IDS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (None, set()), ({}, set()), ("", set()),  # a null or empty response: all succeeded
        ({"batchItemFailures": []}, set()), ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "a"}]}, {"a", "c"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),  # an empty id: all failed
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),  # a null id
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None),  # an unknown id
        ({"batchItemFailures": [{"ItemIdentifier": "a"}]}, None),  # a bad key name
        ({"batchItemFailures": "a"}, None), ([1, 2], None), ("not json", None),  # not the shape
        # a Python handler's bytes: the response payload as it is, read as JSON (issue 19)
        (b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', {"b"}), (b"", set()), (b"{}", set()),
        (b"not json", None), (b"\xff", None),  # "an invalid JSON response": all failed
    ],
)
def test_partial_batch_response_rules(answer: Any, expected: set[str] | None) -> None:
    assert failed_ids(answer, IDS) == expected


def _run(*args: str) -> Any:
    result = CliRunner().invoke(event_command, ["sqs", *args])
    return result


def test_cli_builds_a_standard_and_a_fifo_record() -> None:
    out = _run("--body", '{"n": 1}', "--attribute", "kind=order", "--attribute", "n=3", "--queue", "jobs")
    assert out.exit_code == 0, out.output
    event = json.loads(out.output)
    parse(event=event, model=SqsModel)
    rec = event["Records"][0]
    assert rec["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:jobs"
    assert rec["messageAttributes"]["n"]["dataType"] == "Number"
    fifo = json.loads(_run("--queue", "jobs", "--fifo", "--group", "g7", "--receive-count", "3").output)["Records"][0]
    assert fifo["eventSourceARN"].endswith(":jobs.fifo") and fifo["attributes"]["MessageGroupId"] == "g7"
    assert fifo["attributes"]["ApproximateReceiveCount"] == "3" and len(fifo["attributes"]["SequenceNumber"]) == 20


def test_cli_uses_a_triggers_queue(tmp_path: Path) -> None:
    (tmp_path / "triggers.yaml").write_text(
        "settings: {region: eu-west-3}\nfunctions: {f: {handler: h.main}}\n"
        "resources: {queues: {orders: {fifo: true}}}\ntriggers: [{name: t, function: f, sqs: orders}]\n"
    )
    out = _run("-c", str(tmp_path / "triggers.yaml"), "--trigger", "t")
    assert out.exit_code == 0, out.output
    rec = json.loads(out.output)["Records"][0]
    assert rec["eventSourceARN"] == "arn:aws:sqs:eu-west-3:123456789012:orders.fifo" and rec["awsRegion"] == "eu-west-3"
    assert rec["attributes"]["MessageGroupId"] == "group1"
    bad = _run("-c", str(tmp_path / "triggers.yaml"), "--trigger", "t", "--queue", "other")
    assert bad.exit_code == 2 and "the trigger reads queue 'orders'" in bad.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--attribute", "novalue"], "expected K=V"),
        (["--attribute", "AWS.x=1"], "not starting with AWS."),
        (["--attribute", "a=1", "--attribute", "a=2"], "given twice"),
        (["--queue", "bad name"], "a queue name has"),
        (["--group", "tab\there"], "printable ASCII"),
        (["--receive-count", "0"], "--receive-count"),
    ],
)
def test_cli_bad_input(args: list[str], message: str) -> None:
    out = _run(*args)
    assert out.exit_code == 2 and message in out.output, out.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("triggers: [{function: f, sqs: nope}]", "triggers[0].sqs.queue: no queue 'nope' in resources.queues"),
        ("triggers: [{function: f, sqs: {queue: q, batch_size: 11}}]", "needs a batching_window of at least 1"),
        ("triggers: [{function: f, sqs: {queue: q, batch_size: 10001, batching_window: 5}}]", "less than or equal"),
        ("triggers: [{function: f, sqs: {queue: o, batch_size: 20, batching_window: 5}}]", "FIFO queue's batch_size"),
        ("triggers: [{function: f, sqs: {queue: q, max_concurrency: 1}}]", "greater than or equal to 2"),
        ("triggers: [{function: f, sqs: {queue: q, filter: [{body: {}}]}}]", "an empty mapping matches nothing"),
        ("resources: {queues: {x: {content_based_deduplication: true}}}", "for FIFO queues only"),
        ("resources: {queues: {x.fifo: {}}}", "a name ending in .fifo is a FIFO queue"),
        ("resources: {queues: {x: {redrive: {dead_letter: o}}, o: {fifo: true}}}", "must be a standard queue too"),
        ("resources: {queues: {x: {redrive: {dead_letter: gone}}}}", "dead_letter: no queue 'gone'"),
        ("resources: {queues: {'bad name': {}}}", "a queue name has 1 to 80 characters"),
    ],
)
def test_config_errors_name_the_place(text: str, message: str) -> None:
    from router.config import ConfigError, parse_config

    base = "functions: {f: {handler: h.main}}\nresources: {queues: {q: {}, o: {fifo: true}}}\n"
    if text.startswith("resources"):
        base = "functions: {f: {handler: h.main}}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(base + text + "\n", check_files=False)
    rendered = caught.value.render()
    assert message in rendered and "triggers.yaml:" in rendered, rendered


def test_a_queue_missing_at_an_external_endpoint_stops_the_start(tmp_path: Path) -> None:
    from router import Router
    from router.errors import StartupError

    (tmp_path / "a.yaml").write_text("settings: {aws: {port: 0}}\n")
    (tmp_path / "h.py").write_text("def main(e, c):\n    return None\n")
    with Router(tmp_path / "a.yaml") as aws:
        (tmp_path / "b.yaml").write_text(
            f"settings: {{aws: {{endpoint: '{aws.aws.endpoint_url}'}}}}\nfunctions: {{f: {{handler: h.main}}}}\n"
            "triggers: [{function: f, sqs: absent}]\n"
        )
        with pytest.raises(StartupError, match="queue 'absent' does not exist at http://127.0.0.1"):
            Router(tmp_path / "b.yaml").start()
