"""The one pattern engine (router.filters) against the examples of the AWS documentation.

EB: EventBridge user guide, "Content filtering in Amazon EventBridge event patterns"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html).
SNS: SNS developer guide, "Amazon SNS subscription filter policies" and its pages "Attribute
string value matching", "Numeric value matching", "Key matching", "Filter policy constraints"
(https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html,
https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html).
"""

from __future__ import annotations

from typing import Any

import pytest

from router.events.sns import policy_view
from router.filters import (
    EVENTBRIDGE,
    LAMBDA,
    SNS,
    FilterError,
    check_pattern,
    check_sns_policy,
    compile_pattern,
    matches,
)  # fmt: skip

# the EC2 example event of the EventBridge user guide, with the fields the examples use
EC2 = {
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2", "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated", "c-count": 5, "d-count": 3,
               "x-limit": 301.8, "sourceIPAddress": "10.0.0.255", "FileName": "image.PNG", "service": "EVENTBRIDGE",
               "FilePath": "/usr/lib/x", "eventVersion": "", "responseElements": None},
}  # fmt: skip

EB_TABLE: list[tuple[str, dict[str, Any], bool]] = [
    ("EB Prefix matching", {"time": [{"prefix": "2017-12-22"}]}, True),
    ("EB Prefix matching", {"time": [{"prefix": "2017-10-02"}]}, False),
    ("EB Prefix matching while ignoring case", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
     True),
    ("EB Suffix matching", {"detail": {"FileName": [{"suffix": ".png"}]}}, False),
    ("EB Suffix matching while ignoring case", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
     True),
    ("EB Anything-but matching", {"detail": {"state": [{"anything-but": "initializing"}]}}, True),
    ("EB Anything-but matching (number)", {"detail": {"x-limit": [{"anything-but": 123}]}}, True),
    ("EB Anything-but matching (list)", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, True),
    ("EB Anything-but matching (list)", {"detail": {"state": [{"anything-but": ["terminated", "stopped"]}]}}, False),
    ("EB Anything-but prefix", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, True),
    ("EB Anything-but prefix", {"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, False),
    ("EB Anything-but suffix", {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}}, True),
    ("EB Anything-but ignore case", {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped",
     "TERMINATED"]}}]}}, False),
    ("EB Anything-but wildcard", {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, False),
    ("EB Anything-but wildcard", {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/bin/*"}}]}}, True),
    ("EB Numeric matching", {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}],
                                        "d-count": [{"numeric": ["<", 10]}],
                                        "x-limit": [{"numeric": ["=", 3.018e2]}]}}, True),
    ("EB Numeric matching", {"detail": {"c-count": [{"numeric": [">", 5]}]}}, False),
    ("EB IP address matching", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}, True),
    ("EB IP address matching", {"detail": {"sourceIPAddress": [{"cidr": "10.0.1.0/24"}]}}, False),
    ("EB IP address matching (IPv6)", {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}}, False),
    ("EB Exists matching", {"detail": {"state": [{"exists": True}]}}, True),
    ("EB Exists matching", {"detail": {"state": [{"exists": False}]}}, False),
    ("EB Exists matching", {"detail": {"nope": [{"exists": False}]}}, True),
    ("EB Equals-ignore-case matching",
     {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}, True),
    ("EB Wildcard matching", {"resources": [{"wildcard": "arn:aws:ec2:*:instance/*"}]}, True),
    ("EB Wildcard matching", {"resources": [{"wildcard": "arn:aws:s3:*"}]}, False),
    ("EB Or matching",
     {"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"d-count": [{"numeric": ["<", 10]}]}]}}, True),
    ("EB Or matching", {"source": ["aws.ec2"], "$or": [{"region": ["eu-west-1"]}, {"account": ["1"]}]}, False),
    ("EB Matching null values and empty strings", {"detail": {"eventVersion": [""], "responseElements": [None]}}, True),
    ("EB Arrays in event patterns (any element)", {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/"
                                                                 "i-1234567890abcdef0", "arn:other"]}, True),
    ("EB Exact matching is case-sensitive", {"source": ["AWS.EC2"]}, False),
]  # fmt: skip


@pytest.mark.parametrize(("example", "pattern", "expected"), EB_TABLE, ids=[f"{i}" for i in range(len(EB_TABLE))])
def test_eventbridge_doc_examples(example: str, pattern: dict[str, Any], expected: bool) -> None:
    check_pattern(pattern, "pattern", EVENTBRIDGE)
    assert matches(pattern, EC2) is expected
    assert compile_pattern(pattern)(EC2) is expected


# the SNS guide's example message: customer_interests (String.Array), store, event, price_usd (Number)
ATTRIBUTES = {
    "customer_interests": {"Type": "String.Array", "Value": '["soccer", "rugby", "hockey"]'},
    "store": {"Type": "String", "Value": "example_corp"},
    "event": {"Type": "String", "Value": "order_placed"},
    "price_usd": {"Type": "Number", "Value": "210.75"},
    "source_ip": {"Type": "String", "Value": "10.0.0.7"},
    "blob": {"Type": "Binary", "Value": "AAEC"},
}

SNS_TABLE: list[tuple[str, dict[str, Any], bool]] = [
    ("SNS Exact matching", {"store": ["example_corp"]}, True),
    ("SNS Exact matching (String.Array: any element)", {"customer_interests": ["rugby", "football", "baseball"]}, True),
    ("SNS Exact matching (String.Array: any element)", {"customer_interests": ["basketball"]}, False),
    ("SNS Anything-but matching", {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}, True),
    ("SNS Anything-but matching", {"store": [{"anything-but": "example_corp"}]}, False),
    ("SNS Anything-but prefix", {"event": [{"anything-but": {"prefix": "order-"}}]}, True),
    ("SNS Equals-ignore-case matching", {"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}, True),
    ("SNS IP address matching", {"source_ip": [{"cidr": "10.0.0.0/24"}]}, True),
    ("SNS IP address matching", {"source_ip": [{"cidr": "192.168.0.0/16"}]}, False),
    ("SNS Prefix matching", {"customer_interests": [{"prefix": "bas"}]}, False),
    ("SNS Prefix matching", {"event": [{"prefix": "order"}]}, True),
    ("SNS Suffix matching", {"event": [{"suffix": "_placed"}]}, True),
    ("SNS Numeric value matching", {"price_usd": [{"numeric": [">=", 100]}]}, True),
    ("SNS Numeric value matching (range)", {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, False),
    ("SNS Numeric exact matching", {"price_usd": [{"numeric": ["=", 210.75]}]}, True),
    ("SNS Numeric matching on a String attribute", {"store": [{"numeric": [">", 0]}]}, False),
    ("SNS Key matching (exists)", {"store": [{"exists": True}]}, True),
    ("SNS Key matching (exists false)", {"encrypted": [{"exists": False}]}, True),
    ("SNS Binary attributes are not matched", {"blob": [{"exists": True}]}, False),
    ("SNS AND across keys", {"store": ["example_corp"], "event": ["order_cancelled"]}, False),
    ("SNS OR operator",
     {"source": [{"exists": False}], "$or": [{"store": ["nope"]}, {"event": ["order_placed"]}]}, True),
]  # fmt: skip


@pytest.mark.parametrize(("example", "policy", "expected"), SNS_TABLE, ids=[f"{i}" for i in range(len(SNS_TABLE))])
def test_sns_doc_examples(example: str, policy: dict[str, Any], expected: bool) -> None:
    check_sns_policy(policy, "filter_policy")
    assert matches(policy, policy_view(ATTRIBUTES)) is expected
    assert compile_pattern(policy)(policy_view(ATTRIBUTES)) is expected


@pytest.mark.parametrize(
    ("dialect", "pattern", "message"),
    [
        (LAMBDA, {"a": [{"cidr": "10.0.0.0/8"}]}, r"unknown rule 'cidr'; Lambda supports"),
        (LAMBDA, {"$or": [{"a": [1]}, {"b": [2]}]}, r"Lambda patterns have no \$or"),
        (SNS, {"a": [{"wildcard": "x*"}]}, r"unknown rule 'wildcard'; SNS supports"),
        (EVENTBRIDGE, {"a": [{"wildcard": "x**"}]}, r"consecutive wildcard"),
        (EVENTBRIDGE, {"a": [{"cidr": "10.0.0.300/8"}]}, r"cidr: expected an IPv4 or IPv6 prefix"),
        (EVENTBRIDGE, {"$or": [{"a": [1]}]}, r"\$or: expected a list of at least two patterns"),
        (EVENTBRIDGE, {"a": [{"prefix": {"ignore": "x"}}]}, r"prefix: expected a string or"),
        (EVENTBRIDGE, {"a": [{"anything-but": {"numeric": [">", 1]}}]}, r"anything-but: expected"),
        (EVENTBRIDGE, {"a": [{"contains": "x"}]}, r"unknown rule 'contains'"),
        (SNS, {"a": [{"numeric": [">", 2e9]}]}, r"out of SNS's range"),
    ],
)
def test_bad_patterns_name_the_rule(dialect: Any, pattern: dict[str, Any], message: str) -> None:
    with pytest.raises(FilterError, match=message):
        check_pattern(pattern, "p", dialect)


def test_sns_policy_limits() -> None:
    # "A filter policy can have a maximum of five keys"; "The total combination of values ... must not exceed 150"
    with pytest.raises(FilterError, match="at most 5 keys"):
        check_sns_policy({k: ["x"] for k in "abcdef"}, "fp")
    with pytest.raises(FilterError, match="151|combinations"):
        check_sns_policy({"a": list(range(10)), "b": list(range(16))}, "fp")
    with pytest.raises(FilterError, match="MessageBody"):
        check_sns_policy({"a": {"b": ["x"]}}, "fp")
    check_sns_policy({"a": {"b": ["x"]}}, "fp", scope="MessageBody")
    check_sns_policy({"a": list(range(10)), "b": list(range(15))}, "fp")
