"""The embedded AWS's start: a seeded table with a stream is made without importing moto's Lambda
(router answers the Lambda API itself; moto imported it for event source mappings tables never
have), its seed items are in the stream all the same, and moto's Lambda module is whole for
whoever imports it afterwards. In a fresh interpreter: which modules are loaded is the point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import asyncio, json, sys
from contextlib import AsyncExitStack
from router.aws import Aws
from router.config import parse_config

root = sys.argv[1]
text = '''
version: 1
settings: {aws: {port: 0}, state_dir: %s/state}
functions: {fn: {handler: h.handler}}
resources:
  tables:
    orders: {keys: {pk: S}, stream: NEW_IMAGE, seed: seed.json}
''' % root
config = parse_config(text, root + "/triggers.yaml", root=__import__("pathlib").Path(root), check_files=False)

async def main():
    out = {}
    async with AsyncExitStack() as stack:
        aws = Aws(config)
        await aws.start(stack)
        out["lambda_loaded_at_start"] = "moto.awslambda" in sys.modules
        streams = aws.client("dynamodbstreams")
        arn = aws.client("dynamodb").describe_table(TableName="orders")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
        out["seeded"] = [(r["eventName"], r["dynamodb"]["NewImage"]["pk"]["S"]) for r in records]
        aws.client("dynamodb").put_item(TableName="orders", Item={"pk": {"S": "after"}})  # moto's own path
        import moto.awslambda.utils as utils
        out["utils_whole"] = hasattr(utils, "make_function_arn") and utils.__spec__ is not None
    print(json.dumps(out))

asyncio.run(main())
"""


def test_seeding_a_stream_table_leaves_moto_lambda_unloaded_and_the_records_in_the_stream(tmp_path: Path) -> None:
    (tmp_path / "seed.json").write_text(json.dumps([{"pk": "a"}, {"pk": "b"}]))
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["lambda_loaded_at_start"] is False
    assert out["seeded"] == [["INSERT", "a"], ["INSERT", "b"]]
    assert out["utils_whole"] is True
