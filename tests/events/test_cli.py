"""``router event``: one test per kind, per option that shapes the payload, and per bad input."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    DynamoDBStreamModel,
    EventBridgeModel,
    S3Model,
)
from click.testing import CliRunner

from router.cli import main
from router.cli.event import event_command

MODELS: dict[str, Any] = {
    "s3": S3Model, "apigw": APIGatewayProxyEventModel, "http-api": APIGatewayProxyEventV2Model,
    "dynamodb": DynamoDBStreamModel, "schedule": EventBridgeModel,
}  # fmt: skip

CONFIG = """\
version: 1
settings: {region: eu-west-3, account: "111122223333", http: {port: 8080}}
functions:
  thumb: {handler: handlers/thumb.handler}
  greet: {handler: handlers/greet.handler}
  legacy: {handler: handlers/legacy.handler}
  orders: {handler: handlers/orders.handler}
  report: {handler: handlers/report.handler}
  tick: {handler: handlers/tick.handler}
resources:
  tables:
    orders: {keys: {pk: S, sk: N}, stream: NEW_IMAGE}
triggers:
  - name: uploads
    function: thumb
    s3: {dir: drop/uploads, events: ["s3:ObjectCreated:*"], prefix: images/, suffix: .jpg}
  - {name: removed, function: thumb, s3: {dir: drop/photos, bucket: photos, events: ["s3:ObjectRemoved:*"]}}
  - {name: hello, function: greet, http: "GET /hello/{name}"}
  - {name: old-api, function: legacy, http: {route: "ANY /items/{proxy+}", payload: "1.0", stage: v1}}
  - {name: order-stream, function: orders, dynamodb: orders}
  - {name: nightly, function: report, schedule: {expression: "cron(0 3 * * ? *)", input: {kind: nightly}}}
  - {name: every-minute, function: tick, schedule: "rate(1 minute)"}
"""


def run(*args: str) -> Any:
    result = CliRunner().invoke(event_command, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    payload = json.loads(result.stdout)
    return payload


def fails(*args: str) -> str:
    result = CliRunner().invoke(event_command, list(args))
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # a message, never a traceback
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "triggers.yaml"
    path.write_text(CONFIG)
    return str(path)


def test_the_command_is_registered_and_its_help_lists_every_kind() -> None:
    result = CliRunner().invoke(main, ["event", "--help"])
    assert result.exit_code == 0
    for kind in MODELS:
        assert kind in result.output
    for kind in MODELS:
        sub = CliRunner().invoke(main, ["event", kind, "--help"])
        assert sub.exit_code == 0 and "--region" in sub.output and "--trigger" in sub.output


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_kind_prints_a_valid_payload_with_defaults(kind: str) -> None:
    payload = run(kind)
    MODELS[kind].model_validate(payload)


def test_region_and_account_options() -> None:
    ev = run("schedule", "--region", "ap-south-1", "--account", "999988887777", "--rule", "daily")
    assert ev["region"] == "ap-south-1" and ev["account"] == "999988887777"
    assert ev["resources"] == ["arn:aws:events:ap-south-1:999988887777:rule/daily"]
    assert run("s3", "--region", "eu-north-1")["Records"][0]["awsRegion"] == "eu-north-1"


# ------------------------------------------------------------------------------ s3


def test_s3_options(tmp_path: Path) -> None:
    f = tmp_path / "cat photo.jpg"
    f.write_bytes(b"meow")
    rec = run("s3", "--bucket", "pets", "--file", str(f), "--event-name", "s3:ObjectCreated:Copy")["Records"][0]
    assert rec["eventName"] == "ObjectCreated:Copy" and rec["s3"]["bucket"]["name"] == "pets"
    obj = rec["s3"]["object"]
    assert obj == {"key": "cat+photo.jpg", "size": 4, "eTag": hashlib.md5(b"meow").hexdigest(),
                   "sequencer": obj["sequencer"]}  # fmt: skip
    sized = run("s3", "--key", "a b/c", "--size", "3")["Records"][0]["s3"]["object"]
    assert sized["key"] == "a+b/c" and sized["size"] == 3 and sized["eTag"] == "693e9af84d3dfcc71e640e005bdc5e2e"
    etag = run("s3", "--size", "9", "--etag", "ABCDEF0123456789ABCDEF0123456789")["Records"][0]["s3"]["object"]
    assert etag["eTag"] == "abcdef0123456789abcdef0123456789"
    removed = run("s3", "--event-name", "ObjectRemoved:Delete")["Records"][0]
    assert "size" not in removed["s3"]["object"] and "eTag" not in removed["s3"]["object"]
    S3Model.model_validate({"Records": [removed]})


def test_s3_with_a_trigger(config: str) -> None:
    rec = run("s3", "--config", config, "--trigger", "uploads")["Records"][0]
    assert rec["s3"]["bucket"]["name"] == "uploads" and rec["s3"]["configurationId"] == "uploads"
    assert rec["s3"]["object"]["key"] == "images/example.jpg" and rec["awsRegion"] == "eu-west-3"
    removed = run("s3", "-c", config, "--trigger", "removed")["Records"][0]
    assert removed["eventName"] == "ObjectRemoved:Delete" and removed["s3"]["bucket"]["name"] == "photos"
    S3Model.model_validate({"Records": [rec, removed]})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket", "Bad_Bucket"], "a bucket name uses only a-z"),
        (["--bucket", "ab"], "3 to 63 characters"),
        (["--event-name", "ObjectCreated:Paste"], "unknown S3 event 'ObjectCreated:Paste'"),
        (["--etag", "xyz"], "is not an eTag"),
        (["--size", "-1"], "-1"),
        (["--file", "/no/such/file"], "does not exist"),
        (["--event-name", "ObjectRemoved:Delete", "--size", "3"], "carry no size or eTag"),
        (["--key", "k" * 1025], "1 to 1024 bytes"),
    ],
)
def test_s3_bad_input(args: list[str], message: str) -> None:
    assert message in fails("s3", *args)


def test_s3_file_and_size_together(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"x")
    assert "give --file, or --size/--etag, not both" in fails("s3", "--file", str(f), "--size", "1")


def test_s3_bad_input_against_a_trigger(config: str) -> None:
    assert "does not match the trigger's prefix" in fails("s3", "-c", config, "--trigger", "uploads", "--key", "x.png")
    out = fails("s3", "-c", config, "--trigger", "uploads", "--event-name", "ObjectRemoved:Delete")
    assert "the trigger listens to s3:ObjectCreated:*" in out


# ------------------------------------------------------------------------------ http


def test_apigw_options() -> None:
    ev = run("apigw", "--method", "post", "--resource", "/users/{id}", "--path", "/users/a%20b",
             "--query", "x=1", "--query", "x=2", "--query", "flag", "--header", "X-Trace: 1",
             "--header", "x-trace: 2", "--body", '{"a": 1}', "--stage", "dev")  # fmt: skip
    APIGatewayProxyEventModel.model_validate(ev)
    assert ev["httpMethod"] == "POST" and ev["resource"] == "/users/{id}" and ev["path"] == "/users/a%20b"
    assert ev["pathParameters"] == {"id": "a b"}
    assert ev["queryStringParameters"] == {"x": "2", "flag": ""}
    assert ev["multiValueQueryStringParameters"] == {"x": ["1", "2"], "flag": [""]}
    assert ev["multiValueHeaders"]["X-Trace"] == ["1", "2"] and ev["headers"]["X-Trace"] == "2"
    assert ev["body"] == '{"a": 1}' and ev["requestContext"]["path"] == "/dev/users/a%20b"
    assert run("apigw", "--path", "/plain path")["path"] == "/plain%20path"


def test_http_api_options() -> None:
    ev = run("http-api", "--route", "POST /orders/{id}", "--path", "/orders/7", "--query", "a=1", "--query", "a=2",
             "--header", "Content-Type: application/json", "--header", "Cookie: s=1; t=2", "--body", "{}")  # fmt: skip
    APIGatewayProxyEventV2Model.model_validate(ev)
    assert ev["routeKey"] == "POST /orders/{id}" and ev["requestContext"]["http"]["method"] == "POST"
    assert ev["pathParameters"] == {"id": "7"} and ev["queryStringParameters"] == {"a": "1,2"}
    assert ev["cookies"] == ["s=1", "t=2"] and "cookie" not in ev["headers"]
    assert ev["body"] == "{}" and ev["isBase64Encoded"] is False
    form = run(
        "http-api", "--method", "PUT", "--body", "a=1", "--header", "content-type: application/x-www-form-urlencoded"
    )
    assert form["isBase64Encoded"] is True and base64.b64decode(form["body"]) == b"a=1"
    assert form["routeKey"] == "$default" and form["requestContext"]["http"]["method"] == "PUT"
    named = run("http-api", "--route", "GET /hello/{name}", "--stage", "dev")
    assert named["rawPath"] == "/dev/hello/name" and named["pathParameters"] == {"name": "name"}


def test_http_with_triggers(config: str) -> None:
    ev = run("http-api", "-c", config, "--trigger", "hello", "--path", "/hello/ann")
    assert ev["routeKey"] == "GET /hello/{name}" and ev["pathParameters"] == {"name": "ann"}
    assert ev["headers"]["host"] == "localhost:8080" and ev["requestContext"]["accountId"] == "111122223333"
    old = run("apigw", "-c", config, "--trigger", "old-api", "--method", "DELETE", "--path", "/items/a/b")
    assert old["resource"] == "/items/{proxy+}" and old["pathParameters"] == {"proxy": "a/b"}
    assert old["httpMethod"] == "DELETE" and old["requestContext"]["stage"] == "v1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apigw", "--method", "FETCH"], "'FETCH': expected one of GET, POST"),
        (["apigw", "--resource", "/a/{id}", "--path", "/b/1"], "does not match the route"),
        (["apigw", "--path", "nope"], "a path starts with '/'"),
        (["apigw", "--header", "no colon"], "expected 'Name: value'"),
        (["apigw", "--header", "bad name: x"], "expected 'Name: value'"),
        (["apigw", "--query", "=v"], "expected NAME=VALUE"),
        (["apigw", "--stage", "$default"], "a stage name uses letters"),
        (["http-api", "--stage", "a b"], "a stage name uses"),
        (["http-api", "--route", "GET hello"], "expected 'METHOD /path'"),
        (["http-api", "--route", "FETCH /x"], "expected 'METHOD /path'"),
        (["http-api", "--route", "GET /x", "--method", "POST"], "takes GET only"),
        (["http-api", "--region", "mars-1"], "not an AWS region name"),
        (["apigw", "--account", "12345"], "not a 12-digit account id"),
    ],
)
def test_http_bad_input(args: list[str], message: str) -> None:
    assert message in fails(*args)


def test_http_bad_input_against_triggers(config: str) -> None:
    assert "uses payload 2.0: use `router event http-api`" in fails("apigw", "-c", config, "--trigger", "hello")
    assert "uses payload 1.0: use `router event apigw`" in fails("http-api", "-c", config, "--trigger", "old-api")
    assert "the trigger's route is 'GET /hello/{name}'" in fails(
        "http-api", "-c", config, "--trigger", "hello", "--route", "GET /bye"
    )
    assert "does not match the route" in fails("http-api", "-c", config, "--trigger", "hello", "--path", "/bye")


# ------------------------------------------------------------------------------ dynamodb


def test_dynamodb_options() -> None:
    old = '{"pk": {"S": "a"}, "n": {"N": "1"}}'
    ev = run("dynamodb", "--event-name", "modify", "--table", "orders", "--keys", '{"pk": "a"}',
             "--new-image", '{"n": 2, "tags": ["x"]}', "--old-image", old)  # fmt: skip
    DynamoDBStreamModel.model_validate(ev)
    rec = ev["Records"][0]
    assert rec["eventName"] == "MODIFY" and rec["eventVersion"] == "1.1" and rec["awsRegion"] == "us-east-1"
    change = rec["dynamodb"]
    assert change["Keys"] == {"pk": {"S": "a"}}
    assert change["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "2"}, "tags": {"L": [{"S": "x"}]}}
    assert change["OldImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}  # typed JSON is taken as it is
    assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES" and isinstance(change["SizeBytes"], int)
    assert rec["eventSourceARN"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/")
    keys_only = run("dynamodb", "--view", "KEYS_ONLY")["Records"][0]["dynamodb"]
    assert set(keys_only) == {"ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType"}
    removed = run("dynamodb", "--event-name", "REMOVE")["Records"][0]["dynamodb"]
    assert "NewImage" not in removed and removed["OldImage"]["id"] == {"S": "1"}


def test_dynamodb_with_a_trigger(config: str) -> None:
    rec = run("dynamodb", "-c", config, "--trigger", "order-stream")["Records"][0]
    DynamoDBStreamModel.model_validate({"Records": [rec]})
    assert rec["dynamodb"]["Keys"] == {"pk": {"S": "1"}, "sk": {"N": "1"}}  # the table's key schema
    assert rec["dynamodb"]["StreamViewType"] == "NEW_IMAGE" and "OldImage" not in rec["dynamodb"]
    assert rec["eventSourceARN"].startswith("arn:aws:dynamodb:eu-west-3:111122223333:table/orders/stream/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keys", "{bad json"], "malformed JSON"),
        (["--keys", "[1, 2]"], "expected a JSON object, got list"),
        (["--keys", '{"id": null}'], "Keys.id: a key attribute is of type S, N or B, got NULL"),
        (["--keys", '{"a": 1, "b": 2, "c": 3}'], "a primary key has one or two attributes, got 3"),
        (["--event-name", "UPSERT"], "'UPSERT' is not one of"),
        (["--view", "ALL"], "'ALL' is not one of"),
        (["--table", "x"], "a table name has 3-255"),
        (["--old-image", "{}"], "an INSERT has no old image"),
        (["--event-name", "REMOVE", "--new-image", "{}"], "a REMOVE has no new image"),
        (["--keys", '{"id": "1"}', "--new-image", '{"id": "2"}'], "key attribute 'id' differs from --keys"),
        (["--keys", '{"id": {"N": "abc"}}'], "got M"),  # not a valid typed value, so a plain map
    ],
)
def test_dynamodb_bad_input(args: list[str], message: str) -> None:
    assert message in fails("dynamodb", *args)


def test_dynamodb_values_without_a_type() -> None:
    out = fails("dynamodb", "--new-image", '{"x": 1e999}')
    assert "new-image.x: DynamoDB numbers are finite" in out


# ------------------------------------------------------------------------------ schedule


def test_schedule_with_triggers(config: str) -> None:
    assert run("schedule", "-c", config, "--trigger", "nightly") == {"kind": "nightly"}  # the constant input
    ev = run("schedule", "-c", config, "--trigger", "every-minute")
    EventBridgeModel.model_validate(ev)
    assert ev["resources"] == ["arn:aws:events:eu-west-3:111122223333:rule/every-minute"]
    assert ev["time"].endswith("Z") and "." not in ev["time"]


def test_schedule_bad_rule() -> None:
    assert "bad rule name 'a b'" in fails("schedule", "--rule", "a b")


# ------------------------------------------------------------------------------ config


def test_config_problems_exit_2(config: str, tmp_path: Path) -> None:
    assert "no trigger 'nope'" in fails("s3", "-c", config, "--trigger", "nope")
    assert "trigger 'hello' is a http trigger, not s3" in fails("s3", "-c", config, "--trigger", "hello")
    assert "config file not found" in fails("s3", "-c", str(tmp_path / "missing.yaml"), "--trigger", "x")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nsettings: {region: nowhere}\n")
    assert "broken.yaml:2" in fails("schedule", "-c", str(broken))
