from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.events.http import (
    HttpRequest,
    MatchedRoute,
    epoch_ms,
    group_headers,
    host_name,
    match_path,
    media_type_matches,
    parse_query,
    request_time,
    status_code,
)


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/hello/{name}", "/hello/ann", {"name": "ann"}),
        ("/hello/{name}", "/hello/ann%20lee", {"name": "ann lee"}),
        ("/hello/{name}", "/hello/a%2Fb", {"name": "a/b"}),  # an encoded slash stays in its segment
        ("/hello/{name}", "/hello/ann/", {"name": "ann"}),  # a trailing slash is ignored
        ("/hello/{name}", "/hello/", None),
        ("/hello/{name}", "/hello", None),
        ("/hello/{name}", "/hello/ann/more", None),
        ("/hello", "/hello", {}),
        ("/hello", "/Hello", None),
        ("/", "/", {}),
        ("/{proxy+}", "/a/b/c.txt", {"proxy": "a/b/c.txt"}),  # greedy: no leading slash
        ("/files/{proxy+}", "/files", None),
        ("/files/{proxy+}", "/files/", None),
        ("/{a}/x/{b}", "/1/x/2", {"a": "1", "b": "2"}),
        ("/café", "/caf%C3%A9", {}),
    ],
)
def test_match_path(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert match_path(template, path) == expected


def test_matched_route_for_a_key_and_for_default() -> None:
    route = MatchedRoute.match("GET /hello/{name}", "/hello/ann", "prod")
    assert route == MatchedRoute("GET /hello/{name}", "/hello/{name}", {"name": "ann"}, "prod")
    assert MatchedRoute.match("GET /hello/{name}", "/bye/ann") is None
    # issue 15: one route table. An HTTP API's $default route has no path parameters (the daemon
    # always sent none; `router event http-api` used to print {"proxy": ...}); as a REST
    # resource it is ANY /{proxy+}
    assert MatchedRoute.match("$default", "/x/y") == MatchedRoute("$default", "/{proxy+}", {})
    assert MatchedRoute.match("$default", "/x/y", payload="1.0") == MatchedRoute("$default", "/{proxy+}",
                                                                                {"proxy": "x/y"})  # fmt: skip
    assert MatchedRoute.match("$default", "/") == MatchedRoute("$default", "/{proxy+}", {})


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@given(st.lists(st.tuples(_text.filter(bool), _text), max_size=8))
def test_parse_query_reads_what_urlencode_writes(pairs: list[tuple[str, str]]) -> None:
    assert parse_query(urlencode(pairs)) == pairs


@given(st.lists(_text.filter(lambda s: bool(s) and "/" not in s), min_size=1, max_size=5))
def test_path_parameters_are_decoded(segments: list[str]) -> None:
    template = "/" + "/".join(f"{{p{i}}}" for i in range(len(segments)))
    raw = "/" + "/".join(quote(s, safe="") for s in segments)
    assert match_path(template, raw) == {f"p{i}": s for i, s in enumerate(segments)}
    assert match_path("/{proxy+}", raw) == {"proxy": "/".join(segments)}


def test_request_properties() -> None:
    req = HttpRequest("get", "/", headers=[("User-Agent", "curl/8"), ("Content-Type", "Text/Plain; charset=utf-8")])
    assert req.user_agent == "curl/8" and req.header("user-agent") == "curl/8"
    assert req.media_type == "text/plain"
    assert HttpRequest("GET", "/").user_agent == "" and HttpRequest("GET", "/").media_type == ""


def test_group_headers_is_case_insensitive_and_keeps_the_first_spelling() -> None:
    grouped = group_headers([("X-A", "1"), ("x-a", "2"), ("Accept", "*/*")])
    assert grouped == {"X-A": ["1", "2"], "Accept": ["*/*"]}


@pytest.mark.parametrize(
    ("media_type", "patterns", "expected"),
    [
        ("image/png", ["image/png"], True),
        ("image/png", ["image/*"], True),
        ("image/png", ["*/*"], True),
        ("image/png", ["application/octet-stream"], False),
        ("", ["*/*"], True),
        ("", ["image/*"], False),
    ],
)
def test_media_type_matches(media_type: str, patterns: list[str], expected: bool) -> None:
    assert media_type_matches(media_type, patterns) is expected


def test_small_helpers() -> None:
    assert host_name("localhost:3000") == "localhost"
    assert host_name("api.example.com") == "api.example.com"
    assert host_name("[::1]:3000") == "[::1]"
    assert request_time(1583348638.390) == "04/Mar/2020:19:03:58 +0000"
    assert [epoch_ms(t) for t in (1583348638.390, 0.0009999, 0.0004, 1.0)] == [1583348638390, 1, 0, 1000]
    assert [status_code(v) for v in (200, "404", 99, 600, True, "2x", None, 200.0)] == [
        200, 404, None, None, None, None, None, None,
    ]  # fmt: skip
