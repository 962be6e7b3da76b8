"""router/aws_streams.py: a mapping's reads straight from the embedded moto's backends give
what the same reads through boto3 and the embedded server give, once normalised into the
Lambda event; errors keep boto3's shape; used iterators are not kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from router import Router
from router.aws_streams import EmbeddedStreams
from router.events.dynamodb import normalize_record

pytestmark = pytest.mark.slow

CONFIG = """
functions:
  on_item: {handler: h.handler}
resources:
  tables:
    items: {keys: {pk: S}, stream: NEW_AND_OLD_IMAGES}
triggers:
  - {name: items, function: on_item, dynamodb: {table: items, starting_position: TRIM_HORIZON}}
"""


def test_direct_reads_match_the_api_and_errors_keep_boto3s_shape(tmp_path: Path) -> None:
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return event['Records'][0]['dynamodb']\n")
    (tmp_path / "triggers.yaml").write_text(CONFIG)
    with Router(tmp_path / "triggers.yaml") as r:
        ddb = r.aws.client("dynamodb")
        ddb.put_item(TableName="items", Item={"pk": {"S": "a"}, "blob": {"B": b"\x00\xffbin"},
                                               "set": {"BS": [b"x", b"y"]}, "n": {"N": "1.50"}})  # fmt: skip
        ddb.update_item(TableName="items", Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n",
                        ExpressionAttributeValues={":n": {"N": "2"}})  # fmt: skip
        first = r.wait("on_item", timeout=10)
        assert first.ok
        assert first.result["NewImage"]["blob"] == {"B": "AP9iaW4="}  # base64 text, as Lambda delivers it

        assert isinstance(r.app.source("dynamodb").streams, EmbeddedStreams)  # the mapping reads this way
        s = r.config.settings
        direct = EmbeddedStreams(s.account, s.region)
        streams = r.aws.client("dynamodbstreams")
        arn = direct.describe_table(TableName="items")["Table"]["LatestStreamArn"]
        assert arn == ddb.describe_table(TableName="items")["Table"]["LatestStreamArn"]
        shard = direct.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        assert shard == streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        assert direct.describe_stream(StreamArn=arn, ExclusiveStartShardId=shard["ShardId"])["StreamDescription"][
            "Shards"] == []  # fmt: skip

        def read(client: object) -> list[dict[str, object]]:
            it = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],  # type: ignore[attr-defined]
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]  # fmt: skip
            records = client.get_records(ShardIterator=it, Limit=100)["Records"]  # type: ignore[attr-defined]
            return [dict(normalize_record(x, region=s.region, stream_arn=arn)) for x in records]

        through_api, straight = read(streams), read(direct)
        assert len(straight) == 2 and straight == through_api

        kept = len(direct._streams.shard_iterators)
        it = direct.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="LATEST")["ShardIterator"]  # fmt: skip
        for _ in range(50):  # an idle shard polled: each answer's iterator replaces the one used
            it = direct.get_records(ShardIterator=it, Limit=10)["NextShardIterator"]
        assert len(direct._streams.shard_iterators) <= kept + 1

        with pytest.raises(Exception) as missing:
            direct.describe_table(TableName="nope")
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"  # type: ignore[attr-defined]
        with pytest.raises(Exception) as unknown:
            direct.get_records(ShardIterator="not-an-iterator", Limit=1)
        assert unknown.value.response["Error"]["Code"] == "ExpiredIteratorException"  # type: ignore[attr-defined]
