"""Against an external moto server: a restarted router continues after its checkpoint, and a
missing table or stream is a clear error at start, never a hang."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from router.errors import ConfigError, StartupError

from .ddb_helpers import Harness, keys, make_config

pytestmark = pytest.mark.slow


@pytest.fixture()
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(url: str) -> object:
    return boto3.client("dynamodb", endpoint_url=url, region_name="eu-west-1")


def test_a_restart_continues_after_the_checkpoint(tmp_path: Path, moto_url: str) -> None:
    table = f"orders-{uuid.uuid4().hex[:8]}"
    text = (
        "functions:\n  fn: {handler: h.handler}\n"
        f"resources:\n  tables:\n    {table}: {{keys: {{pk: S}}, stream: NEW_IMAGE}}\n"
        f"triggers:\n  - {{name: t, function: fn, dynamodb: {{table: {table}, starting_position: LATEST}}}}\n"
    )
    cfg = make_config(text, tmp_path, endpoint=moto_url)
    ddb = client(moto_url)
    with Harness(cfg) as first:
        for k in ("a", "b", "c"):
            ddb.put_item(TableName=table, Item={"pk": {"S": k}})  # type: ignore[attr-defined]
        first.wait_records(3)
        first.idle()
        arn = first.mapping("t")["stream_arn"]
        assert first.mapping("t")["resumed"] is False
    for k in ("d", "e"):  # written while router is down
        ddb.put_item(TableName=table, Item={"pk": {"S": k}})  # type: ignore[attr-defined]
    with sqlite3.connect(cfg.state_dir / "router.sqlite3") as conn:
        rows = conn.execute("SELECT mapping, stream_arn, sequence_number FROM checkpoints").fetchall()
    assert [(m, a) for m, a, _ in rows] == [("t", arn)]
    assert rows[0][2] == first.records()[-1]["dynamodb"]["SequenceNumber"]

    with Harness(cfg) as second:
        second.wait_records(2)
        second.idle()
        assert second.mapping("t")["resumed"] is True
        assert second.mapping("t")["stream_arn"] == arn  # the table was left as it was
        assert second.source is not None and "from checkpoint" in second.source.describe()[0]
    assert [k for e in second.events() for k in keys(e)] == ["d", "e"]


def test_a_missing_table_is_a_clear_error(tmp_path: Path, moto_url: str) -> None:
    text = "functions:\n  fn: {handler: h.handler}\ntriggers:\n  - {name: t, function: fn, dynamodb: nowhere}\n"
    cfg = make_config(text, tmp_path, endpoint=moto_url)
    with pytest.raises(StartupError, match=r"trigger 't': table 'nowhere' does not exist at http://127\.0\.0\.1"):
        with Harness(cfg):
            pass


def test_a_table_without_a_stream_is_a_clear_error(tmp_path: Path, moto_url: str) -> None:
    table = f"plain-{uuid.uuid4().hex[:8]}"
    client(moto_url).create_table(  # type: ignore[attr-defined]
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    text = f"functions:\n  fn: {{handler: h.handler}}\ntriggers:\n  - {{name: t, function: fn, dynamodb: {table}}}\n"
    cfg = make_config(text, tmp_path, endpoint=moto_url)
    with pytest.raises(StartupError, match=rf"table '{table}' has no stream enabled"):
        with Harness(cfg):
            pass


def test_a_bad_filter_is_a_clear_error(tmp_path: Path, moto_url: str) -> None:
    text = ("functions:\n  fn: {handler: h.handler}\ntriggers:\n"
            "  - {name: t, function: fn, dynamodb: {table: orders, filter: [{eventName: INSERT}]}}\n")  # fmt: skip
    # caught when the config is read (router validate), before anything starts
    with pytest.raises(ConfigError, match=r"triggers\[0\]\.dynamodb\.filter: filter\[0\]\.eventName: expected a list"):
        make_config(text, tmp_path, endpoint=moto_url)
