from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel
from hypothesis import given
from hypothesis import strategies as st

from router.events import dynamodb as ddb

from .conftest import key_differences, load_fixture

ARN = ddb.stream_arn("eu-west-1", "123456789012", "orders", "2024-01-02T03:04:05.678")
KEYS = {"pk": {"S": "a"}}
NEW = {"pk": {"S": "a"}, "n": {"N": "2"}}
OLD = {"pk": {"S": "a"}, "n": {"N": "1"}}


def record(**kw: Any) -> ddb.DynamoDBRecord:
    args: dict[str, Any] = dict(event_name="MODIFY", keys=KEYS, new_image=NEW, old_image=OLD,
                                view_type="NEW_AND_OLD_IMAGES", sequence_number=ddb.make_sequence_number(7),
                                approximate_creation_time=1_700_000_000.9, event_id="e1", region="eu-west-1",
                                stream_arn=ARN)  # fmt: skip
    args.update(kw)
    return ddb.build_record(**args)


def test_matches_the_dynamodb_guide_example() -> None:
    doc = load_fixture("dynamodb_streams.json")
    expected = doc["event"]
    rec, change = expected["Records"][0], expected["Records"][0]["dynamodb"]
    ours = ddb.build_event([
        ddb.build_record(event_name="INSERT", keys=change["Keys"], new_image=change["NewImage"], old_image=None,
                         view_type="NEW_IMAGE", sequence_number=change["SequenceNumber"],
                         approximate_creation_time=change["ApproximateCreationDateTime"], event_id=rec["eventID"],
                         region=rec["awsRegion"], stream_arn=rec["eventSourceARN"], size_bytes=change["SizeBytes"])
    ])  # fmt: skip
    assert key_differences(ours, expected) == []
    assert ours == expected
    DynamoDBStreamModel.model_validate(ours)
    # by the item size rules its keys and image add up to 140 bytes (the page says 112)
    assert ddb.item_size(change["Keys"]) + ddb.item_size(change["NewImage"]) == 140


def test_matches_the_lambda_guide_example_and_its_sizes() -> None:
    expected = load_fixture("dynamodb_lambda.json")["event"]
    ours = ddb.build_event(
        ddb.build_record(event_name=r["eventName"], keys=r["dynamodb"]["Keys"], new_image=r["dynamodb"].get("NewImage"),
                         old_image=r["dynamodb"].get("OldImage"), view_type=r["dynamodb"]["StreamViewType"],
                         sequence_number=r["dynamodb"]["SequenceNumber"], approximate_creation_time=0,
                         event_id=r["eventID"], region=r["awsRegion"], stream_arn=r["eventSourceARN"])
        for r in expected["Records"]
    )  # fmt: skip
    # a hand-made test event: it lacks ApproximateCreationDateTime and says eventVersion 1.0
    assert key_differences(ours, expected) == [
        f"$.Records[{i}].dynamodb.ApproximateCreationDateTime: only in ours" for i in range(3)
    ]
    for mine, theirs in zip(ours["Records"], expected["Records"], strict=True):
        assert mine["dynamodb"]["SizeBytes"] == theirs["dynamodb"]["SizeBytes"]  # 26, 59, 38: computed
        assert mine["eventVersion"] == "1.1" and theirs["eventVersion"] == "1.0"
        mine_change = {k: v for k, v in mine["dynamodb"].items() if k != "ApproximateCreationDateTime"}
        assert mine_change == theirs["dynamodb"]
    DynamoDBStreamModel.model_validate(ours)


@pytest.mark.parametrize("event_name", ddb.EVENT_NAMES)
@pytest.mark.parametrize("view", ddb.VIEW_TYPES)
def test_the_view_type_decides_which_images_appear(event_name: str, view: str) -> None:
    rec = record(event_name=event_name, view_type=view)
    change = rec["dynamodb"]
    assert ("NewImage" in change) is (view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and event_name != "REMOVE")
    assert ("OldImage" in change) is (view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and event_name != "INSERT")
    assert change["SizeBytes"] == sum(ddb.item_size(change.get(k, {})) for k in ("Keys", "NewImage", "OldImage"))  # type: ignore[misc]
    parsed = DynamoDBStreamModel.model_validate(ddb.build_event([rec]))
    assert parsed.Records[0].eventName == event_name and parsed.Records[0].eventVersion == 1.1


def test_record_fields() -> None:
    rec = record()
    assert rec["eventSource"] == "aws:dynamodb" and rec["eventSourceARN"] == ARN
    assert rec["dynamodb"]["ApproximateCreationDateTime"] == 1_700_000_000  # whole seconds, a number
    assert rec["dynamodb"]["SequenceNumber"] == "000000000000000000007"
    assert "userIdentity" not in rec
    ttl = record(event_name="REMOVE", ttl_delete=True)
    assert ttl["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    DynamoDBStreamModel.model_validate(ddb.build_event([ttl]))
    assert ARN == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-01-02T03:04:05.678"
    assert ddb.stream_label(1_704_164_645.678) == "2024-01-02T03:04:05.678"


def test_bad_records_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown event name 'UPDATE'"):
        record(event_name="UPDATE")
    with pytest.raises(ValueError, match="unknown stream view type 'ALL'"):
        record(view_type="ALL")
    with pytest.raises(ValueError, match=r"NewImage.n: not a number: 'x'"):
        record(new_image={"n": {"N": "x"}})
    with pytest.raises(ValueError, match="counter must be >= 0"):
        ddb.make_sequence_number(-1)
    with pytest.raises(ValueError, match="Keys.pk: a key attribute is of type S, N or B, got BOOL"):
        record(keys={"pk": {"BOOL": True}})
    with pytest.raises(ValueError, match="a primary key has one or two attributes, got 0"):
        record(keys={})


# ------------------------------------------------------------------------------ attribute values


def test_plain_values_become_typed() -> None:
    assert ddb.to_attribute_value({"s": "x", "n": 1, "f": 1.5, "b": b"\x00", "t": True, "z": None, "l": [1, "a"],
                                   "ss": {"b", "a"}, "ns": {3, 1}, "bs": {b"y"}}) == {"M": {
        "s": {"S": "x"}, "n": {"N": "1"}, "f": {"N": "1.5"}, "b": {"B": "AA=="}, "t": {"BOOL": True},
        "z": {"NULL": True}, "l": {"L": [{"N": "1"}, {"S": "a"}]}, "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "3"]}, "bs": {"BS": ["eQ=="]},
    }}  # fmt: skip


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (set(), "sets cannot be empty"),
        ({1, "a"}, "only strings, only numbers or only bytes"),
        (math.nan, "numbers are finite"),
        (object(), "a object has no DynamoDB type"),
        ({1: "a"}, "map keys must be strings"),
        ({"a": [{"b": math.inf}]}, r"value.a\[0\].b: DynamoDB numbers are finite"),
    ],
)
def test_values_without_a_dynamodb_type_are_refused(value: Any, error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        ddb.to_attribute_value(value)


@pytest.mark.parametrize(
    "av",
    [{"X": "1"}, {"S": 1}, {"N": "abc"}, {"S": "a", "N": "1"}, {"NULL": False}, {"SS": []}, {"NS": ["1", "x"]},
     {"B": "%%%"}, {"M": {"a": {"S": 1}}}, {"L": [{"BOOL": "yes"}]}, "S", None],
)  # fmt: skip
def test_malformed_attribute_values_are_refused(av: Any) -> None:
    with pytest.raises(ValueError):
        ddb.check_attribute_value(av)
    assert not ddb.is_typed_item({"a": av})


def test_typed_items_are_recognised() -> None:
    assert ddb.is_typed_item({"id": {"S": "1"}, "m": {"M": {"x": {"N": "2"}}}})
    assert not ddb.is_typed_item({"id": "1"}) and not ddb.is_typed_item({}) and not ddb.is_typed_item([])


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.binary(max_size=8)
)  # noqa: E501
_sets = (
    st.frozensets(st.text(max_size=5), min_size=1, max_size=4).map(set)
    | st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=4).map(set)
    | st.frozensets(st.binary(max_size=4), min_size=1, max_size=4).map(set)
)
_values = st.recursive(
    _scalars | _sets,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)  # noqa: E501


@given(_values)
def test_attribute_values_round_trip(value: Any) -> None:
    av = ddb.to_attribute_value(value)
    json.dumps(av)  # JSON-safe
    ddb.check_attribute_value(av)
    assert ddb.from_attribute_value(av) == value
    assert ddb.to_attribute_value(ddb.from_attribute_value(av)) == av


@pytest.mark.parametrize(
    ("av", "size"),
    [
        ({"S": "héllo"}, 6),
        ({"N": "101"}, 3),
        ({"N": "0.00100"}, 2),  # zeros trimmed: one significant digit
        ({"N": "-123456"}, 4),
        ({"B": "AAEC"}, 3),
        ({"BOOL": False}, 1),
        ({"NULL": True}, 1),
        ({"M": {}}, 3),
        ({"L": []}, 3),
        ({"M": {"ab": {"S": "x"}}}, 3 + 2 + 1 + 1),  # overhead + name + value + 1 per element
        ({"L": [{"S": "x"}, {"N": "1"}]}, 3 + (1 + 1) + (2 + 1)),
        ({"SS": ["a", "bc"]}, 3),
        ({"NS": ["1", "22"]}, 4),
    ],
)
def test_attribute_sizes(av: dict[str, Any], size: int) -> None:
    assert ddb.attribute_size(av) == size


# ------------------------------------------------------------------------------ GetRecords


def test_normalize_a_boto3_record_from_moto() -> None:
    got = {
        "eventID": "0f3e", "eventName": "INSERT", "eventVersion": "1.0", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
            "Keys": {"pk": {"S": "a"}}, "NewImage": {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"},
                                                    "bs": {"BS": [b"x"]}, "m": {"M": {"b": {"B": b"y"}}}},
            "SequenceNumber": "1100000000017454423010", "SizeBytes": 999, "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }  # fmt: skip
    rec = ddb.normalize_record(got, region="eu-west-1", stream_arn=ARN)
    assert rec["eventVersion"] == "1.1" and rec["awsRegion"] == "eu-west-1" and rec["eventSourceARN"] == ARN
    assert rec["dynamodb"]["ApproximateCreationDateTime"] == 1704164645
    assert rec["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="} and rec["dynamodb"]["NewImage"]["bs"] == {
        "BS": ["eA=="]
    }
    assert rec["dynamodb"]["NewImage"]["m"] == {"M": {"b": {"B": "eQ=="}}}
    assert rec["dynamodb"]["SizeBytes"] == ddb.item_size(rec["dynamodb"]["Keys"]) + ddb.item_size(
        rec["dynamodb"]["NewImage"]
    )
    assert ddb.normalize_record(got, region="eu-west-1", stream_arn=ARN, keep_size=True)["dynamodb"]["SizeBytes"] == 999
    naive = {**got, "dynamodb": {**got["dynamodb"], "ApproximateCreationDateTime": datetime(2024, 1, 2, 3, 4, 5)}}
    assert (
        ddb.normalize_record(naive, region="r", stream_arn=ARN)["dynamodb"]["ApproximateCreationDateTime"] == 1704164645
    )
    keys_only = ddb.normalize_record(got, region="eu-west-1", stream_arn=ARN, view_type="KEYS_ONLY")
    assert "NewImage" not in keys_only["dynamodb"] and keys_only["dynamodb"]["StreamViewType"] == "KEYS_ONLY"
    json.dumps(rec)
    DynamoDBStreamModel.model_validate(ddb.build_event([rec]))


def test_normalize_real_get_records_output_of_moto() -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        table = db.create_table(
            TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]  # fmt: skip
        db.put_item(TableName="orders", Item={"pk": {"S": "a"}, "n": {"N": "1"}, "b": {"B": b"\x01"}})
        db.put_item(TableName="orders", Item={"pk": {"S": "a"}, "n": {"N": "2"}})
        db.delete_item(TableName="orders", Key={"pk": {"S": "a"}})
        # botocore >= 1.38 sends ARN calls to {account}.streams-ddb..., which moto's mock does not route
        config = pytest.importorskip("botocore.config").Config(account_id_endpoint_mode="disabled")
        streams = boto3.client("dynamodbstreams", region_name="us-east-1", config=config)
        arn = table["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        got = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
    records = [ddb.normalize_record(r, region="eu-west-1", stream_arn=arn) for r in got]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[0]["dynamodb"]["NewImage"]["b"] == {"B": base64.b64encode(b"\x01").decode()}
    assert records[1]["dynamodb"]["OldImage"]["n"] == {"N": "1"} and records[1]["dynamodb"]["NewImage"]["n"] == {
        "N": "2"
    }
    assert "NewImage" not in records[2]["dynamodb"]
    event = ddb.build_event(records)
    json.dumps(event)
    DynamoDBStreamModel.model_validate(event)
