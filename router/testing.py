"""The pytest plugin (entry point ``pytest11``): ``router`` and ``router_factory`` fixtures.

Config of the ``router`` fixture, first found:
1. ``@pytest.mark.router_config("path/to/triggers.yaml", **overrides)`` on the test, class or module
   (a relative path is taken from the test file's folder, then from the rootdir);
2. ``--router-config PATH`` on the command line (or ``router_config = PATH`` in the ini file);
3. ``triggers.yaml`` in the rootdir.

One router per distinct config (path and overrides) serves the whole session (each
pytest-xdist worker has its own): the ``router`` fixture calls ``Router.reset()`` before each
test that uses it, so a test starts from the state right after start in milliseconds, with
warm workers. ``@pytest.mark.router_fresh`` on a test, class or module (or
``router_fresh = true`` in the ini file) gives it a router of its own, started and stopped
around it. ``router_factory`` always starts new routers.

When a test that used a router fails, the report gets a "router invocations" section with
every invocation the test caused and its logs.

Importing this module is cheap: router itself loads only when a fixture is used.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .dispatch.fakes import FakeCrash, FakeRuntime, FakeTimeout

__all__ = ["FakeCrash", "FakeRuntime", "FakeTimeout", "router", "router_factory"]


def __getattr__(name: str) -> Any:
    # the dispatch fakes (FakeRuntime ...), loaded on use: this plugin loads in every pytest run
    if name in ("FakeCrash", "FakeRuntime", "FakeTimeout"):
        from .dispatch import fakes

        return getattr(fakes, name)
    raise AttributeError(name)

if TYPE_CHECKING:
    from .api import Router

_ROUTERS_KEY = pytest.StashKey[list["Router"]]()
_SESSION_KEY = pytest.StashKey[dict[tuple[str, str], "Router"]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("router")
    group.addoption("--router-config", default=None, help="triggers.yaml for the `router` fixture")
    parser.addini("router_config", "triggers.yaml for the `router` fixture", default=None)
    parser.addini("router_fresh", "a new router for every test using the `router` fixture (instead of one "
                  "per config for the session, reset before each test)", type="bool", default=False)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "router_config(path, **overrides): the triggers.yaml of the `router` fixture"
    )
    config.addinivalue_line(
        "markers", "router_fresh: the `router` fixture starts a router for this test alone (not the session's, reset)"
    )
    config.stash[_SESSION_KEY] = {}


def pytest_unconfigure(config: pytest.Config) -> None:
    routers = config.stash.get(_SESSION_KEY, {})
    for r in routers.values():
        try:
            r.stop()
        except Exception:  # noqa: BLE001, S110 - the session is over; an error here has no test to fail
            pass
    routers.clear()


def _resolve(request: pytest.FixtureRequest, path: str | Path) -> Path:
    path = Path(path)
    if path.is_absolute():
        return path
    near_test = Path(str(request.path)).parent / path
    if near_test.exists():
        return near_test
    return Path(str(request.config.rootpath)) / path


def _config_for(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    marker = request.node.get_closest_marker("router_config")
    if marker is not None and marker.args:
        return _resolve(request, marker.args[0]), dict(marker.kwargs)
    option = request.config.getoption("--router-config") or request.config.getini("router_config")
    overrides = dict(marker.kwargs) if marker is not None else {}
    if option:
        return _resolve(request, option), overrides
    return Path(str(request.config.rootpath)) / "triggers.yaml", overrides


def _track(request: pytest.FixtureRequest, router: Router) -> None:
    request.node.stash.setdefault(_ROUTERS_KEY, []).append(router)


def _fresh(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("router_fresh") is not None or bool(request.config.getini("router_fresh"))


def _session_router(request: pytest.FixtureRequest, path: Path, overrides: dict[str, Any]) -> Router:
    """The session's router of this config, reset; started on first use (again if it died)."""
    from .api import Router

    routers = request.config.stash.setdefault(_SESSION_KEY, {})
    key = (str(path.resolve()), json.dumps(overrides, sort_keys=True, default=repr))
    r = routers.get(key)
    if r is not None:
        try:
            r.reset()
            return r
        except Exception as exc:  # noqa: BLE001 - a router that cannot reset is replaced, and said so
            warnings.warn(pytest.PytestWarning(
                f"router: resetting the session's router of {path} failed ({type(exc).__name__}: {exc}); "
                "a new router was started for this test"), stacklevel=1)  # fmt: skip
            routers.pop(key, None)
            try:
                r.stop()
            except Exception:  # noqa: BLE001, S110 - its error was the reset's
                pass
    r = Router(path, **overrides).start()
    routers[key] = r
    return r


@pytest.fixture()
def router(request: pytest.FixtureRequest) -> Iterator[Router]:
    """A started Router (free ports, temporary state): the session's router of this config,
    reset before the test, or with ``router_fresh`` one for this test alone."""
    from .api import Router

    path, overrides = _config_for(request)
    if _fresh(request):
        with Router(path, **overrides) as fresh:
            _track(request, fresh)
            yield fresh
        return
    r = _session_router(request, path, overrides)
    _track(request, r)
    yield r


@pytest.fixture()
def router_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., Router]]:
    """Start routers of your own: ``router_factory("other.yaml", clock="manual")``.
    Every router it started is stopped at the end of the test."""
    from .api import Router

    started: list[Router] = []

    def factory(config: Any = None, **kwargs: Any) -> Router:
        if config is None:
            config, overrides = _config_for(request)
            kwargs = {**overrides, **kwargs}
        elif isinstance(config, str | Path):
            config = _resolve(request, config)
        r = Router(config, **kwargs).start()
        started.append(r)
        _track(request, r)
        return r

    yield factory
    errors = []
    for r in reversed(started):
        try:
            r.stop()
        except Exception as exc:  # noqa: BLE001 - stop them all, then report
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    routers = item.stash.get(_ROUTERS_KEY, [])
    if routers and report.failed and call.when in ("call", "setup"):
        lines = []
        for r in routers:
            for inv in r.invocations():
                lines.append(f"--- {inv.summary()}  (request {inv.id})")
                if inv.error:
                    lines.append(f"error: {inv.error}")
                lines.append(inv.logs.rstrip())
        report.sections.append(("router invocations", "\n".join(lines) or "(none)"))
    return report
