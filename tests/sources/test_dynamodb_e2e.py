"""DynamoDB stream triggers through the whole router (``Router``: embedded moto, dispatcher,
real Python workers): events as handlers see them, handlers writing to tables (chains), an
on-failure function invoked asynchronously with the failure record."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamLambdaOnFailureDestinationModel,
    DynamoDBStreamModel,
)

from router import Router

pytestmark = pytest.mark.slow

HANDLERS = '''
import json, os
import boto3

def echo(event, context):
    return {"keys": [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]}

def forward(event, context):
    """Copies every inserted order into the audit table: a chain of streams."""
    table = boto3.resource("dynamodb").Table("audit")
    for r in event["Records"]:
        if r["eventName"] == "INSERT":
            table.put_item(Item={"pk": "audit-" + r["dynamodb"]["Keys"]["pk"]["S"]})
    return None

def picky(event, context):
    for r in event["Records"]:
        if r["dynamodb"]["Keys"]["pk"]["S"].startswith("bad"):
            raise ValueError("cannot take " + r["dynamodb"]["Keys"]["pk"]["S"])

def audit(event, context):
    return {"condition": event["requestContext"]["condition"]}
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    (tmp_path / "triggers.yaml").write_text(
        textwrap.dedent("""
        version: 1
        settings: {region: eu-west-2}
        functions:
          echo: {handler: handlers.echo}
          forward: {handler: handlers.forward}
          picky: {handler: handlers.picky}
          audit: {handler: handlers.audit}
        resources:
          tables:
            orders: {keys: {pk: S}, stream: NEW_AND_OLD_IMAGES}
            audit: {keys: {pk: S}, stream: KEYS_ONLY}
            risky: {keys: {pk: S}, stream: NEW_IMAGE}
        triggers:
          - {name: orders-forward, function: forward, dynamodb: {table: orders, filter: [{eventName: [INSERT]}]}}
          - {name: audit-echo, function: echo, dynamodb: {table: audit, batch_size: 10}}
          - {name: risky-picky, function: picky, dynamodb: {table: risky, batch_size: 5, retries: 1,
             bisect_on_error: true, on_failure: {function: audit}}}
    """).lstrip()
    )
    return tmp_path


def test_streams_through_the_whole_router(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        orders = r.aws.resource("dynamodb").Table("orders")
        orders.put_item(Item={"pk": "o1", "total": 3})
        orders.put_item(Item={"pk": "o1", "total": 4})  # a MODIFY: filtered out of the forward trigger

        inv = r.wait("forward", timeout=30)
        assert inv.ok, inv.error
        assert inv.trigger == "orders-forward" and inv.source == "dynamodb"
        event = parse(event=inv.event, model=DynamoDBStreamModel)
        assert [rec.eventName for rec in event.Records] == ["INSERT"]
        assert event.Records[0].awsRegion == "eu-west-2"

        echoed = r.wait("echo", timeout=30)  # the audit table's stream, fed by the forward handler
        assert echoed.ok and echoed.result == {"keys": ["audit-o1"]}
        parse(event=echoed.event, model=DynamoDBStreamModel)
        assert echoed.event["Records"][0]["dynamodb"]["StreamViewType"] == "KEYS_ONLY"

        banner = [line for line in r.app.banner() if line.startswith("dynamodb")]
        assert len(banner) == 3 and any("orders  stream arn:aws:dynamodb:eu-west-2:" in b for b in banner)
        mappings = {m["trigger"]: m for m in r.app.source("dynamodb").mappings()}
        assert set(mappings) == {"orders-forward", "audit-echo", "risky-picky"}
        assert mappings["audit-echo"]["stream_arn"].startswith("arn:aws:dynamodb:eu-west-2:123456789012:table/audit/")


def test_a_poison_record_ends_in_the_on_failure_function(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        risky = r.aws.resource("dynamodb").Table("risky")
        with risky.batch_writer() as batch:
            for pk in ("ok1", "bad1", "ok2"):
                batch.put_item(Item={"pk": pk})
        audited = r.wait("audit", timeout=60)
        assert audited.ok and audited.result == {"condition": "RetryAttemptsExhausted"}
        record = parse(event=audited.event, model=DynamoDBStreamLambdaOnFailureDestinationModel)
        assert record.ddb_stream_batch_info.batch_size == 1
        delivered = [k for inv in r.invocations("picky") if inv.ok
                     for k in (rec["dynamodb"]["Keys"]["pk"]["S"] for rec in inv.event["Records"])]  # fmt: skip
        assert sorted(delivered) == ["ok1", "ok2"]
