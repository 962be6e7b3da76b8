"""The S3 source with a real inotify observer, a real embedded AWS and a real state file
(events are recorded by a fake context instead of reaching workers; see s3_helpers)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from router.errors import ConfigError, UsageError
from router.events.s3 import encode_key

from .s3_helpers import Harness, make_config, summary, trigger

BOTH = "['s3:ObjectCreated:*', 's3:ObjectRemoved:*']"


def one(tmp_path: Path, extra: str = "") -> Harness:
    s3 = f"{{dir: drop/up, bucket: uploads, events: {BOTH}{extra}}}"
    return Harness(make_config(trigger("up", s3), tmp_path))


def names(h: Harness, count: int) -> list[str]:
    return [summary(e) for _, e in h.events(count)]


def seq(record: dict) -> int:  # type: ignore[type-arg]
    return int(record["s3"]["object"]["sequencer"], 16)


def body(h: Harness, bucket: str, key: str) -> bytes:
    data: bytes = h.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def test_a_new_file_is_one_put_with_its_size_md5_and_bytes_in_the_bucket(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        data = os.urandom(3000)
        (h.folder("up") / "cat.jpg").write_bytes(data)
        (record,) = h.records(1)
        assert record["eventName"] == "ObjectCreated:Put"
        assert record["eventSource"] == "aws:s3" and record["eventVersion"] == "2.1"
        assert record["awsRegion"] == "us-east-1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["eventTime"])
        s3 = record["s3"]
        assert s3["configurationId"] == "up"
        assert s3["bucket"]["name"] == "uploads" and s3["bucket"]["arn"] == "arn:aws:s3:::uploads"
        assert s3["object"]["key"] == "cat.jpg"
        assert s3["object"]["size"] == 3000
        assert s3["object"]["eTag"] == hashlib.md5(data).hexdigest()
        assert re.fullmatch(r"[0-9A-F]{18}", s3["object"]["sequencer"])
        assert body(h, "uploads", "cat.jpg") == data
        h.idle()
        assert h.count() == 1


def test_overwrite_is_another_put_with_a_larger_sequencer(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        path = h.folder("up") / "a.txt"
        path.write_bytes(b"one")
        first = h.records(1)[0]
        path.write_bytes(b"second version")
        second = h.records(2)[1]
        assert second["eventName"] == "ObjectCreated:Put"
        assert second["s3"]["object"]["size"] == len(b"second version")
        assert seq(second) > seq(first)
        assert body(h, "uploads", "a.txt") == b"second version"


def test_the_same_bytes_written_twice_are_two_puts(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        for _ in range(2):
            h.source.drop("up", "same.txt", b"same")  # type: ignore[union-attr]
        a, b = h.records(2)
        assert a["s3"]["object"]["eTag"] == b["s3"]["object"]["eTag"]
        assert seq(b) > seq(a)


def test_delete_is_a_delete_without_size_and_the_object_leaves_the_bucket(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        path = h.folder("up") / "a.txt"
        path.write_bytes(b"x")
        h.records(1)
        path.unlink()
        removed = h.records(2)[1]
        assert removed["eventName"] == "ObjectRemoved:Delete"
        assert "size" not in removed["s3"]["object"] and "eTag" not in removed["s3"]["object"]
        assert removed["s3"]["object"]["key"] == "a.txt"
        assert h.s3.list_objects_v2(Bucket="uploads").get("KeyCount") == 0


def test_move_in_and_move_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "in.txt").write_bytes(b"moved in")
    with one(tmp_path) as h:
        folder = h.folder("up")
        os.rename(outside / "in.txt", folder / "in.txt")
        assert names(h, 1) == ["ObjectCreated:Put uploads/in.txt"]
        assert body(h, "uploads", "in.txt") == b"moved in"
        os.rename(folder / "in.txt", outside / "back.txt")
        assert names(h, 2)[1] == "ObjectRemoved:Delete uploads/in.txt"
        h.idle()
        assert h.count() == 2


def test_rename_inside_is_a_delete_of_the_old_key_and_a_put_of_the_new(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        folder = h.folder("up")
        (folder / "old.txt").write_bytes(b"content")
        h.records(1)
        (folder / "dir").mkdir()
        os.rename(folder / "old.txt", folder / "dir" / "new.txt")
        got = names(h, 3)[1:]
        assert sorted(got) == [
            "ObjectCreated:Put uploads/dir/new.txt",
            "ObjectRemoved:Delete uploads/old.txt",
        ]
        assert body(h, "uploads", "dir/new.txt") == b"content"
        h.idle()
        assert h.count() == 3


def test_nested_folders_made_with_the_file(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        deep = h.folder("up") / "a" / "b" / "c"
        deep.mkdir(parents=True)
        (deep / "f.txt").write_bytes(b"deep")
        (h.folder("up") / "a" / "top.txt").write_bytes(b"top")
        got = sorted(names(h, 2))
        assert got == [
            "ObjectCreated:Put uploads/a/b/c/f.txt",
            "ObjectCreated:Put uploads/a/top.txt",
        ]
        h.idle()
        assert h.count() == 2


def test_files_already_in_a_new_folder_moved_in(tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "batch"
    (outside / "inner").mkdir(parents=True)
    (outside / "1.txt").write_bytes(b"1")
    (outside / "inner" / "2.txt").write_bytes(b"22")
    with one(tmp_path) as h:
        folder = h.folder("up")
        os.rename(outside, folder / "batch")
        put, delete = "ObjectCreated:Put uploads/", "ObjectRemoved:Delete uploads/"
        assert sorted(names(h, 2)) == [put + "batch/1.txt", put + "batch/inner/2.txt"]
        os.rename(folder / "batch", folder / "renamed")
        assert sorted(names(h, 6)[2:]) == [
            put + "renamed/1.txt", put + "renamed/inner/2.txt",
            delete + "batch/1.txt", delete + "batch/inner/2.txt",
        ]  # fmt: skip
        shutil.rmtree(folder / "renamed")
        assert sorted(names(h, 8)[6:]) == [delete + "renamed/1.txt", delete + "renamed/inner/2.txt"]
        h.idle()
        assert h.count() == 8


@pytest.mark.parametrize(
    "key", ["with space.txt", "ünïcødé/日本語.txt", "a+b=(c)&d%.txt", "x y/z w"]
)
def test_keys_with_spaces_and_unicode_are_url_encoded(tmp_path: Path, key: str) -> None:
    with one(tmp_path) as h:
        h.source.drop("up", key, b"k")  # type: ignore[union-attr]
        (record,) = h.records(1)
        assert record["s3"]["object"]["key"] == encode_key(key)
        assert "+" in encode_key(key) or " " not in key
        assert body(h, "uploads", key) == b"k"


def test_prefix_and_suffix_select_notifications_but_every_file_is_in_the_bucket(
    tmp_path: Path,
) -> None:
    with one(tmp_path, ", prefix: images/, suffix: .jpg") as h:
        for key in ["images/a.jpg", "images/a.png", "docs/b.jpg", "b.jpg", "images/deep/c.jpg"]:
            h.source.drop("up", key, key.encode())  # type: ignore[union-attr]
        got = sorted(names(h, 2))
        assert got == [
            "ObjectCreated:Put uploads/images/a.jpg",
            "ObjectCreated:Put uploads/images/deep/c.jpg",
        ]
        h.idle()
        assert h.count() == 2
        listed = {o["Key"] for o in h.s3.list_objects_v2(Bucket="uploads")["Contents"]}
        assert listed == {
            "images/a.jpg",
            "images/a.png",
            "docs/b.jpg",
            "b.jpg",
            "images/deep/c.jpg",
        }


def test_event_types_filter_removals(tmp_path: Path) -> None:
    cfg = make_config(trigger("up", "{dir: drop/up, bucket: uploads}"), tmp_path)  # created only
    with Harness(cfg) as h:
        path = h.folder("up") / "a.txt"
        path.write_bytes(b"a")
        h.records(1)
        path.unlink()
        h.idle()
        assert h.count() == 1
        assert h.s3.list_objects_v2(Bucket="uploads").get("KeyCount") == 0


TEMP_NAMES = [".a.txt.swp", "a.txt~", "movie.part", "x.tmp", ".#a.txt", "4913", "d.crdownload"]


def test_editor_and_temporary_files_are_ignored(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        folder = h.folder("up")
        for name in TEMP_NAMES:
            (folder / name).write_bytes(b"tmp")
            (folder / name).unlink()
        (folder / "report.txt.tmp").write_bytes(b"final")  # a save through a temporary name
        os.rename(folder / "report.txt.tmp", folder / "report.txt")
        assert names(h, 1) == ["ObjectCreated:Put uploads/report.txt"]
        h.idle()
        assert h.count() == 1
        assert [o["Key"] for o in h.s3.list_objects_v2(Bucket="uploads")["Contents"]] == [
            "report.txt"
        ]


def test_ignore_can_be_emptied(tmp_path: Path) -> None:
    with one(tmp_path, ", ignore: []") as h:
        (h.folder("up") / "x.tmp").write_bytes(b"t")
        assert names(h, 1) == ["ObjectCreated:Put uploads/x.tmp"]


def test_a_partially_written_large_file_is_one_event_after_the_write(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        chunk = os.urandom(1 << 20)
        with open(h.folder("up") / "big.bin", "wb") as f:
            for _ in range(16):
                f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            assert h.count() == 0
        (record,) = h.records(1)
        assert record["s3"]["object"]["size"] == 16 << 20
        assert record["s3"]["object"]["eTag"] == hashlib.md5(chunk * 16).hexdigest()
        h.idle()
        assert h.count() == 1


def test_two_triggers_on_one_folder(tmp_path: Path) -> None:
    triggers = trigger("all", f"{{dir: drop/shared, bucket: one, events: {BOTH}}}") + trigger(
        "jpg", "{dir: drop/shared, bucket: two, suffix: .jpg}", "other"
    )
    with Harness(make_config(triggers, tmp_path)) as h:
        assert h.folder("all") == h.folder("jpg")
        h.source.drop("all", "p.jpg", b"jpg")  # type: ignore[union-attr]
        h.source.drop("all", "t.txt", b"txt")  # type: ignore[union-attr]
        got = sorted((name, summary(e)) for name, e in h.events(3))
        put = "ObjectCreated:Put "
        assert got == [
            ("all", put + "one/p.jpg"),
            ("all", put + "one/t.txt"),
            ("jpg", put + "two/p.jpg"),
        ]
        assert body(h, "one", "t.txt") == b"txt" and body(h, "two", "p.jpg") == b"jpg"


def test_bucket_defaults_to_the_folder_name(tmp_path: Path) -> None:
    with Harness(make_config(trigger("t", "drop/my-bucket"), tmp_path)) as h:
        h.source.drop("t", "k", b"v")  # type: ignore[union-attr]
        assert h.records(1)[0]["s3"]["bucket"]["name"] == "my-bucket"


def test_drop_remove_folder_api(tmp_path: Path) -> None:
    with one(tmp_path) as h:
        src = h.source
        assert src is not None
        path = src.drop("up", "in/side.txt", b"abc")
        assert path == src.folder("up") / "in" / "side.txt" and path.read_bytes() == b"abc"
        src.remove("up", "in/side.txt")
        assert names(h, 2) == [
            "ObjectCreated:Put uploads/in/side.txt",
            "ObjectRemoved:Delete uploads/in/side.txt",
        ]
        for bad in ["", "/abs", "../out", "a/../b", "a//b", "a\\b"]:
            with pytest.raises(UsageError, match="s3 key"):
                src.drop("up", bad, b"")
        with pytest.raises(UsageError, match="no file"):
            src.remove("up", "missing.txt")
        with pytest.raises(UsageError, match="no enabled s3 trigger named 'nope'"):
            src.folder("nope")
        assert src.describe() == [
            f"s3 watch        {src.folder('up')}  bucket uploads  "
            "events ObjectCreated:*,ObjectRemoved:*  -> fn  [up]  (folder created)  (inotify)"
        ]


def test_create_false_and_a_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    # caught when the config is read (router validate), before anything starts
    with pytest.raises(ConfigError, match=r"triggers\[0\]\.s3\.dir: folder .*nowhere does not exist \(create: false\)"):
        make_config(trigger("up", "{dir: nowhere, create: false}"), tmp_path)
    (tmp_path / "afile").write_text("x")
    cfg = make_config(trigger("up", "{dir: afile, bucket: abc}"), tmp_path)
    with pytest.raises(ConfigError, match="is not a folder"):
        with Harness(cfg):
            pass


def test_symlinks_are_not_followed_out_of_the_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret")
    with one(tmp_path) as h:
        folder = h.folder("up")
        (folder / "inside.txt").write_bytes(b"inside")
        h.records(1)
        os.symlink(secret, tmp_path / "link-out")
        os.rename(tmp_path / "link-out", folder / "link-out")  # moved in: a Put would read it
        os.symlink(folder / "inside.txt", tmp_path / "link-in")
        os.rename(tmp_path / "link-in", folder / "link-in")
        assert names(h, 2)[1] == "ObjectCreated:Put uploads/link-in"
        h.idle()
        assert h.count() == 2
        assert (
            "link-out is a symlink to" in caplog.text
            and "outside the watched folder" in caplog.text
        )
        keys = {o["Key"] for o in h.s3.list_objects_v2(Bucket="uploads")["Contents"]}
        assert keys == {"inside.txt", "link-in"}


def test_a_file_that_vanishes_is_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from router.sources.s3_watch import Hint

    with one(tmp_path) as h:
        assert h.source is not None and h.source.syncer is not None
        root = str(h.folder("up"))
        h.source.syncer.submit(Hint("closed", root, os.path.join(root, "gone.txt")))
        h.source.drop("up", "after.txt", b"ok")
        assert names(h, 1) == ["ObjectCreated:Put uploads/after.txt"]
        assert f"{root}/gone.txt vanished before it could be read; skipped" in caplog.text


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with one(tmp_path) as h:
        path = h.folder("up") / "locked.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o000)
        os.write(fd, b"x")
        os.close(fd)
        h.source.drop("up", "after.txt", b"ok")  # type: ignore[union-attr]
        assert names(h, 1) == ["ObjectCreated:Put uploads/after.txt"]
        assert "cannot read" in caplog.text and "locked.txt" in caplog.text


def test_a_failed_emit_is_not_recorded_so_a_rescan_reports_it(tmp_path: Path) -> None:
    from router.sources.s3_watch import Hint

    cfg = make_config(trigger("up", f"{{dir: drop/up, bucket: uploads, events: {BOTH}}}"), tmp_path)
    with Harness(cfg, fail_emits=1) as h:
        assert h.source is not None and h.source.syncer is not None
        h.source.drop("up", "a.txt", b"a")
        h.idle()
        assert h.count() == 0
        h.source.syncer.submit(Hint("overflow", str(h.folder("up"))))
        assert names(h, 1) == ["ObjectCreated:Put uploads/a.txt"]


def test_the_polling_observer_settles_writes(tmp_path: Path) -> None:
    cfg = make_config(
        trigger("up", f"{{dir: drop/up, bucket: uploads, events: {BOTH}, settle: 0.3}}"), tmp_path
    )
    with Harness(cfg, polling=True) as h:
        folder = h.folder("up")
        (folder / "sub").mkdir()
        (folder / "sub" / "a.txt").write_bytes(b"a")
        assert names(h, 1) == ["ObjectCreated:Put uploads/sub/a.txt"]
        (folder / "sub" / "a.txt").write_bytes(b"bb")
        assert h.records(2)[1]["s3"]["object"]["size"] == 2
        os.rename(folder / "sub" / "a.txt", folder / "b.txt")
        assert sorted(names(h, 4)[2:]) == [
            "ObjectCreated:Put uploads/b.txt",
            "ObjectRemoved:Delete uploads/sub/a.txt",
        ]
        (folder / "b.txt").unlink()
        assert names(h, 5)[4] == "ObjectRemoved:Delete uploads/b.txt"
        h.idle()
        assert h.count() == 5


def test_the_state_folder_inside_a_watched_folder_is_never_reported(tmp_path: Path) -> None:
    cfg = make_config(trigger("here", f"{{dir: ., bucket: here, events: {BOTH}}}"), tmp_path)
    assert cfg.state_dir.is_relative_to(tmp_path)
    with Harness(cfg) as h:
        h.source.drop("here", "a.txt", b"a")  # type: ignore[union-attr]
        (cfg.state_dir / "other.txt").write_bytes(b"router's own")
        assert names(h, 1) == ["ObjectCreated:Put here/a.txt"]
        h.idle()
        assert h.count() == 1
        keys = {o["Key"] for o in h.s3.list_objects_v2(Bucket="here")["Contents"]}
        assert keys == {"a.txt"}


def test_a_quick_overwrite_reports_only_settled_bytes(tmp_path: Path) -> None:
    """Issue 17: five quick overwrites once gave a Put of size 0 (read while the next write had
    truncated the file). Every event now describes bytes that were the whole file, and exactly
    the bytes put into the bucket; the last version is reported."""
    versions = [bytes([65 + i]) * (1000 * (i + 1)) for i in range(5)]
    with one(tmp_path) as h:
        path = h.folder("up") / "busy.bin"
        for _ in range(3):
            for data in versions:
                with open(path, "wb") as f:  # truncates, then writes
                    f.write(data[: len(data) // 2])
                    f.flush()  # the first half is the file for a moment
                    f.write(data[len(data) // 2 :])
        h.idle()
        records = [r for _, e in h.events(h.count()) for r in e["Records"]]
        assert records, "the overwrites were not reported"
        whole = {(len(v), hashlib.md5(v).hexdigest()) for v in versions}
        for r in records:
            assert (r["s3"]["object"]["size"], r["s3"]["object"]["eTag"]) in whole
        last = records[-1]["s3"]["object"]
        assert (last["size"], last["eTag"]) == (5000, hashlib.md5(versions[-1]).hexdigest())
        assert body(h, "uploads", "busy.bin") == versions[-1]
