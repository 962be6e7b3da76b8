"""S3 notifications of writes through the embedded AWS, end to end: a real Router (embedded
moto server, durable queue, real workers); boto3 writes from the test and from handlers."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model

from router import Router
from router.lineage import key_id

pytestmark = pytest.mark.slow

RECORDER = '''
def handler(event, context):
    return [r["eventName"] for r in event["Records"]]
'''

WRITER = '''
import json
import boto3

s3 = boto3.client("s3")


def handler(event, context):
    op = event["op"]
    if op == "put":
        s3.put_object(Bucket="photos", Key=event["key"], Body=event.get("body", "x").encode())
    elif op == "copy":
        s3.copy_object(Bucket="photos", Key=event["key"], CopySource={"Bucket": "photos", "Key": event["src"]})
    elif op == "delete":
        s3.delete_object(Bucket="photos", Key=event["key"])
    elif op == "delete_objects":
        s3.delete_objects(Bucket="photos", Delete={"Objects": [{"Key": k} for k in event["keys"]]})
    elif op == "multipart":
        up = s3.create_multipart_upload(Bucket="photos", Key=event["key"])
        part = s3.upload_part(Bucket="photos", Key=event["key"], UploadId=up["UploadId"], PartNumber=1,
                              Body=b"m" * 100)
        s3.complete_multipart_upload(Bucket="photos", Key=event["key"], UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    return "done"
'''

LOOPER = '''
import boto3

s3 = boto3.client("s3")


def handler(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    s3.put_object(Bucket="loop", Key="again/" + key.rsplit("/", 1)[-1], Body=b"1")
'''


def project(tmp_path: Path, triggers: str, *, functions: str = "") -> Router:
    (tmp_path / "rec.py").write_text(RECORDER)
    (tmp_path / "writer.py").write_text(WRITER)
    (tmp_path / "looper.py").write_text(LOOPER)
    text = f"""
version: 1
functions:
  rec: {{handler: rec.handler, timeout: 10}}
  writer: {{handler: writer.handler, timeout: 10}}
{functions}
triggers:
{triggers}
"""
    return Router.from_text(text, tmp_path)


ALL = '["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]'


def records(r: Router, count: int, function: str = "rec") -> list[dict[str, Any]]:
    """The records of the next ``count`` invocations of ``function``, each checked by powertools."""
    invs = r.wait(function, count=count, timeout=30)
    invs = invs if isinstance(invs, list) else [invs]
    out = []
    for inv in invs:
        assert inv.ok, inv.error
        S3Model.model_validate(inv.event)
        out.extend(inv.event["Records"])
    return out


def quiet(r: Router, function: str = "rec", settle: float = 0.5) -> int:
    """How many invocations ``function`` has once nothing more arrives for ``settle`` s."""
    time.sleep(settle)
    return len(r.invocations(function))


def test_every_write_from_a_test_fires_one_event_of_its_name(tmp_path: Path) -> None:
    with project(tmp_path, f"  - {{function: rec, s3: {{bucket: photos, events: {ALL}}}}}\n") as r:
        s3 = r.aws.client("s3")
        s3.put_object(Bucket="photos", Key="a/red flower.jpg", Body=b"hello")
        (rec,) = records(r, 1)
        obj = rec["s3"]["object"]
        assert rec["eventName"] == "ObjectCreated:Put" and obj["key"] == "a/red+flower.jpg"
        assert obj["size"] == 5 and obj["eTag"] == hashlib.md5(b"hello").hexdigest()
        assert "versionId" not in obj
        s3.copy_object(Bucket="photos", Key="b.jpg", CopySource={"Bucket": "photos", "Key": "a/red flower.jpg"})
        assert [x["eventName"] for x in records(r, 1)] == ["ObjectCreated:Copy"]
        up = s3.create_multipart_upload(Bucket="photos", Key="big.bin")
        part = s3.upload_part(Bucket="photos", Key="big.bin", UploadId=up["UploadId"], PartNumber=1, Body=b"p" * 10)
        s3.complete_multipart_upload(Bucket="photos", Key="big.bin", UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})  # fmt: skip
        (multipart,) = records(r, 1)
        assert multipart["eventName"] == "ObjectCreated:CompleteMultipartUpload"
        assert multipart["s3"]["object"]["size"] == 10 and multipart["s3"]["object"]["eTag"].endswith("-1")
        s3.delete_object(Bucket="photos", Key="b.jpg")
        assert [x["eventName"] for x in records(r, 1)] == ["ObjectRemoved:Delete"]
        s3.delete_objects(Bucket="photos", Delete={"Objects": [{"Key": "a/red flower.jpg"}, {"Key": "big.bin"}]})
        removed = records(r, 2)
        assert sorted(x["s3"]["object"]["key"] for x in removed) == ["a/red+flower.jpg", "big.bin"]
        assert {x["eventName"] for x in removed} == {"ObjectRemoved:Delete"}
        assert "size" not in removed[0]["s3"]["object"]
        assert quiet(r) == 6  # exactly one each: no Put for the multipart upload, no doubles
        seqs = [int(i.event["Records"][0]["s3"]["object"]["sequencer"], 16) for i in r.invocations("rec")]
        assert seqs[0] < seqs[1] and seqs[1] < seqs[3]  # (grows per key)


def test_filters_and_buckets_without_a_trigger(tmp_path: Path) -> None:
    triggers = ("  - {function: rec, s3: {bucket: photos, prefix: in/, suffix: .jpg}}\n"
                "  - {function: writer, s3: {bucket: other, events: [s3:ObjectRemoved:*]}}\n")  # fmt: skip
    with project(tmp_path, triggers + "resources: {buckets: [untriggered]}\n") as r:
        s3 = r.aws.client("s3")
        for key in ("in/a.png", "out/b.jpg", "in/c.jpg"):
            s3.put_object(Bucket="photos", Key=key, Body=b"x")
        s3.put_object(Bucket="other", Key="in/c.jpg", Body=b"x")  # the trigger wants removals only
        s3.put_object(Bucket="untriggered", Key="in/c.jpg", Body=b"x")
        s3.delete_object(Bucket="photos", Key="in/c.jpg")  # created events only (the default)
        assert [x["s3"]["object"]["key"] for x in records(r, 1)] == ["in/c.jpg"]
        assert quiet(r) == 1 and r.invocations("writer") == []


def test_versioned_bucket_delete_marker_and_version_delete(tmp_path: Path) -> None:
    with project(tmp_path, f"  - {{function: rec, s3: {{bucket: photos, events: {ALL}}}}}\n") as r:
        s3 = r.aws.client("s3")
        s3.put_bucket_versioning(Bucket="photos", VersioningConfiguration={"Status": "Enabled"})
        put = s3.put_object(Bucket="photos", Key="k.txt", Body=b"v1")
        s3.delete_object(Bucket="photos", Key="k.txt")
        marker = s3.list_object_versions(Bucket="photos")["DeleteMarkers"][0]["VersionId"]
        s3.delete_object(Bucket="photos", Key="k.txt", VersionId=put["VersionId"])
        got = sorted(records(r, 3), key=lambda x: x["s3"]["object"]["sequencer"])  # (they run in parallel)
        assert [x["eventName"] for x in got] == ["ObjectCreated:Put", "ObjectRemoved:DeleteMarkerCreated",
                                                 "ObjectRemoved:Delete"]  # fmt: skip
        assert [x["s3"]["object"]["versionId"] for x in got] == [put["VersionId"], marker, put["VersionId"]]
        assert quiet(r) == 3


OPS = [  # (the writer's event, the one notification it must cause)
    ({"op": "put", "key": "p.txt", "body": "hello"}, "ObjectCreated:Put"),
    ({"op": "copy", "key": "c.txt", "src": "p.txt"}, "ObjectCreated:Copy"),
    ({"op": "multipart", "key": "m.bin"}, "ObjectCreated:CompleteMultipartUpload"),
    ({"op": "delete", "key": "c.txt"}, "ObjectRemoved:Delete"),
    ({"op": "delete_objects", "keys": ["p.txt"]}, "ObjectRemoved:Delete"),
]


def test_writes_from_a_python_handler_fire_and_name_their_cause(tmp_path: Path) -> None:
    with project(tmp_path, f"  - {{function: rec, s3: {{bucket: photos, events: {ALL}}}}}\n") as r:
        for op, name in OPS:
            writer = r.invoke("writer", op)
            assert writer.ok, writer.error
            inv = r.wait("rec", timeout=30)
            S3Model.model_validate(inv.event)
            assert [x["eventName"] for x in inv.event["Records"]] == [name]
            assert inv.extra["cause"] == {"function": "writer", "request_id": writer.id}
        assert quiet(r) == len(OPS)


def test_recursion_stops_after_16_and_goes_to_on_failure(tmp_path: Path) -> None:
    on_failure = f"{{on_failure: {{dir: {tmp_path}/failed}}}}"
    functions = f"  looper: {{handler: looper.handler, timeout: 10, async: {on_failure}}}\n"
    with project(tmp_path, "  - {function: looper, s3: {bucket: loop}}\n", functions=functions) as r:
        r.aws.client("s3").put_object(Bucket="loop", Key="start", Body=b"1")
        r.wait("looper", count=16, timeout=60)
        deadline = time.monotonic() + 30
        while not list((tmp_path / "failed").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (record,) = list((tmp_path / "failed").glob("*.json"))
        assert "RecursiveInvocationException" in record.read_text()
        assert quiet(r, "looper") == 16


def test_each_function_has_its_own_key_id(tmp_path: Path) -> None:
    env = "import os\n\ndef handler(event, context):\n    return os.environ['AWS_ACCESS_KEY_ID']\n"
    (tmp_path / "env.py").write_text(env)
    with project(tmp_path, "  []\n", functions="  env: {handler: env.handler}\n") as r:
        got = r.invoke("env", {}).result
        assert got == key_id("env") and got.startswith("AKIAROUTER") and len(got) == 20
        assert key_id("env") != key_id("rec")


def wait_for(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_dropped_file_fires_once_and_sdk_writes_appear_in_the_folder(tmp_path: Path) -> None:
    with project(tmp_path, f"  - {{name: up, function: rec, s3: {{dir: drop, bucket: photos, events: {ALL}}}}}\n") as r:
        folder = r.app.source("s3").folder("up")
        r.drop("up", "dropped.txt", b"from the folder")
        (rec,) = records(r, 1)
        assert rec["eventName"] == "ObjectCreated:Put" and rec["s3"]["object"]["key"] == "dropped.txt"
        s3 = r.aws.client("s3")
        assert s3.get_object(Bucket="photos", Key="dropped.txt")["Body"].read() == b"from the folder"
        assert quiet(r) == 1  # the mirror write into the bucket fired nothing
        s3.put_object(Bucket="photos", Key="sdk/new.txt", Body=b"from the SDK")
        (rec,) = records(r, 1)
        assert rec["eventName"] == "ObjectCreated:Put" and rec["s3"]["object"]["key"] == "sdk/new.txt"
        wait_for(lambda: (folder / "sdk" / "new.txt").is_file())
        assert (folder / "sdk" / "new.txt").read_bytes() == b"from the SDK"
        s3.delete_object(Bucket="photos", Key="dropped.txt")
        assert [x["eventName"] for x in records(r, 1)] == ["ObjectRemoved:Delete"]
        wait_for(lambda: not (folder / "dropped.txt").exists())
        assert quiet(r) == 3  # the watcher did not report the mirrored file, nor its removal


def test_an_sdk_write_lands_in_the_folder_whole_and_fires_once_even_with_no_ignore_patterns(tmp_path: Path) -> None:
    """The mirror writes a temporary file and renames it: the folder's file is never seen half
    written, and the temporary name fires nothing even when no ignore pattern hides it."""
    trigger = f"  - {{name: up, function: rec, s3: {{dir: drop, bucket: photos, events: {ALL}, ignore: []}}}}\n"
    with project(tmp_path, trigger) as r:
        folder = r.app.source("s3").folder("up")
        s3 = r.aws.client("s3")
        body = b"x" * 3_000_000
        s3.put_object(Bucket="photos", Key="big.bin", Body=body)
        (rec,) = records(r, 1)
        assert rec["s3"]["object"]["key"] == "big.bin"
        wait_for(lambda: (folder / "big.bin").is_file())
        assert (folder / "big.bin").read_bytes() == body
        assert quiet(r) == 1
        assert sorted(p.name for p in folder.iterdir()) == ["big.bin"]


def test_mirror_false_keeps_sdk_writes_out_of_the_folder(tmp_path: Path) -> None:
    with project(tmp_path, "  - {name: up, function: rec, s3: {dir: drop, bucket: photos, mirror: false}}\n") as r:
        folder = r.app.source("s3").folder("up")
        r.aws.client("s3").put_object(Bucket="photos", Key="only-in-bucket.txt", Body=b"x")
        assert [x["s3"]["object"]["key"] for x in records(r, 1)] == ["only-in-bucket.txt"]
        assert quiet(r) == 1 and not (folder / "only-in-bucket.txt").exists()


def test_keys_s3_refuses(tmp_path: Path) -> None:
    from botocore.exceptions import ClientError

    with project(tmp_path, "  - {function: rec, s3: {bucket: photos}}\n") as r:
        s3 = r.aws.client("s3")
        with pytest.raises(ClientError) as too_long:
            s3.put_object(Bucket="photos", Key="k" * 1025, Body=b"x")
        assert too_long.value.response["Error"]["Code"] == "KeyTooLongError"
        s3.put_object(Bucket="photos", Key="é" * 512, Body=b"x")  # 1,024 bytes: allowed
        assert len(records(r, 1)) == 1
        assert quiet(r) == 1


NODE_WRITER = """
import { S3Client, PutObjectCommand, CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand,
  CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand } from '@aws-sdk/client-s3';

const s3 = new S3Client({ forcePathStyle: true });

export const handler = async (event) => {
  const Bucket = 'photos';
  if (event.op === 'put') await s3.send(new PutObjectCommand({ Bucket, Key: event.key, Body: event.body }));
  if (event.op === 'copy') {
    await s3.send(new CopyObjectCommand({ Bucket, Key: event.key, CopySource: `photos/${event.src}` }));
  }
  if (event.op === 'delete') await s3.send(new DeleteObjectCommand({ Bucket, Key: event.key }));
  if (event.op === 'delete_objects') {
    await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: event.keys.map((Key) => ({ Key })) } }));
  }
  if (event.op === 'multipart') {
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: event.key }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: event.key, UploadId: up.UploadId, PartNumber: 1,
      Body: 'm'.repeat(100) }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: event.key, UploadId: up.UploadId,
      MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] } }));
  }
  return 'done';
};
"""


@pytest.fixture(scope="session")
def node_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """node_modules with the AWS SDK v3's S3 client (npm install, once per session)."""
    import shutil
    import subprocess

    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed for the Node.js handler test")
    where = tmp_path_factory.mktemp("node-sdk")
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "@aws-sdk/client-s3@3"],
                          cwd=where, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return where / "node_modules"


def test_writes_from_a_node_handler_fire_and_name_their_cause(tmp_path: Path, node_sdk: Path) -> None:
    (tmp_path / "node_modules").symlink_to(node_sdk)
    (tmp_path / "nwriter.mjs").write_text(NODE_WRITER)
    functions = "  nwriter: {handler: nwriter.handler, runtime: nodejs20.x, timeout: 15}\n"
    with project(tmp_path, f"  - {{function: rec, s3: {{bucket: photos, events: {ALL}}}}}\n", functions=functions) as r:
        for op, name in OPS:
            writer = r.invoke("nwriter", op)
            assert writer.ok, (writer.error, writer.logs)
            inv = r.wait("rec", timeout=30)
            S3Model.model_validate(inv.event)
            assert [x["eventName"] for x in inv.event["Records"]] == [name]
            assert inv.extra["cause"] == {"function": "nwriter", "request_id": writer.id}
        assert quiet(r) == len(OPS)


def test_the_aws_cli_put_notifies_and_lists_the_functions(tmp_path: Path) -> None:
    import json
    import os
    import shutil
    import subprocess

    cli = shutil.which("aws")
    if cli is None:
        pytest.skip("the AWS CLI is not installed")
    with project(tmp_path, "  - {function: rec, s3: {bucket: photos}}\n") as r:
        (tmp_path / "f.txt").write_text("from the CLI")
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip
        base = [cli, "--endpoint-url", r.app.aws.endpoint_url]  # type: ignore[union-attr]
        args = ["s3api", "put-object", "--bucket", "photos", "--key", "cli/f.txt", "--body", str(tmp_path / "f.txt")]
        put = subprocess.run([*base, *args], env=env, capture_output=True, text=True, timeout=60)
        assert put.returncode == 0, put.stderr
        (rec,) = records(r, 1)
        assert rec["eventName"] == "ObjectCreated:Put" and rec["s3"]["object"]["key"] == "cli/f.txt"
        listed = subprocess.run([*base, "lambda", "list-functions"], env=env, capture_output=True, text=True,
                                timeout=60)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        names = sorted(f["FunctionName"] for f in json.loads(listed.stdout)["Functions"])
        assert names == ["rec", "writer"]


def test_a_post_upload_is_object_created_post(tmp_path: Path) -> None:
    import urllib.request

    with project(tmp_path, "  - {function: rec, s3: {bucket: photos}}\n") as r:
        boundary = "----routerboundary"
        parts = [("key", b"posted/form.txt"), ("file", b"posted bytes")]
        body = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'.encode()
            + (b'; filename="form.txt"' if name == "file" else b"") + b"\r\n\r\n" + value + b"\r\n"
            for name, value in parts
        ) + f"--{boundary}--\r\n".encode()
        url = f"{r.app.aws.endpoint_url}/photos"  # type: ignore[union-attr]
        auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": auth})  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status in (200, 204)
        (rec,) = records(r, 1)
        assert rec["eventName"] == "ObjectCreated:Post" and rec["s3"]["object"]["key"] == "posted/form.txt"
        assert rec["s3"]["object"]["size"] == len(b"posted bytes")
        assert quiet(r) == 1
