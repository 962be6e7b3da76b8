"""The pytest plugin: fixtures, the config marker, and the failure report section."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from router import Router

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


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
