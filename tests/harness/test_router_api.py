"""Every method of the Router API against the demo triggers.yaml (Python and Node handlers)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    DynamoDBStreamModel,
    EventBridgeModel,
    S3Model,
)

from router import Invocation, Router, WaitTimeout
from router.errors import UsageError

pytestmark = pytest.mark.slow
DEMO = Path(__file__).resolve().parents[2] / "triggers.yaml"


@pytest.fixture()
def r() -> Iterator[Router]:
    with Router(DEMO) as router:
        yield router


def test_isolated_by_default(r: Router) -> None:
    assert r.config.settings.http.port == 0 and r.config.settings.aws.port == 0
    assert r.config.state_dir != (DEMO.parent / ".router").resolve()
    assert r.http.base_url.startswith("http://127.0.0.1:") and not r.http.base_url.endswith(":3000")
    folder = r.app.source("s3").folder("uploads")
    assert not str(folder).startswith(str(DEMO.parent / "drop"))


def test_invoke_python_and_node(r: Router) -> None:
    py = r.invoke("hello", {})
    assert py.ok and py.result["statusCode"] == 200 and py.source == "invoke"
    node = r.invoke("greet", {"key1": "a", "key2": "b"})
    assert node.ok and node.result == "some success message"
    assert "value1 = a" in node.logs and "value2 = b" in node.logs
    assert node.logs.startswith("START RequestId: " + node.id) and "REPORT RequestId: " + node.id in node.logs


def test_invoke_async_then_wait(r: Router) -> None:
    event_id = r.invoke_async("hello_node", {"x": 1})
    inv = r.wait("hello_node", timeout=20)
    assert isinstance(inv, Invocation) and inv.ok and inv.event == {"x": 1} and inv.event_id == event_id
    assert json.loads(inv.result["body"])["message"].startswith("Your Lambda function")


def test_drop_reads_bytes_back_through_boto3(r: Router) -> None:
    data = b"\x89PNG not really" * 100
    r.drop("uploads", "images/cat one.png", data)
    inv = r.wait("thumbnail", timeout=20)
    assert inv.ok, inv.error
    assert inv.result == {"key": "images/cat one.png", "size": len(data), "md5": hashlib.md5(data).hexdigest()}
    S3Model.model_validate(inv.event)
    record = inv.event["Records"][0]
    assert record["eventName"] == "ObjectCreated:Put" and record["s3"]["object"]["key"] == "images/cat+one.png"
    assert inv.trigger == "uploads" and inv.source == "s3"


def test_remove_gives_object_removed(r: Router) -> None:
    r.drop("uploads", "gone.txt", "bye")
    r.wait("thumbnail", timeout=20)
    r.remove("uploads", "gone.txt")
    inv = r.wait("thumbnail", timeout=20)
    assert inv.event["Records"][0]["eventName"] == "ObjectRemoved:Delete" and inv.result["removed"] is True


def test_fire_schedule_with_its_input_and_with_an_override(r: Router) -> None:
    r.fire("nightly")
    inv = r.wait("report", timeout=20)
    assert inv.event == {"kind": "nightly"} and inv.ok and inv.result["orders"] == 3
    r.fire("heartbeat")
    inv = r.wait("report", timeout=20)
    EventBridgeModel.model_validate(inv.event)
    assert inv.event["detail-type"] == "Scheduled Event" and inv.result == {"heartbeat": inv.event["time"]}
    r.fire("nightly", input={"kind": "adhoc"})
    assert r.wait("report", timeout=20).event == {"kind": "adhoc"}


def test_http_both_payload_versions(r: Router) -> None:
    resp = r.http.get("/hello/ann", params={"q": "1"})
    assert resp.status_code == 200 and resp.text == "some success message"
    inv = r.wait("greet", timeout=10)
    APIGatewayProxyEventV2Model.model_validate(inv.event)
    assert inv.event["pathParameters"] == {"name": "ann"} and inv.event["rawQueryString"] == "q=1"
    resp = r.http.get("/python")
    assert resp.status_code == 200 and resp.json()["message"].startswith("Your Lambda function")
    APIGatewayProxyEventModel.model_validate(r.wait("hello", timeout=10).event)
    assert r.http.get("/nowhere").status_code == 404


def test_stream_through_the_embedded_aws(r: Router) -> None:
    ddb = r.aws.client("dynamodb")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "c#7"}, "sk": {"S": "o#1"}, "status": {"S": "new"}})
    inv = r.wait("on_order", timeout=20)
    assert inv.ok and inv.source == "dynamodb" and inv.trigger == "orders-stream"
    DynamoDBStreamModel.model_validate(inv.event)
    assert inv.event["Records"][0]["dynamodb"]["NewImage"]["status"] == {"S": "new"}
    table = r.aws.resource("dynamodb").Table("orders")
    assert table.get_item(Key={"pk": "c#7", "sk": "o#1"})["Item"]["status"] == "new"


def test_invocations_filters_and_clear(r: Router) -> None:
    r.invoke("hello", {})
    r.invoke("greet", {})
    assert [i.function for i in r.invocations()] == ["hello", "greet"]
    assert [i.function for i in r.invocations("greet")] == ["greet"]
    r.http.get("/hello/x")
    r.wait("greet", timeout=10, trigger="greet-http")
    assert [i.trigger for i in r.invocations(trigger="greet-http")] == ["greet-http"]
    r.clear()
    assert r.invocations() == []


def test_wait_count_where_and_consumption(r: Router) -> None:
    for n in range(3):
        r.invoke_async("hello", {"n": n})
    invs = r.wait("hello", count=3, timeout=20)
    assert sorted(i.event["n"] for i in invs) == [0, 1, 2]
    r.invoke("hello", {"n": 9})
    assert r.wait("hello", where=lambda i: i.event.get("n") == 9).event == {"n": 9}


def test_wait_timeout_explains_what_happened(r: Router) -> None:
    r.invoke("hello", {})
    with pytest.raises(WaitTimeout) as info:
        r.wait("greet", timeout=0.3)
    text = str(info.value)
    assert "waited 0.3 s for 1 invocation(s) of function 'greet'; 0 matched." in text
    assert "hello #1 [invoke:-] ok" in text


def test_bad_names_are_usage_errors(r: Router) -> None:
    with pytest.raises(UsageError, match="no function named 'nope'"):
        r.invoke("nope", {})
    with pytest.raises(UsageError, match="no s3 trigger named 'nope'"):
        r.drop("nope", "k", b"")
    with pytest.raises(UsageError, match="is a http trigger, not schedule"):
        r.fire("greet-http")
    with pytest.raises(UsageError, match="clock"):
        r.advance(60)


def test_manual_clock_and_start_stop() -> None:
    router = Router(DEMO, clock="manual").start()
    try:
        router.advance(60)
        first = router.wait("report", timeout=20, where=lambda i: i.trigger == "heartbeat")
        EventBridgeModel.model_validate(first.event)
        router.advance(120)
        more = router.wait("report", count=2, timeout=20, where=lambda i: i.trigger == "heartbeat")
        times = [first.event["time"], *(i.event["time"] for i in more)]
        assert len(set(times)) == 3
        assert len([i for i in router.invocations("report") if i.trigger == "heartbeat"]) == 3
    finally:
        router.stop()
    with pytest.raises(UsageError, match="not started"):
        router.invoke("hello", {})
