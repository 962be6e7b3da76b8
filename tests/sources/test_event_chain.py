"""A three-step chain end to end (HTTP -> a handler writes S3 -> a handler writes DynamoDB ->
the stream handler), its lineage in the journal, and ``router history --chain``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from router import Router
from router.cli import main

pytestmark = pytest.mark.slow

HANDLERS = '''
import boto3


def api(event, context):
    boto3.client("s3").put_object(Bucket="photos", Key="in/cat.jpg", Body=b"meow")
    return {"statusCode": 200, "body": "stored"}


def thumb(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    boto3.client("dynamodb").put_item(TableName="thumbs", Item={"id": {"S": key}})


def audit(event, context):
    return [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]
'''

CONFIG = """
version: 1
settings: {state_dir: state}
resources:
  tables:
    thumbs: {keys: {id: S}, stream: NEW_IMAGE}
functions:
  api: {handler: chain.api, timeout: 10}
  thumb: {handler: chain.thumb, timeout: 10}
  audit: {handler: chain.audit, timeout: 10}
triggers:
  - {function: api, http: GET /go}
  - {function: thumb, s3: {bucket: photos, prefix: in/}}
  - {function: audit, dynamodb: {table: thumbs}}
"""


def test_history_chain_shows_http_s3_dynamodb(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(HANDLERS)
    (tmp_path / "triggers.yaml").write_text(CONFIG)
    with Router(tmp_path / "triggers.yaml", settings={"state_dir": str(tmp_path / "state")}) as r:
        assert r.http.get("/go").status_code == 200
        api = r.wait("api", timeout=30)
        thumb = r.wait("thumb", timeout=30)
        audit = r.wait("audit", timeout=30)
        assert audit.ok and audit.result == ["in/cat.jpg"]
        assert thumb.extra["cause"] == {"function": "api", "request_id": api.id}
        assert audit.extra["cause"] == {"function": "thumb", "request_id": thumb.id}
        assert "cause" not in api.extra
    result = CliRunner().invoke(main, ["history", "-c", str(tmp_path / "triggers.yaml"), "--chain", api.id])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("api [http:") and api.id in lines[0] and " ok " in lines[0]
    assert lines[1].startswith("└─ thumb [s3:") and thumb.id in lines[1]
    assert lines[2].startswith("   └─ audit [dynamodb:") and audit.id in lines[2]
    table = CliRunner().invoke(main, ["history", "-c", str(tmp_path / "triggers.yaml"), "--wide"]).output
    assert f"caused by api {api.id}" in table and f"caused by thumb {thumb.id}" in table
    missing = CliRunner().invoke(main, ["history", "-c", str(tmp_path / "triggers.yaml"), "--chain", "nope"])
    assert missing.exit_code != 0 and "no invocation 'nope'" in missing.output


def test_the_demo_chain_thumbnail_writes_thumbs_that_index_gets(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[2] / "triggers.yaml"
    with Router(demo) as r:
        r.drop("uploads", "cat.txt", b"hello bytes")
        thumbnail = r.wait("thumbnail", timeout=30)
        index = r.wait("index", timeout=30)
        assert thumbnail.ok and index.ok, (thumbnail.error, index.error)
        assert index.result == ["thumbs/cat.txt"] and index.trigger == "thumbs"
        assert index.extra["cause"] == {"function": "thumbnail", "request_id": thumbnail.id}
        body = r.aws.client("s3").get_object(Bucket="thumbnails", Key="thumbs/cat.txt")["Body"].read()
        assert body == b"hello bytes"
