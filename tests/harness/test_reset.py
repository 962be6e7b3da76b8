"""Router.reset(): every kind of state goes back to what start made, warm workers stay warm."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from router import Router, WaitTimeout, aws

pytestmark = pytest.mark.slow
DEMO = Path(__file__).resolve().parents[2] / "triggers.yaml"

FAILING = """
version: 1
functions:
  fails:
    handler: handler.handler
    async: {retries: %(retries)d, retry_delays: [60, 60]}
triggers: []
"""


@pytest.fixture()
def r() -> Iterator[Router]:
    with Router(DEMO) as router:
        yield router


@pytest.fixture()
def failing(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Router]:
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    raise ValueError('no')\n")
    retries = getattr(request, "param", 2)
    with Router.from_text(FAILING % {"retries": retries}, tmp_path, clock="manual") as router:
        yield router


def rows(r: Router, table: str) -> int:
    r.app.dispatcher.history()  # the journal's rows are written
    assert r.app.store is not None
    with closing(r.app.store.connect()) as conn:
        count: int = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return count


def test_tables_come_back_with_their_seed_and_buckets_empty(r: Router) -> None:
    ddb, s3 = r.aws.client("dynamodb"), r.aws.client("s3")
    seed = sorted((i["pk"]["S"], i["sk"]["S"]) for i in ddb.scan(TableName="orders")["Items"])
    ddb.put_item(TableName="orders", Item={"pk": {"S": "left"}, "sk": {"S": "over"}})
    ddb.create_table(TableName="scratch", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")  # fmt: skip
    s3.put_object(Bucket="uploads", Key="left/over.txt", Body=b"x")
    alone = aws._embedded_alone()  # (a session router of the plugin may share the embedded AWS)
    r.reset()
    assert sorted((i["pk"]["S"], i["sk"]["S"]) for i in ddb.scan(TableName="orders")["Items"]) == seed
    # alone, everything else in the account goes too; shared, only the config's resources are touched
    assert ("scratch" in ddb.list_tables()["TableNames"]) is not alone
    assert s3.list_objects_v2(Bucket="uploads").get("KeyCount") == 0


def test_s3_folders_are_emptied_and_what_was_reported_forgotten(r: Router) -> None:
    r.drop("uploads", "a/cat.jpg", b"meow")
    assert r.wait("thumbnail", timeout=20).ok
    folder = r.app.source("s3").folder("uploads")
    r.reset()
    assert [p for p in folder.rglob("*") if not p.is_dir()] == [] and rows(r, "s3_objects") == 0
    assert (folder / "a").is_dir()  # folders stay (no S3 objects; still watched)
    r.drop("uploads", "a/cat.jpg", b"meow")  # the same file again is news after a reset
    inv = r.wait("thumbnail", timeout=20)
    assert inv.ok and inv.event["Records"][0]["s3"]["object"]["key"] == "a/cat.jpg"


def test_s3_watching_goes_on_through_a_reset_without_stray_events(r: Router) -> None:
    source = r.app.source("s3")
    watcher, syncer = source.watcher, source.syncer
    folder = source.folder("uploads")
    for n in range(5):
        r.drop("uploads", f"old/{n}.txt", b"x")
    for _ in range(5):
        assert r.wait("thumbnail", timeout=20).ok
    r.reset()
    assert source.watcher is watcher and source.syncer is syncer  # paused, not restarted
    (folder / "new.txt").write_bytes(b"written by another program")  # not router's drop(): settled first
    inv = r.wait("thumbnail", timeout=20)
    assert [rec["eventName"] for rec in inv.event["Records"]] == ["ObjectCreated:Put"]
    assert inv.event["Records"][0]["s3"]["object"]["key"] == "new.txt"
    with pytest.raises(WaitTimeout):  # the five emptied files: no ObjectRemoved after the reset
        r.wait("thumbnail", timeout=1)
    keys = [o["Key"] for o in r.aws.client("s3").list_objects_v2(Bucket="uploads").get("Contents", [])]
    assert keys == ["new.txt"]


def test_a_users_own_folder_is_kept_and_mirrored_quietly_after_a_reset(tmp_path: Path) -> None:
    handler = "def handler(event, context):\n    return event['Records'][0]['s3']['object']['key']\n"
    (tmp_path / "h.py").write_text(handler)
    (tmp_path / "in").mkdir()
    (tmp_path / "triggers.yaml").write_text(
        "functions:\n  f: {handler: h.handler}\n"
        "triggers:\n  - {name: up, function: f, s3: {dir: in, bucket: ups}}\n")  # fmt: skip
    with Router(tmp_path / "triggers.yaml", isolated=False) as r:
        r.drop("up", "kept.txt", b"mine")
        assert r.wait("f", timeout=20).result == "kept.txt"
        r.reset()
        assert (tmp_path / "in" / "kept.txt").read_bytes() == b"mine"  # never emptied: the user's
        body = r.aws.client("s3").get_object(Bucket="ups", Key="kept.txt")["Body"].read()
        assert body == b"mine"  # in the fresh bucket again, quietly:
        with pytest.raises(WaitTimeout):
            r.wait("f", timeout=1)
        r.drop("up", "next.txt", b"more")
        assert r.wait("f", timeout=20).result == "next.txt"


def test_queued_events_and_delayed_retries_are_dropped(failing: Router) -> None:
    failing.invoke_async("fails", {"n": 1})
    assert failing.wait("fails", timeout=20).status == "error"  # the retry waits 60 s (manual clock)
    assert failing.app.dispatcher.pending() >= 1 and rows(failing, "queue") == 1  # (its task may still be settling)
    failing.reset()
    assert failing.app.dispatcher.pending() == 0 and rows(failing, "queue") == 0
    failing.advance(300)
    with pytest.raises(WaitTimeout):
        failing.wait("fails", timeout=0.5)


@pytest.mark.parametrize("failing", [0], indirect=True)
def test_dead_letters_are_dropped(failing: Router) -> None:
    failing.invoke_async("fails", {"n": 1})
    failing.wait("fails", timeout=20)
    failing.app.dispatcher.history()
    deadline_rows = 0
    for _ in range(200):  # the dead letter is written right after the attempt is recorded
        deadline_rows = len(failing.app.dispatcher.dead_letters())
        if deadline_rows:
            break
        failing.call(_tick())
    assert deadline_rows == 1
    failing.reset()
    assert failing.app.dispatcher.dead_letters() == []


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.01)


def test_journal_and_invocations_are_emptied(r: Router) -> None:
    r.invoke("hello", {})
    assert len(r.app.dispatcher.history()) == 1 and len(r.invocations()) == 1
    r.reset()
    assert r.app.dispatcher.history() == [] and r.invocations() == []


def test_stream_mappings_start_over_on_the_fresh_table(r: Router) -> None:
    ddb = r.aws.client("dynamodb")
    before = r.app.source("dynamodb").mappings()[0]["stream_arn"]
    ddb.put_item(TableName="orders", Item={"pk": {"S": "c#1"}, "sk": {"S": "o#1"}, "status": {"S": "new"}})
    assert r.wait("on_order", timeout=20).ok
    assert rows(r, "checkpoints") == 1
    r.reset()
    assert rows(r, "checkpoints") == 0
    mapping = r.app.source("dynamodb").mappings()[0]
    assert mapping["stream_arn"] != before and mapping["resumed"] is False
    ddb.put_item(TableName="orders", Item={"pk": {"S": "c#2"}, "sk": {"S": "o#1"}, "status": {"S": "new"}})
    inv = r.wait("on_order", timeout=20)
    assert [rec["dynamodb"]["Keys"]["pk"]["S"] for rec in inv.event["Records"]] == ["c#2"]


def test_manual_clock_goes_back_to_its_start(tmp_path: Path) -> None:
    with Router(DEMO, clock="manual") as r:
        start = r.clock.time()
        r.advance(3600)
        assert r.clock.time() == pytest.approx(start + 3600)
        r.reset()
        assert r.clock.time() == start


def test_workers_stay_warm_unless_asked(r: Router) -> None:
    assert r.invoke("hello", {}).init_duration_ms is not None  # cold
    r.reset()
    assert r.invoke("hello", {}).init_duration_ms is None  # warm after a reset
    r.reset(workers=True)
    assert r.invoke("hello", {}).init_duration_ms is not None  # a new worker


def test_beside_another_router_only_the_configs_resources_are_reset(r: Router) -> None:
    with Router(DEMO):  # shares the process's embedded AWS (moto keeps one state per process)
        ddb, s3 = r.aws.client("dynamodb"), r.aws.client("s3")
        ddb.put_item(TableName="orders", Item={"pk": {"S": "left"}, "sk": {"S": "over"}})
        ddb.create_table(TableName="theirs", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")  # fmt: skip
        s3.put_object(Bucket="uploads", Key="left/over.txt", Body=b"x")
        r.reset()
        assert "left" not in {i["pk"]["S"] for i in ddb.scan(TableName="orders")["Items"]}
        assert "theirs" in ddb.list_tables()["TableNames"]
        assert s3.list_objects_v2(Bucket="uploads").get("KeyCount") == 0


MESSAGING = """
version: 1
functions:
  echo: {handler: h.echo}
resources:
  queues: {jobs: {}, parked: {}}
  topics: {news: {}}
  buses: [shop-bus]
triggers:
  - {name: jobs, function: echo, sqs: jobs}
  - {name: news, function: echo, sns: news}
  - {name: placed, function: echo, eventbridge: {bus: shop-bus, pattern: {source: [shop]}}}
"""


def test_queues_topics_and_buses_are_emptied_and_their_triggers_still_fire(tmp_path: Path) -> None:
    (tmp_path / "h.py").write_text("def echo(event, context):\n    return event\n")
    with Router.from_text(MESSAGING, tmp_path) as r:
        sqs = r.aws.client("sqs")
        parked = sqs.get_queue_url(QueueName="parked")["QueueUrl"]
        sqs.send_message(QueueUrl=parked, MessageBody="left over")  # a queue without a trigger
        sqs.create_queue(QueueName="made-by-a-handler")
        r.send("jobs", {"n": 1})
        assert r.wait("echo", timeout=20).event["Records"][0]["eventSource"] == "aws:sqs"
        r.reset()
        attrs = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="parked")["QueueUrl"],
                                         AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]  # fmt: skip
        assert attrs["ApproximateNumberOfMessages"] == "0"
        names = [u.rsplit("/", 1)[-1] for u in sqs.list_queues().get("QueueUrls", [])]
        assert sorted(n for n in names if n in ("jobs", "parked", "made-by-a-handler")) == (
            ["jobs", "parked"] if aws._embedded_alone() else ["jobs", "made-by-a-handler", "parked"])  # fmt: skip
        assert r.invocations() == []
        r.send("jobs", {"n": 2})  # each trigger fires on the re-created resources
        assert r.wait("echo", timeout=20).event["Records"][0]["body"] == '{"n": 2}'
        r.publish("news", "hello")
        assert r.wait("echo", timeout=20).event["Records"][0]["Sns"]["Message"] == "hello"
        r.put_event("shop", "placed", {"id": 7}, bus="shop-bus")
        assert r.wait("echo", timeout=20).event["detail"] == {"id": 7}
        with pytest.raises(WaitTimeout):  # nothing from before the reset comes back
            r.wait("echo", timeout=1)
