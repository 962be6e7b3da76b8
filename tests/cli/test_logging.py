"""Console output: router's own lines at the default level, its debug lines with -v, and no
third-party debug chatter unless asked for; the daemon's console keeps one order."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest

from router.cli.common import LIBRARIES, setup_logging
from router.cli.core import _Console


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    names = ["", "router", *LIBRARIES]
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.getLogger().handlers)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger().handlers[:] = handlers


def emit_all() -> None:
    for name in ("router.sources.http", "botocore.endpoint", "urllib3.connectionpool", "moto", "watchdog.observers",
                 "werkzeug", "apscheduler.scheduler"):  # fmt: skip
        log = logging.getLogger(name)
        log.debug("%s debug", name)
        log.info("%s info", name)
        log.warning("%s warning", name)


def test_default_level_shows_routers_info_and_library_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_DEBUG_LIBRARIES", raising=False)
    lines: list[str] = []
    setup_logging(False, info=True, write=lines.append)
    emit_all()
    assert lines == [
        "router: router.sources.http info",
        "router: warning: router.sources.http warning",
        "router: warning: botocore.endpoint: botocore.endpoint warning",
        "router: warning: urllib3.connectionpool: urllib3.connectionpool warning",
        "router: warning: moto: moto warning",
        "router: warning: watchdog.observers: watchdog.observers warning",
        "router: warning: werkzeug: werkzeug warning",
        "router: warning: apscheduler.scheduler: apscheduler.scheduler warning",
    ]


def test_verbose_adds_routers_debug_but_no_library_chatter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_DEBUG_LIBRARIES", raising=False)
    lines: list[str] = []
    setup_logging(True, write=lines.append)
    emit_all()
    router_lines = [line for line in lines if "router.sources.http" in line]
    assert [line.split(" ", 2)[1:] for line in router_lines] == [
        ["DEBUG", "  router.sources.http: router.sources.http debug"],
        ["INFO", "   router.sources.http: router.sources.http info"],
        ["WARNING", "router.sources.http: router.sources.http warning"],
    ]
    others = [line for line in lines if "router.sources.http" not in line]
    assert len(others) == 6 and all(" WARNING " in line for line in others), others


def test_without_info_only_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_DEBUG_LIBRARIES", raising=False)
    lines: list[str] = []
    setup_logging(False, write=lines.append)  # router invoke / replay: stdout is the payload
    emit_all()
    assert len(lines) == 7 and all(line.startswith("router: warning: ") for line in lines)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_library_debug_on_request(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.delenv("ROUTER_DEBUG_LIBRARIES", raising=False)
    if how == "env":
        monkeypatch.setenv("ROUTER_DEBUG_LIBRARIES", "1")
    lines: list[str] = []
    setup_logging(True, debug_libraries=how == "flag", write=lines.append)
    emit_all()
    assert any("botocore.endpoint debug" in line for line in lines)
    assert any("werkzeug debug" in line for line in lines)


def test_a_second_setup_replaces_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_DEBUG_LIBRARIES", raising=False)
    first: list[str] = []
    second: list[str] = []
    setup_logging(False, info=True, write=first.append)
    setup_logging(False, info=True, write=second.append)
    logging.getLogger("router.x").info("once")
    assert (first, second) == ([], ["router: once"])


def test_console_keeps_lines_from_other_threads_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    console = _Console()

    async def main() -> None:
        console("a")
        thread = threading.Thread(target=console, args=("from a thread",))
        thread.start()
        thread.join()
        console("b")  # on the loop, after the thread's line was handed over
        await asyncio.sleep(0.05)
        console("c")
        await asyncio.sleep(0.05)

    asyncio.run(main())
    console("after the loop")
    assert capsys.readouterr().out.splitlines() == ["a", "b", "from a thread", "c", "after the loop"]
