"""The pure parts of API Gateway authorizers: identity sources, the IAM policy's decision, the
context shapes."""

from __future__ import annotations

import pytest

from router.events import authorizer as auth
from router.events.http import HttpRequest

ARN = auth.execute_api_arn("us-east-1", "123456789012", "abc123", "dev", "get", "/pets/7")


def _policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}


def test_the_arn_and_identity_sources() -> None:
    assert ARN == "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/pets/7"
    request = HttpRequest("GET", "/pets/7", "key=k1", [("X-Key", "h1")])
    assert auth.identity_values(["$request.header.x-key", "$request.querystring.key"], request) == ["h1", "k1"]
    assert auth.identity_values(["method.request.header.Authorization"], request) is None


def test_policies_decide_with_wildcards_and_an_explicit_deny_wins() -> None:
    allow = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:abc123/*/GET/*"}
    deny = {"Effect": "Deny", "Action": ["execute-api:*"], "Resource": [ARN]}
    assert auth.decide(_policy(allow), ARN, simple=False).allowed
    both = auth.decide(_policy(allow, deny), ARN, simple=False)
    assert (both.allowed, both.explicit_deny) == (False, True)
    other = {**allow, "Resource": "arn:aws:execute-api:*:*:abc123/*/POST/*"}
    implicit = auth.decide(_policy(other), ARN, simple=False)
    assert (implicit.allowed, implicit.explicit_deny) == (False, False)
    single = {"principalId": "u", "policyDocument": {"Statement": allow}}  # one statement, not a list
    assert auth.decide(single, ARN, simple=False).allowed


@pytest.mark.parametrize("answer", [None, "Allow", {"principalId": "u"}, {**_policy(), "context": {"a": [1]}}])
def test_unreadable_answers_are_errors(answer: object) -> None:
    with pytest.raises(auth.AuthorizerError):
        auth.decide(answer, ARN, simple=False)


def test_context_shapes() -> None:
    decision = auth.Decision(True, principal_id="u", context={"n": 1, "ok": True, "s": "x"})
    assert auth.lambda_context(decision, "1.0", 3) == {"n": "1", "ok": "true", "s": "x", "principalId": "u",
                                                      "integrationLatency": 3}  # fmt: skip
    assert auth.lambda_context(decision, "2.0", 3) == {"lambda": {"n": 1, "ok": True, "s": "x"}}
    assert auth.decide({"isAuthorized": False}, ARN, simple=True).allowed is False
    assert auth.jwt_context({"sub": "a", "scope": "r w"}) == {"jwt": {"claims": {"sub": "a", "scope": "r w"},
                                                                      "scopes": ["r", "w"]}}  # fmt: skip
    assert auth.jwt_context({"sub": "a"})["jwt"]["scopes"] is None


def test_only_rest_requires_a_flat_context() -> None:
    """REST refuses an object or array in the context; HTTP API's own IAM policy example returns both."""
    allow = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN}
    answer = {**_policy(allow), "context": {"arrayKey": ["a"], "mapKey": {"k": "v"}}}
    with pytest.raises(auth.AuthorizerError, match="arrayKey, mapKey"):
        auth.decide(answer, ARN, simple=False)
    decision = auth.decide(answer, ARN, simple=False, flat_context=False)
    assert decision.allowed and decision.context == {"arrayKey": ["a"], "mapKey": {"k": "v"}}
