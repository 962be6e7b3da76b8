from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model
from hypothesis import given
from hypothesis import strategies as st

from router.events import s3

from .conftest import key_differences, load_fixture

T = 1_700_000_000.5


def record(**overrides: Any) -> s3.S3Record:
    args: dict[str, Any] = dict(
        event_name="ObjectCreated:Put", bucket="uploads", key="images/cat.jpg", size=3,
        etag=s3.etag(b"abc"), sequencer=s3.make_sequencer(1, T), configuration_id="uploads",
        region="eu-west-1", event_time=T, request_id="0123456789ABCDEF", host_id="aG9zdA==",
    )  # fmt: skip
    args.update(overrides)
    return s3.build_record(**args)


def test_matches_the_aws_documentation_example_value_for_value() -> None:
    doc = load_fixture("s3_put.json")
    expected = doc["event"]
    when = datetime(2019, 9, 3, 19, 37, 27, 192000, tzinfo=UTC).timestamp()
    ours = s3.build_event([
        s3.build_record(
            event_name="s3:ObjectCreated:Put", bucket="lambda-artifacts-deafc19498e3f2df",
            key="b21b84d653bb07b05b1e6b33684dc11b", size=1305107, etag="b21b84d653bb07b05b1e6b33684dc11b",
            sequencer="0C0F6F405D6ED209E1", configuration_id="828aa6fc-f7b5-4305-8584-487c791949c1",
            region="us-east-2", event_time=when, request_id="D82B88E5F771F645",
            host_id=expected["Records"][0]["responseElements"]["x-amz-id-2"],
            source_ip="205.255.255.255", principal_id="AWS:AIDAINPONIXQXHT3IKHL2", owner_id="A3I5XTEXAMAI3E",
        )
    ])  # fmt: skip
    assert key_differences(ours, expected) == []
    assert ours == expected
    S3Model.model_validate(ours)


@pytest.mark.parametrize("name", s3.EVENT_NAMES)
def test_every_event_type_validates_against_the_powertools_model(name: str) -> None:
    created = name in s3.CREATED
    rec = record(event_name=name, size=3 if created else None, etag=s3.etag(b"abc") if created else None)
    parsed = S3Model.model_validate(s3.build_event([rec]))
    assert parsed.Records[0].eventName == name
    obj = rec["s3"]["object"]
    assert ("size" in obj) is created and ("eTag" in obj) is created  # removals carry neither


def test_record_fields() -> None:
    rec = record(key="images/red flower (1).jpg", version_id="v1")
    assert rec["eventVersion"] == "2.1" and rec["eventSource"] == "aws:s3"
    assert rec["eventTime"] == "2023-11-14T22:13:20.500Z"
    assert rec["s3"]["bucket"]["arn"] == "arn:aws:s3:::uploads"
    assert rec["s3"]["object"]["key"] == "images/red+flower+%281%29.jpg"
    assert rec["s3"]["object"]["versionId"] == "v1"
    assert "versionId" not in record()["s3"]["object"]  # absent for an unversioned bucket


def test_bad_records_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown S3 event name 'ObjectCreated:Paste'"):
        record(event_name="ObjectCreated:Paste")
    with pytest.raises(ValueError, match="needs the object's size"):
        record(size=None)
    with pytest.raises(ValueError, match="needs the object's size"):
        record(etag=None)


def test_etag_is_the_md5_of_the_bytes() -> None:
    assert s3.etag(b"") == "d41d8cd98f00b204e9800998ecf8427e"
    assert s3.etag(b"abc") == "900150983cd24fb0d6963f7d28e17f72"


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("red flower.jpg", "red+flower.jpg"),  # the S3 user guide's example
        ("dt=2018-05-04/_SUCCESS", "dt%3D2018-05-04/_SUCCESS"),
        ("c++ notes.txt", "c%2B%2B+notes.txt"),
        ("10:47:07.log", "10%3A47%3A07.log"),
        ("café/ü.txt", "caf%C3%A9/%C3%BC.txt"),
        ("a-b_c.d*e~f", "a-b_c.d*e%7Ef"),
    ],
)
def test_encode_key_examples(key: str, encoded: str) -> None:
    assert s3.encode_key(key) == encoded


@given(st.text(min_size=1, max_size=200))
def test_encode_key_round_trips_and_uses_safe_characters_only(key: str) -> None:
    encoded = s3.encode_key(key)
    assert unquote_plus(encoded) == key
    assert all(c.isascii() and (c.isalnum() or c in "-_.*/+%") for c in encoded)
    assert " " not in encoded


@pytest.mark.parametrize(
    ("name", "patterns", "expected"),
    [
        ("ObjectCreated:Put", ["s3:ObjectCreated:*"], True),
        ("ObjectCreated:CompleteMultipartUpload", ["s3:ObjectCreated:*"], True),
        ("ObjectRemoved:Delete", ["s3:ObjectCreated:*"], False),
        ("ObjectRemoved:DeleteMarkerCreated", ["s3:ObjectRemoved:*"], True),
        ("ObjectRemoved:Delete", ["s3:ObjectRemoved:DeleteMarkerCreated"], False),
        ("s3:ObjectCreated:Copy", ["s3:ObjectCreated:Copy"], True),
        ("ObjectCreated:Post", [], False),
    ],
)
def test_matches(name: str, patterns: list[str], expected: bool) -> None:
    assert s3.matches(name, patterns) is expected


@given(
    st.tuples(st.floats(0, 1.7e10), st.integers(0, 2**28 - 1)),
    st.tuples(st.floats(0, 1.7e10), st.integers(0, 2**28 - 1)),
)
def test_sequencers_grow_with_time_then_counter(a: tuple[float, int], b: tuple[float, int]) -> None:
    sa, sb = s3.make_sequencer(a[1], a[0]), s3.make_sequencer(b[1], b[0])
    assert len(sa) == len(sb) == 18 and int(sa, 16) >= 0
    key_a, key_b = (int(a[0] * 1000), a[1]), (int(b[0] * 1000), b[1])
    assert (sa < sb) == (key_a < key_b) and (sa == sb) == (key_a == key_b)


def test_sequencer_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="counter must be >= 0"):
        s3.make_sequencer(-1)
    with pytest.raises(ValueError, match="within 1970..2527"):
        s3.make_sequencer(0, 1.8e10)


def test_make_ids_are_shaped_like_s3s() -> None:
    request_id, host_id = s3.make_ids(b"seed")
    assert len(request_id) == 16 and request_id == request_id.upper() and int(request_id, 16) >= 0
    assert len(host_id) == 76
    assert s3.make_ids(b"seed") == (request_id, host_id) and s3.make_ids(b"other")[0] != request_id
