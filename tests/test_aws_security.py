"""The embedded AWS is not reachable from a web page (issue 17), and boto3 still works.

Browser-like requests are sent with http.client (a foreign Host, a foreign Origin, a
CORS-simple unsigned POST); the router's own clients are boto3.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from router import Router
from router.aws import Aws
from router.config import parse_config
from router.errors import ConfigError

HANDLER = "def handler(event, context):\n    return {'got': event}\n"
CONFIG = """
settings: {{aws: {{port: 0{extra}}}}}
functions:
  greet:
    handler: handler.handler
    timeout: 5
    memory: 256
    environment: {{GREETING: hi}}
  plain:
    handler: handler.handler
    async:
      retries: 1
      max_event_age: 600
      on_failure: {{function: greet}}
resources:
  tables:
    orders: {{keys: {{id: S}}}}
triggers:
  - function: greet
    dynamodb: {{table: orders, batch_size: 10}}
"""


def make_aws(tmp_path: Path, extra: str = "") -> Aws:
    (tmp_path / "handler.py").write_text(HANDLER)
    config = parse_config(CONFIG.format(extra=extra), str(tmp_path / "triggers.yaml"), root=tmp_path)
    aws = Aws(config)
    aws._start_embedded()
    aws.create_resources()
    return aws


@pytest.fixture()
def aws(tmp_path: Path) -> Iterator[Aws]:
    a = make_aws(tmp_path)
    yield a
    a.stop()


def request(aws: Aws, method: str, path: str, headers: dict[str, str] | None = None,
            body: bytes = b"") -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    assert aws.endpoint_url is not None
    port = int(aws.endpoint_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for key, value in {"Host": f"127.0.0.1:{port}", **(headers or {})}.items():
            conn.putheader(key, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def port_of(aws: Aws) -> int:
    assert aws.endpoint_url is not None
    return int(aws.endpoint_url.rsplit(":", 1)[1])


SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, "
                           "SignedHeaders=host, Signature=00"}  # fmt: skip


# ------------------------------------------------------------------------------ Host


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "127.0.0.2:{port}", "localhost.evil.com:{port}",
                                  "", "10.0.0.1:{port}"])  # fmt: skip
def test_a_foreign_host_is_refused(aws: Aws, host: str) -> None:
    status, headers, body = request(aws, "GET", "/", {**SIGNED, "Host": host.format(port=port_of(aws))})
    assert status == 403
    assert "DNS rebinding" in json.loads(body)["message"]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}",
                                  "my-bucket.localhost:{port}", "[::1]:{port}"])  # fmt: skip
def test_a_loopback_host_of_the_port_is_served(aws: Aws, host: str) -> None:
    status, _, body = request(aws, "GET", "/", {**SIGNED, "Host": host.format(port=port_of(aws))})
    # moto answers: ListBuckets, or NoSuchBucket for the virtual-hosted bucket.localhost
    assert status == 200 or (status == 404 and b"NoSuchBucket" in body)


# ------------------------------------------------------------------------------ signing and admin


def test_an_unsigned_cors_simple_post_cannot_act(aws: Aws) -> None:
    # a page's <form> or fetch(no-cors) to the Invoke API: text/plain, no signature
    status, _, body = request(aws, "POST", "/2015-03-31/functions/greet/invocations",
                              {"Content-Type": "text/plain"}, b"{}")  # fmt: skip
    assert status == 403 and "signed" in json.loads(body)["message"]
    status, _, _ = request(aws, "GET", "/")  # ListBuckets, unsigned
    assert status == 403


def test_a_made_up_presigned_query_is_accepted_as_signed(aws: Aws) -> None:
    status, _, _ = request(aws, "GET", "/?X-Amz-Signature=abc&X-Amz-Credential=testing")
    assert status == 200
    status, _, _ = request(aws, "GET", "/?X-Amz-Signature=")
    assert status == 403


def test_moto_admin_endpoints_are_off_by_default(aws: Aws) -> None:
    for method, path in (("POST", "/moto-api/reset"), ("GET", "/moto-api/data.json"), ("GET", "/moto-api/")):
        status, _, body = request(aws, method, path, SIGNED)
        assert status == 403 and "settings.aws.admin" in json.loads(body)["message"]
    assert "orders" in aws.client("dynamodb").list_tables()["TableNames"]  # nothing was reset


def test_moto_admin_endpoints_with_admin_true(tmp_path: Path) -> None:
    aws = make_aws(tmp_path, ", admin: true")
    try:
        # (/moto-api/config: data.json dumps every backend of the process, and a model another
        # test left behind can fail to serialise)
        status, _, body = request(aws, "GET", "/moto-api/config")
        assert status in (200, 201) and json.loads(body)  # (moto answers its config with 201)
    finally:
        aws.stop()


# ------------------------------------------------------------------------------ CORS


def test_a_foreign_origin_is_refused_and_never_echoed(aws: Aws) -> None:
    origin = {"Origin": "https://evil.example"}
    status, headers, body = request(aws, "GET", "/", {**SIGNED, **origin})
    assert status == 403 and "settings.aws.cors" in json.loads(body)["message"]
    assert "access-control-allow-origin" not in headers
    preflight = {**origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization"}
    status, headers, _ = request(aws, "OPTIONS", "/bucket/key", preflight)
    assert status == 403 and "access-control-allow-origin" not in headers
    # an <img> or a link from a web page: no Origin, a presigned query; may read, never act
    img = {"Sec-Fetch-Site": "cross-site"}
    status, _, _ = request(aws, "GET", "/?Action=DeleteTable&TableName=orders&X-Amz-Signature=x", img)
    assert status == 403
    status, _, _ = request(aws, "POST", "/?X-Amz-Signature=x", {**img, "Content-Type": "text/plain"})
    assert status == 403
    status, headers, _ = request(aws, "GET", "/?X-Amz-Signature=x", img)
    assert status == 200 and "access-control-allow-origin" not in headers


def test_an_allowed_origin_gets_cors_and_a_preflight(tmp_path: Path) -> None:
    aws = make_aws(tmp_path, ", cors: ['http://localhost:5173']")
    try:
        origin = {"Origin": "http://localhost:5173"}
        preflight = {**origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-amz-date"}
        status, headers, _ = request(aws, "OPTIONS", "/orders", preflight)
        assert status == 200
        assert headers["access-control-allow-origin"] == "http://localhost:5173"
        assert headers["access-control-allow-headers"] == "x-amz-date"
        status, headers, _ = request(aws, "GET", "/", {**SIGNED, **origin})
        assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:5173"
        status, headers, _ = request(aws, "GET", "/", {**SIGNED, "Origin": "http://localhost:5174"})
        assert status == 403 and "access-control-allow-origin" not in headers
    finally:
        aws.stop()


def test_moto_echoed_cors_headers_are_stripped(tmp_path: Path) -> None:
    aws = make_aws(tmp_path, ", cors: ['http://app.localhost:8080']")
    try:
        aws.client("s3").create_bucket(Bucket="pages")
        status, headers, _ = request(aws, "GET", "/pages", {**SIGNED, "Origin": "http://app.localhost:8080"})
        assert status == 200
        assert [k for k in headers if k.startswith("access-control-allow-origin")] == ["access-control-allow-origin"]
        assert headers["access-control-allow-origin"] == "http://app.localhost:8080"
    finally:
        aws.stop()


@pytest.mark.parametrize("bad", ["'*'", "['*']", "['http://x.test/path']", "['x.test']"])
def test_a_bad_cors_setting_is_a_config_error(tmp_path: Path, bad: str) -> None:
    text = f"settings: {{aws: {{cors: {bad}}}}}\nfunctions: {{}}\n"
    with pytest.raises(ConfigError, match=r"settings\.aws\.cors"):
        parse_config(text, str(tmp_path / "triggers.yaml"), root=tmp_path)


# ------------------------------------------------------------------------------ the Lambda control plane


def lambda_client(aws: Aws) -> Any:
    return aws.client("lambda")


def test_list_and_get_functions_answer_from_the_config(aws: Aws) -> None:
    client = lambda_client(aws)
    names = sorted(f["FunctionName"] for f in client.list_functions()["Functions"])
    assert names == ["greet", "plain"]
    conf = client.get_function_configuration(FunctionName="greet")
    assert conf["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:greet"
    assert conf["Runtime"].startswith("python3.") and conf["Handler"] == "handler.handler"
    assert (conf["Timeout"], conf["MemorySize"]) == (5, 256)
    assert conf["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert (conf["State"], conf["LastUpdateStatus"], conf["PackageType"], conf["Version"]) == (
        "Active", "Successful", "Zip", "$LATEST")  # fmt: skip
    assert conf["CodeSize"] == len(HANDLER) and conf["Role"].startswith("arn:aws:iam::123456789012:role/")
    got = client.get_function(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:greet")
    assert got["Configuration"]["FunctionName"] == "greet"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="nope")


def test_event_invoke_config_from_async(aws: Aws) -> None:
    client = lambda_client(aws)
    got = client.get_function_event_invoke_config(FunctionName="plain")
    assert (got["MaximumRetryAttempts"], got["MaximumEventAgeInSeconds"]) == (1, 600)
    assert got["DestinationConfig"]["OnFailure"]["Destination"].endswith(":function:greet")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_event_invoke_config(FunctionName="greet")  # no async: key


def test_event_source_mappings_of_the_dynamodb_triggers(aws: Aws) -> None:
    client = lambda_client(aws)
    [mapping] = client.list_event_source_mappings()["EventSourceMappings"]
    assert mapping["FunctionArn"].endswith(":function:greet") and mapping["BatchSize"] == 10
    assert client.get_event_source_mapping(UUID=mapping["UUID"])["UUID"] == mapping["UUID"]
    assert client.list_event_source_mappings(FunctionName="plain")["EventSourceMappings"] == []


def test_create_update_delete_and_invoke_async_are_refused_never_docker(aws: Aws) -> None:
    client = lambda_client(aws)
    calls = [
        lambda: client.create_function(
            FunctionName="x",
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/r",
            Handler="h.h",
            Code={"ZipFile": b"PK"},
        ),  # fmt: skip
        lambda: client.update_function_configuration(FunctionName="greet", Timeout=9),
        lambda: client.update_function_code(FunctionName="greet", ZipFile=b"PK"),
        lambda: client.delete_function(FunctionName="greet"),
        lambda: client.publish_version(FunctionName="greet"),
        lambda: client.invoke_async(FunctionName="greet", InvokeArgs=b"{}"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "triggers.yaml" in info.value.response["Error"]["Message"]
    assert client.get_function_configuration(FunctionName="greet")["Timeout"] == 5


def test_invoke_without_a_dispatcher_is_a_clear_503(aws: Aws) -> None:
    client = aws.client("lambda")
    with pytest.raises(ClientError) as info:
        client.invoke(FunctionName="greet", Payload=b"{}")
    assert "Invoke API is not serving" in info.value.response["Error"]["Message"]


# ------------------------------------------------------------------------------ the whole router


@pytest.mark.slow
def test_router_clients_handlers_and_invoke_keep_working(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(
        "import boto3\ndef handler(event, context):\n    return boto3.client('dynamodb').list_tables()['TableNames']\n"
    )
    text = (
        "functions:\n  tables: {handler: handler.handler, timeout: 20}\n"
        "resources:\n  tables:\n    t1: {keys: {id: S}}\n"
    )
    with Router.from_text(text, tmp_path) as r:
        client = boto3.client("lambda", endpoint_url=r.aws.endpoint_url, region_name="us-east-1",
                              config=BotoConfig(retries={"max_attempts": 1}))  # fmt: skip
        answer = client.invoke(FunctionName="tables", Payload=b"{}")
        assert "t1" in json.loads(answer["Payload"].read())  # the handler reached the embedded AWS
        port = int(str(r.aws.endpoint_url).rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/2015-03-31/functions/tables/invocations", b"{}",
                     {"Content-Type": "text/plain", "Origin": "https://evil.example"})  # fmt: skip
        assert conn.getresponse().status == 403
        conn.close()
        client.close()


def test_a_missing_aws_profile_does_not_stop_the_embedded_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-anywhere")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    a = make_aws(tmp_path)  # creating the table went through boto3
    try:
        assert "orders" in a.client("dynamodb").list_tables()["TableNames"]
        assert a.resource("dynamodb").Table("orders").table_status == "ACTIVE"
    finally:
        a.stop()
