"""Queues as destinations, through the whole router: a function's async on_failure and
on_success send the invocation record as the message body, a DynamoDB mapping's on_failure
sends its discard report; a FIFO queue is refused as a destination (as AWS does)."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamLambdaOnFailureDestinationModel

from router import Router
from router.config import ConfigError, parse_config

pytestmark = pytest.mark.slow

HANDLERS = '''
def ok(event, context):
    return {"got": event}

def bad(event, context):
    raise ValueError("nope")
'''

CONFIG = """
version: 1
settings: {aws: {port: 0}}
functions:
  ok: {handler: handlers.ok, async: {on_success: {queue: done}}}
  bad: {handler: handlers.bad, async: {retries: 0, on_failure: {queue: failed}}}
resources:
  queues: {done: {}, failed: {}, stream-failed: {}}
  tables: {orders: {keys: {pk: S}}}
triggers:
  - {function: bad, dynamodb: {table: orders, retries: 0, on_failure: {queue: stream-failed}}}
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    (tmp_path / "triggers.yaml").write_text(textwrap.dedent(CONFIG).lstrip())
    return tmp_path


def _receive(r: Router, queue: str, timeout: float = 30) -> dict[str, Any]:
    client = r.aws.client("sqs")
    url = client.get_queue_url(QueueName=queue)["QueueUrl"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = client.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if got:
            body: dict[str, Any] = json.loads(got[0]["Body"])
            return body
    raise AssertionError(f"nothing arrived in queue {queue!r} within {timeout} s")


def test_async_destinations_and_a_streams_on_failure_queue(project: Path) -> None:
    with Router(project / "triggers.yaml") as r:
        r.invoke_async("ok", {"n": 1})
        done = _receive(r, "done")
        assert done["requestContext"]["condition"] == "Success"
        assert done["requestPayload"] == {"n": 1} and done["responsePayload"] == {"got": {"n": 1}}
        assert done["requestContext"]["functionArn"].endswith(":function:ok:$LATEST")

        r.invoke_async("bad", {"n": 2})
        failed = _receive(r, "failed")
        assert failed["requestContext"]["condition"] == "RetriesExhausted"
        assert failed["responsePayload"]["errorType"] == "ValueError"

        r.aws.resource("dynamodb").Table("orders").put_item(Item={"pk": "x"})
        report = _receive(r, "stream-failed")
        parsed = parse(event=report, model=DynamoDBStreamLambdaOnFailureDestinationModel)
        assert parsed.request_context.condition == "RetryAttemptsExhausted"


def test_a_fifo_queue_is_no_destination() -> None:
    text = """
functions: {f: {handler: h.main, async: {on_failure: {queue: q}}}}
resources: {queues: {q: {fifo: true}}}
"""
    with pytest.raises(ConfigError, match="is a FIFO queue; a destination is a standard queue"):
        parse_config(text, check_files=False)
