"""FilterCriteria patterns over DynamoDB stream records (Lambda's "Filter rule syntax")."""

from __future__ import annotations

from typing import Any

import pytest

from router.filters import FilterError, RecordFilter, check_patterns, matches


def record(**image: Any) -> dict[str, Any]:
    """A stream record as Lambda delivers it (the AWS docs' filtering example, reworked)."""
    return {
        "eventID": "1",
        "eventName": image.pop("_event", "INSERT"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1678831218,
            "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
            "NewImage": {"CustomerName": {"S": "AnyCompany Industries"}, **image},
            "SequenceNumber": "111",
            "SizeBytes": 26,
            "StreamViewType": "NEW_IMAGE",
        },
    }


PAT = {"AccountManager": {"S": "Pat Candella"}, "PaymentTerms": {"S": "60 days"}, "Active": {"BOOL": True}}


# the AWS docs' examples for DynamoDB ("Using event filtering with a DynamoDB event source")
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}, True),
        ({"dynamodb": {"Keys": {"CustomerName": {"S": ["Other Corp"]}}}}, False),
        ({"dynamodb": {"NewImage": {"AccountManager": {"S": ["Pat Candella", "Shirley Rodriguez"]}}}}, True),
        ({"dynamodb": {"NewImage": {"Active": {"BOOL": [True]}}}}, True),
        ({"dynamodb": {"NewImage": {"Active": {"BOOL": [False]}}}}, False),
        ({"dynamodb": {"NewImage": {"StopDate": {"S": [{"exists": False}]}}}}, True),
        ({"dynamodb": {"NewImage": {"PaymentTerms": {"S": [{"exists": True}]}}}}, True),
        ({"dynamodb": {"NewImage": {"StopDate": {"S": [{"exists": True}]}}}}, False),
        # exists works on leaves: an intermediate node is not a leaf
        ({"dynamodb": {"NewImage": {"PaymentTerms": [{"exists": True}]}}}, False),
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["REMOVE", "MODIFY"]}, False),
    ],
)
def test_aws_doc_examples(pattern: dict[str, Any], expected: bool) -> None:
    check_patterns([pattern])
    assert matches(pattern, record(**PAT)) is expected


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ({"prefix": "60"}, "60 days", True),
        ({"prefix": "30"}, "60 days", False),
        ({"suffix": "days"}, "60 days", True),
        ({"suffix": "weeks"}, "60 days", False),
        ({"equals-ignore-case": "60 DAYS"}, "60 days", True),
        ({"anything-but": "30 days"}, "60 days", True),
        ({"anything-but": ["30 days", "60 days"]}, "60 days", False),
        ({"anything-but": {"prefix": "6"}}, "60 days", False),
        ({"anything-but": {"prefix": "3"}}, "60 days", True),
        ({"anything-but": {"suffix": "days"}}, "60 days", False),
        ("60 days", "60 days", True),
        ("60 Days", "60 days", False),
    ],
)
def test_string_rules(rule: Any, value: str, expected: bool) -> None:
    pattern = {"dynamodb": {"NewImage": {"PaymentTerms": {"S": [rule]}}}}
    assert matches(pattern, record(PaymentTerms={"S": value})) is expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"numeric": [">", 20]}, True),
        ({"numeric": [">", 26]}, False),
        ({"numeric": [">=", 26]}, True),
        ({"numeric": ["=", 26]}, True),
        ({"numeric": ["=", 26.0]}, True),
        ({"numeric": ["<", 26]}, False),
        ({"numeric": [">", 0, "<=", 26]}, True),
        ({"numeric": [">", 0, "<", 26]}, False),
        (26, True),
        (27, False),
        ({"anything-but": 26}, False),
        ({"anything-but": [1, 2]}, True),
    ],
)
def test_numeric_rules_on_json_numbers(rule: Any, expected: bool) -> None:
    assert matches({"dynamodb": {"SizeBytes": [rule]}}, record()) is expected


def test_numeric_does_not_match_dynamodb_number_strings() -> None:
    # DynamoDB numbers travel as strings ({"N": "42"}); numeric rules compare JSON numbers only
    pattern = {"dynamodb": {"NewImage": {"Total": {"N": [{"numeric": [">", 10]}]}}}}
    assert not matches(pattern, record(Total={"N": "42"}))
    assert matches({"dynamodb": {"NewImage": {"Total": {"N": ["42"]}}}}, record(Total={"N": "42"}))


def test_literals_keep_their_types() -> None:
    assert not matches({"dynamodb": {"SizeBytes": ["26"]}}, record())
    assert not matches({"dynamodb": {"NewImage": {"Active": {"BOOL": [1]}}}}, record(Active={"BOOL": True}))
    assert matches({"dynamodb": {"NewImage": {"Gone": {"NULL": [True]}}}}, record(Gone={"NULL": True}))
    assert matches({"x": [None]}, {"x": None})
    assert not matches({"x": [None]}, {"x": "None"})


def test_list_values_match_when_one_element_does() -> None:
    data = {"dynamodb": {"NewImage": {"Tags": {"SS": ["red", "blue"]}}}}
    assert matches({"dynamodb": {"NewImage": {"Tags": {"SS": ["blue"]}}}}, data)
    assert matches({"dynamodb": {"NewImage": {"Tags": {"SS": [{"prefix": "re"}]}}}}, data)
    assert not matches({"dynamodb": {"NewImage": {"Tags": {"SS": ["green"]}}}}, data)


def test_missing_fields_match_only_exists_false() -> None:
    assert not matches({"dynamodb": {"OldImage": {"x": {"S": [{"anything-but": "a"}]}}}}, record())
    assert matches({"dynamodb": {"OldImage": {"x": {"S": [{"exists": False}]}}}}, record())
    assert not matches({"nothing": [{"prefix": ""}]}, record())


def test_keys_are_anded_and_patterns_ored() -> None:
    both = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"AccountManager": {"S": ["Pat Candella"]}}}}
    assert matches(both, record(**PAT))
    assert not matches({**both, "eventName": ["MODIFY"]}, record(**PAT))
    f = RecordFilter([{"eventName": ["MODIFY"]}, {"dynamodb": {"SizeBytes": [{"numeric": ["<", 100]}]}}])
    assert f.matches(record())
    assert not RecordFilter([{"eventName": ["MODIFY"]}, {"eventName": ["REMOVE"]}]).matches(record())


def test_no_patterns_match_everything() -> None:
    f = RecordFilter([])
    assert not f
    assert f.matches(record())


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ([{"eventName": "INSERT"}], r"filter\[0\]\.eventName: expected a list"),
        ([{"eventName": []}], r"filter\[0\]\.eventName: a list of values to match must not be empty"),
        ([{"dynamodb": {}}], r"filter\[0\]\.dynamodb: an empty mapping"),
        ([{}], r"filter\[0\]: a pattern is a non-empty mapping"),
        (["INSERT"], r"filter\[0\]: a pattern is a non-empty mapping"),
        ([{"a": [{"wildcard": "x*"}]}], r"filter\[0\]\.a\[0\]: unknown rule 'wildcard'"),
        ([{"a": [{"prefix": 1}]}], r"filter\[0\]\.a\[0\]\.prefix: expected a string"),
        ([{"a": [{"exists": "yes"}]}], r"exists: expected true or false"),
        ([{"a": [{"numeric": [">", "1"]}]}], r"numeric: '1' is not a number"),
        ([{"a": [{"numeric": ["!=", 1]}]}], r"numeric: unknown operator '!='"),
        ([{"a": [{"numeric": [">", 1, "<"]}]}], r"numeric: expected \[op, number\]"),
        ([{"a": [{"numeric": ["<", 5, ">", 1]}]}], r"numeric: a range is"),
        ([{"a": [{"numeric": [">", 5, "<", 1]}]}], r"numeric: a range is"),
        ([{"a": [{"anything-but": []}]}], r"anything-but: expected a value or a non-empty list"),
        ([{"a": [{"anything-but": {"numeric": [">", 1]}}]}], r"anything-but: expected \{'prefix'"),
        ([{"a": [{"prefix": "x", "suffix": "y"}]}], r"a one-key rule"),
        ([{"a": [[1]]}], r"a one-key rule"),
        ([{"eventName": ["INSERT"]}] * 6, r"at most 5 patterns"),
    ],
)
def test_bad_patterns_say_where_and_why(patterns: list[Any], message: str) -> None:
    with pytest.raises(FilterError, match=message):
        RecordFilter(patterns)


def test_error_names_the_caller_path() -> None:
    with pytest.raises(FilterError, match=r"triggers\[2\]\.dynamodb\.filter\[1\]\.dynamodb\.Keys\.pk\.S"):
        check_patterns([{"eventName": ["INSERT"]}, {"dynamodb": {"Keys": {"pk": {"S": "x"}}}}],
                       "triggers[2].dynamodb.filter")  # fmt: skip
