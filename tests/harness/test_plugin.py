"""The pytest plugin: fixtures, the config marker, and the failure report section."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from router import Router

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.router_fresh  # the session's router would outlive this test (the leak check)
@pytest.mark.router_config(str(ROOT / "triggers.yaml"))
def test_router_fixture_with_marker(router: Router) -> None:
    assert router.invoke("hello", {}).ok


def test_router_factory_starts_several(router_factory: object) -> None:
    a = router_factory(ROOT / "triggers.yaml")  # type: ignore[operator]
    b = router_factory(ROOT / "triggers.yaml", clock="manual")  # type: ignore[operator]
    assert a.http.base_url != b.http.base_url
    assert a.invoke("greet", {}).ok and b.invoke("greet", {}).ok


def test_failure_report_has_the_invocations(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "samples", pytester.path / "samples", ignore=shutil.ignore_patterns("tests"))
    shutil.copy(ROOT / "triggers.yaml", pytester.path / "triggers.yaml")
    pytester.makepyfile(
        test_user="""
        def test_fails(router):
            router.invoke("greet", {"key1": "visible-in-report"})
            assert False, "on purpose"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*router invocations*", "*greet #1*", "*value1 = visible-in-report*"])


USER_SUITE = """
import pytest

SEEN = []


@pytest.mark.parametrize("round", [1, 2])
@pytest.mark.parametrize("case", ["invoke", "drop", "table"])
def test_starts_clean_and_leaves_state(router, round, case):
    SEEN.append(id(router))
    assert router.invocations() == []
    assert router.app.dispatcher.history() == []
    assert [p for p in router.app.source("s3").folder("uploads").rglob("*") if p.is_file()] == []
    assert router.aws.client("s3").list_objects_v2(Bucket="uploads").get("KeyCount") == 0
    items = router.aws.client("dynamodb").scan(TableName="orders")["Items"]
    assert sorted(i["pk"]["S"] for i in items) == ["customer#1", "customer#1", "customer#2"]  # the seed, nothing else
    if case == "invoke":
        assert router.invoke("hello", {}).ok
    elif case == "drop":
        router.drop("uploads", "in/left.txt", b"x")
        assert router.wait("thumbnail", timeout=20).ok
    else:
        router.aws.client("dynamodb").put_item(TableName="orders", Item={"pk": {"S": "left"}, "sk": {"S": "x"}})
        assert router.wait("on_order", timeout=20).ok


def test_one_router_for_the_session(router):
    assert len(set(SEEN + [id(router)])) == 1


@pytest.mark.router_fresh
def test_fresh_router(router):
    assert id(router) not in SEEN
"""


def _user_project(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "samples", pytester.path / "samples", ignore=shutil.ignore_patterns("tests"))
    shutil.copy(ROOT / "triggers.yaml", pytester.path / "triggers.yaml")
    pytester.makepyfile(test_user=USER_SUITE)


def test_session_router_is_reset_before_each_test(pytester: pytest.Pytester) -> None:
    _user_project(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:xdist")
    result.assert_outcomes(passed=8)


def test_under_xdist_each_worker_has_its_own_routers(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    _user_project(pytester)
    pytester.makepyfile(test_ports="""
        def test_ports(router):
            assert router.config.settings.http.port == 0 and router.http.base_url.startswith("http://127.0.0.1:")
        """)  # fmt: skip
    tests = ["test_ports.py", "test_user.py::test_starts_clean_and_leaves_state"]
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-n", "2", *tests)
    result.assert_outcomes(passed=7)


def test_a_router_that_cannot_reset_is_replaced_and_said_so(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "samples", pytester.path / "samples", ignore=shutil.ignore_patterns("tests"))
    shutil.copy(ROOT / "triggers.yaml", pytester.path / "triggers.yaml")
    pytester.makepyfile(test_user="""
        FIRST = []

        def test_breaks_its_router(router):
            FIRST.append(router)
            def broken(**kwargs):
                raise RuntimeError("the reset hung")
            router.reset = broken

        def test_gets_a_new_one(router):
            assert router is not FIRST[0] and router.invoke("greet", {}).ok
        """)  # fmt: skip
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:xdist")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*router: resetting the session's router of *triggers.yaml failed "
                                 "(RuntimeError: the reset hung); a new router was started*"])  # fmt: skip
