"""Fast checks of the SDK-write notifications: the config, moto's functions router wraps (the
moto versions pyproject allows), S3's key refusals, the notifier's filters and records, and
the lineage bookkeeping."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model

from router import lineage
from router.aws_notify import S3Write, s3_key_problem
from router.config import load_config
from router.errors import ConfigError
from router.sources.s3_api import Notifier, Sequencer


def config(tmp_path: Path, s3: str) -> Any:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / "triggers.yaml"
    path.write_text(f"functions:\n  app: {{handler: app.handler}}\ntriggers:\n  - function: app\n    s3: {s3}\n")
    return load_config(path)


def test_a_trigger_may_name_only_a_bucket(tmp_path: Path) -> None:
    spec = config(tmp_path, "{bucket: photos}").triggers[0].s3
    assert spec.dir is None and spec.bucket == "photos" and spec.mirror is True


def test_a_trigger_needs_a_folder_or_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config(tmp_path, "{prefix: in/}")
    (issue,) = info.value.issues
    assert issue.path == "triggers[0].s3" and issue.line == 5
    assert "'dir'" in issue.message and "'bucket'" in issue.message
    assert str(issue).startswith(f"{tmp_path / 'triggers.yaml'}:5:")


def test_the_moto_functions_router_wraps_keep_their_shape() -> None:
    """Pinned for moto 5.1.0 .. 5.x (pyproject: moto>=5.1,<6), read in their sources: the
    names and parameters aws_notify relies on. (This file, test_s3_api_e2e.py and
    test_event_chain.py also pass with moto 5.1.0 on PYTHONPATH: 2026-12-06, moto 5.2.6 here.)"""
    from moto.dynamodb.models.table import StreamShard
    from moto.s3 import notifications
    from moto.s3.models import S3Backend

    assert list(inspect.signature(notifications.send_event).parameters) == ["account_id", "event_name", "bucket", "key"]
    delete = list(inspect.signature(inspect.unwrap(S3Backend.delete_object)).parameters)
    assert delete[:4] == ["self", "bucket_name", "key_name", "version_id"]
    assert "request_method" in inspect.signature(S3Backend.put_object).parameters  # POST -> ObjectCreated:Post
    assert callable(S3Backend.complete_multipart_upload)
    assert list(inspect.signature(inspect.unwrap(StreamShard.add)).parameters) == ["self", "old", "new"]
    assert {e.value for e in notifications.S3NotificationEvent} >= {
        "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:Delete",
    }  # fmt: skip


def environ(path: str, host: str = "127.0.0.1:4566", service: str = "s3") -> dict[str, Any]:
    auth = f"AWS4-HMAC-SHA256 Credential=AKIAROUTERXXXXXXXXXX/20260101/us-east-1/{service}/aws4_request, Sig=x"
    return {"PATH_INFO": path, "HTTP_HOST": host, "HTTP_AUTHORIZATION": auth}


def test_keys_s3_refuses() -> None:
    too_long = s3_key_problem(environ("/photos/" + "k" * 1025))
    assert too_long is not None and too_long[0] == 400 and b"<Code>KeyTooLongError</Code>" in too_long[2]
    assert s3_key_problem(environ("/photos/" + "k" * 1024)) is None
    assert s3_key_problem(environ("/" + "k" * 1025, host="photos.localhost:4566")) is not None  # virtual-hosted
    not_utf8 = s3_key_problem(environ("/photos/bad\xff\xfe"))  # (WSGI: the path's bytes as latin-1)
    assert not_utf8 is not None and b"<Code>InvalidURI</Code>" in not_utf8[2]
    assert s3_key_problem(environ("/photos/" + "é".encode().decode("latin-1"))) is None
    assert s3_key_problem(environ("/x/" + "k" * 2000, service="dynamodb")) is None  # not S3


def notifier(tmp_path: Path, s3: str) -> tuple[Notifier, list[tuple[Any, Any, Any]]]:
    sent: list[tuple[Any, Any, Any]] = []

    def submit(trigger: Any, event: Any, cause: Any = None) -> str:
        sent.append((trigger, event, cause))
        return "id"

    triggers = list(config(tmp_path, s3).triggers)
    return Notifier(triggers, submit=submit, region="eu-west-1", now=lambda: 1_700_000_000.0), sent


def write(event: str, key: str, **kw: Any) -> S3Write:
    created = event.startswith("ObjectCreated")
    return S3Write(event=event, bucket=kw.pop("bucket", "photos"), key=key, size=3 if created else None,
                   etag="abc" if created else None, version_id=kw.pop("version_id", None))  # fmt: skip


def test_the_notifier_filters_and_builds_records(tmp_path: Path) -> None:
    n, sent = notifier(tmp_path, "{bucket: photos, prefix: in/, suffix: .jpg, events: ['s3:ObjectCreated:*', "
                       "'s3:ObjectRemoved:DeleteMarkerCreated']}")  # fmt: skip
    n.written(write("ObjectCreated:Put", "in/a.png"), None)
    n.written(write("ObjectCreated:Put", "out/a.jpg"), None)
    n.written(write("ObjectCreated:Put", "in/a.jpg", bucket="other"), None)  # no trigger: nothing
    n.written(write("ObjectRemoved:Delete", "in/a.jpg"), None)
    assert sent == []
    cause = {"function": "app", "request_id": "r1", "chain": {"app": 1}}
    n.written(write("ObjectCreated:Copy", "in/red flower.jpg"), cause)
    n.written(write("ObjectRemoved:DeleteMarkerCreated", "in/red flower.jpg", version_id="v2"), None)
    assert [s[2] for s in sent] == [cause, None]
    records = [S3Model.model_validate(s[1]).Records[0] for s in sent]
    assert [r.eventName for r in records] == ["ObjectCreated:Copy", "ObjectRemoved:DeleteMarkerCreated"]
    assert records[0].s3.object.key == "in/red+flower.jpg" and records[0].s3.object.size == 3
    assert records[1].s3.object.versionId == "v2" and records[1].s3.object.size is None
    assert records[0].s3.object.sequencer < records[1].s3.object.sequencer
    assert records[0].awsRegion == "eu-west-1" and records[0].s3.bucket.name == "photos"


def test_sequencers_grow_within_one_millisecond() -> None:
    seq = Sequencer(now=lambda: 1_700_000_000.0)
    texts = [seq.next() for _ in range(3)]
    assert texts == sorted(texts) and len(set(texts)) == 3 and all(len(t) == 18 for t in texts)


def test_lineage_names_the_writer_and_counts_the_chain() -> None:
    lin = lineage.Lineage()
    lin.functions(["a", "b"])
    key = lineage.key_id("a")
    assert lineage.request_key_id(f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/s3/aws4_request") == key
    assert lineage.request_key_id("", f"X-Amz-Credential={key}%2F20260101%2Fus-east-1") == key
    assert lin.cause(lineage.key_id("c")) is None and lin.cause(None) is None  # not a function's key
    assert lin.cause(key) == {"function": "a"}  # nothing running
    chain = lin.begin("a", "r1", {"function": "b", "request_id": "r0", "chain": {"b": 1}})
    assert chain == {"b": 1, "a": 1}
    assert lin.cause(key) == {"function": "a", "request_id": "r1", "chain": {"b": 1, "a": 1}}
    lin.begin("a", "r2", {"function": "a", "chain": {"a": 5}})
    assert lin.cause(key) == {"function": "a", "chain": {"b": 1, "a": 6}}  # two running: the longest chain
    lin.end("a", "r1")
    lin.end("a", "r2")
    assert lineage.loop_count({"chain": {"a": 16}}, "a") == 17 and lineage.loop_count(None, "a") == 1
    assert lin.first_loop_warning("a") and not lin.first_loop_warning("a")


def test_stream_records_remember_their_writer() -> None:
    lin = lineage.Lineage()
    cause = {"function": "a", "request_id": "r1"}
    lin.note_stream("thumbs", "100", cause)
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/thumbs/stream/2026"
    event = {"Records": [{"eventSourceARN": arn, "dynamodb": {"SequenceNumber": "99"}},
                         {"eventSourceARN": arn, "dynamodb": {"SequenceNumber": "100"}}]}  # fmt: skip
    assert lin.stream_cause(event) == cause
    assert lin.stream_cause({"Records": [{"eventSourceARN": arn}]}) is None and lin.stream_cause("x") is None


def test_one_lineage_per_config_file_learns_new_functions(tmp_path: Path) -> None:
    first = config(tmp_path, "{bucket: photos}")
    lin = lineage.of(first)
    assert lin.function_of(lineage.key_id("app")) == "app" and lin.function_of(lineage.key_id("new")) is None
    edited = first.model_copy(update={"functions": {**first.functions, "new": first.functions["app"]}})
    assert lineage.of(edited) is lin  # (a live edit: Dispatcher.update calls it again)
    assert lin.function_of(lineage.key_id("new")) == "new"
