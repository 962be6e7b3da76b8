"""Route matching of the HTTP source: API Gateway's precedence, stages, the tri-state."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import TriggerConfig, parse_config
from router.events.routes import RouteSpec, RouteTable, compile_route, no_route_kind
from router.sources.http import http_routes


def table(*routes: str | dict[str, object]) -> RouteTable:
    triggers = [TriggerConfig(function=f"f{i}", http=r) for i, r in enumerate(routes)]
    return http_routes(triggers)


# the worked example of the API Gateway guide, "Routing API requests" (HTTP APIs)
AWS_EXAMPLE = ("GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}",
               "$default")  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "route_key"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1"),
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),
        ("POST", "/pets/dog/1", "ANY /{proxy+}"),
        ("GET", "/", "$default"),
        ("DELETE", "/", "$default"),
    ],
)
def test_aws_precedence_example(method: str, path: str, route_key: str) -> None:
    found = table(*AWS_EXAMPLE).match(method, path)
    assert found.kind == "full"
    assert found.route is not None and found.route.route_key == route_key


def test_precedence_does_not_depend_on_order() -> None:
    a = table(*AWS_EXAMPLE)
    b = table(*reversed(AWS_EXAMPLE))
    for method, path in [("GET", "/pets/dog/1"), ("GET", "/pets/x/y/z"), ("PUT", "/a")]:
        ra, rb = a.match(method, path).route, b.match(method, path).route
        assert ra is not None and rb is not None and ra.route_key == rb.route_key


def test_literal_beats_param_beats_greedy_from_the_left() -> None:
    t = table("GET /a/{x}/c", "GET /a/{proxy+}", "GET /{p}/b/c")
    assert t.match("GET", "/a/b/c").route.route_key == "GET /a/{x}/c"  # type: ignore[union-attr]
    assert t.match("GET", "/z/b/c").route.route_key == "GET /{p}/b/c"  # type: ignore[union-attr]
    assert t.match("GET", "/a/b/d").route.route_key == "GET /a/{proxy+}"  # type: ignore[union-attr]


def test_method_specific_beats_any_on_the_same_path() -> None:
    t = table("ANY /items", "GET /items")
    assert t.match("GET", "/items").route.route_key == "GET /items"  # type: ignore[union-attr]
    assert t.match("PATCH", "/items").route.route_key == "ANY /items"  # type: ignore[union-attr]


def test_the_resource_decides_before_the_method() -> None:
    # "ANY matches all methods that you haven't defined for a resource"
    t = table("ANY /pets/dog", "GET /pets/{id}")
    assert t.match("GET", "/pets/dog").route.route_key == "ANY /pets/dog"  # type: ignore[union-attr]


def test_parameters_are_decoded_and_greedy_has_no_leading_slash() -> None:
    t = table("GET /hello/{name}", "GET /files/{proxy+}")
    found = t.match("GET", "/hello/ann%20lee")
    assert found.matched is not None and found.matched.path_parameters == {"name": "ann lee"}
    found = t.match("GET", "/files/a/b%2Fc.txt")
    assert found.matched is not None and found.matched.path_parameters == {"proxy": "a/b/c.txt"}
    assert found.matched.resource == "/files/{proxy+}"


def test_greedy_needs_a_segment_and_params_are_not_empty() -> None:
    t = table("GET /files/{proxy+}", "GET /u/{id}/x")
    assert t.match("GET", "/files").kind == "none"
    assert t.match("GET", "/files/").kind == "none"
    assert t.match("GET", "/u//x").kind == "none"


def test_trailing_slash_is_ignored_and_root_route() -> None:
    t = table("GET /hello", "GET /")
    assert t.match("GET", "/hello/").route.route_key == "GET /hello"  # type: ignore[union-attr]
    assert t.match("GET", "/").route.route_key == "GET /"  # type: ignore[union-attr]
    assert t.match("GET", "/hello/x").kind == "none"


def test_tri_state_partial_lists_the_path_s_routes() -> None:
    t = table("GET /items", "PUT /items", "GET /other")
    found = t.match("POST", "/items")
    assert found.kind == "partial" and found.route is None
    assert sorted(r.method for r in found.partial) == ["GET", "PUT"]
    assert t.allowed_methods("/items") == ["GET", "PUT"]
    assert t.match("POST", "/nothing").kind == "none"


def test_head_is_not_get() -> None:
    assert table("GET /x").match("HEAD", "/x").kind == "partial"


def test_default_route_parameters_by_payload() -> None:
    v2 = table("$default").match("GET", "/a/b")
    assert v2.matched is not None and v2.matched.path_parameters == {}
    assert v2.matched.route_key == "$default"
    v1 = table({"route": "$default", "payload": "1.0"}).match("GET", "/a/b")
    assert v1.matched is not None and v1.matched.path_parameters == {"proxy": "a/b"}
    assert v1.matched.resource == "/{proxy+}"
    root = table({"route": "$default", "payload": "1.0"}).match("GET", "/")
    assert root.matched is not None and root.matched.resource == "/"


def test_stage_prefix_is_stripped_and_named() -> None:
    t = table({"route": "GET /pets/{id}", "payload": "1.0", "stage": "dev"}, "GET /dev/{x}")
    found = t.match("GET", "/dev/pets/7")
    assert found.route is not None and found.route.route_key == "GET /pets/{id}"
    assert found.path == "/pets/7"
    assert found.matched is not None and found.matched.stage == "dev"
    # not under the stage's routes: the stage-less routes are tried
    other = t.match("GET", "/dev/cats")
    assert other.route is not None and other.route.route_key == "GET /dev/{x}"
    assert other.path == "/dev/cats" and other.matched is not None
    assert other.matched.stage == "$default"


def test_stage_keeps_the_raw_path() -> None:
    t = table({"route": "GET /p/{id}", "stage": "v1"})
    found = t.match("GET", "/v1/p/a%2Fb")
    assert found.path == "/p/a%2Fb"
    assert found.matched is not None and found.matched.path_parameters == {"id": "a/b"}


def test_no_route_answer_follows_the_api_named() -> None:
    t = table({"route": "GET /pets", "payload": "1.0", "stage": "dev"}, "GET /hello")
    assert t.match("GET", "/dev/nope").payload == "1.0"  # REST: 403
    assert t.match("GET", "/nope").payload == "2.0"  # HTTP API: 404
    rest_only = table({"route": "GET /pets", "payload": "1.0"})
    assert rest_only.match("GET", "/nope").payload == "1.0"
    assert rest_only.match("POST", "/pets").payload == "1.0"  # unknown method: also 403
    mixed = table({"route": "GET /pets", "payload": "1.0"}, "GET /hello")
    assert mixed.match("POST", "/pets").payload == "1.0"  # the partial route's API answers


def test_no_route_kind() -> None:
    rest = compile_route(RouteSpec("GET /a", "1.0"))
    v2 = compile_route(RouteSpec("GET /a"))
    assert no_route_kind([rest]) == "1.0"
    assert no_route_kind([rest, v2]) == "2.0"
    assert no_route_kind([]) == "2.0"


def test_lookups_are_cached_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import router.events.routes as mod

    monkeypatch.setattr(mod, "CACHE_SIZE", 3)
    t = table("GET /i/{id}")
    first = t.match("GET", "/i/1")
    assert t.match("GET", "/i/1") is first
    for i in range(10):
        assert t.match("GET", f"/i/{i}").kind == "full"
    assert len(t._cache) <= 3


def test_routes_from_a_config_file(tmp_path: Path) -> None:
    config = parse_config(
        "functions: {f: {handler: app.handler}}\n"
        "triggers:\n"
        "  - {function: f, http: 'get   /a/{b}'}\n"
        "  - {function: f, http: {route: $default, stage: v2}}\n",
        root=tmp_path,
        check_files=False,
    )
    t = http_routes(config.triggers)
    assert [r.path for r in t.routes] == ["/a/{b}", "/v2/{proxy+}"]
    assert t.match("DELETE", "/v2/anything/at/all").route.route_key == "$default"  # type: ignore[union-attr]
