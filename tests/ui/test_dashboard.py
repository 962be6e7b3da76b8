"""The dashboard in a real browser: Debian's chromium driven by Playwright (``router run`` as a
subprocess on a copy of the demo). Skipped, with the reason, only where chromium is absent and
not in CI (CI=true: .ci/run installs it, so its absence fails).

Screenshots go to a temp folder; ``ROUTER_UPDATE_SCREENSHOTS=1`` writes them to docs/img/
(the ones docs/dashboard.md shows).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.e2e.conftest import ROOT, Daemon

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def _browser_or_skip() -> Any:
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"no {CHROMIUM} (Debian's chromium package: apt-get install chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[test]')"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the dashboard's browser tests: {problem}")
        pytest.skip(problem)
    return sync_playwright


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo under ``router run`` with the dashboard, and a browser page on it."""
    sync_playwright = _browser_or_skip()
    root = tmp_path_factory.mktemp("dashboard")
    shutil.copytree(ROOT / "samples", root / "samples", ignore=shutil.ignore_patterns("tests", "__pycache__"))
    text = re.sub(r"port: (3000|4566)", "port: 0", (ROOT / "triggers.yaml").read_text())
    text = text.replace("settings:\n", "settings:\n  ui: {port: 0}\n", 1)
    text = text.replace("resources:\n", "resources:\n  queues: {jobs: {}}\n", 1)  # something to send to
    (root / "triggers.yaml").write_text(text)
    daemon = Daemon(root / "triggers.yaml")
    shots = Path(os.environ["ROUTER_UPDATE_SCREENSHOTS_DIR"]) if os.environ.get("ROUTER_UPDATE_SCREENSHOTS_DIR") \
        else (ROOT / "docs" / "img" if os.environ.get("ROUTER_UPDATE_SCREENSHOTS") else root / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        ui = daemon.wait_for(r"^dashboard\s+(http://\S+)")[1]
        http = daemon.wait_for(r"^http\s+GET\s+(http://[^/]+)/hello/")[1]
        daemon.wait_for("router ready")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.set_default_timeout(15_000)
            try:
                yield {"ui": ui, "http": http, "page": page, "daemon": daemon, "shots": shots, "root": root}
            finally:
                browser.close()
    finally:
        daemon.stop()


def _get(url: str) -> bytes:
    with urlopen(url, timeout=10) as r:
        return bytes(r.read())


def _post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    req = Request(url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json",
                                                                              **headers})  # fmt: skip
    try:
        with urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_overview_lists_the_demos_functions_and_triggers(site: dict[str, Any]) -> None:
    page = site["page"]
    _get(site["http"] + "/hello/warm")  # a warm worker and a row to show
    page.goto(site["ui"])
    functions = page.locator("#functions")
    for name in ("greet", "hello", "hello_node", "thumbnail", "report", "on_order"):
        functions.get_by_text(name, exact=True).wait_for()
    triggers = page.locator("#triggers")
    for name in ("greet-http", "uploads", "nightly", "heartbeat", "orders-stream"):
        triggers.locator(f'[data-trigger="{name}"]').first.wait_for()
    assert "cron(0 3 * * ? *)" in triggers.inner_text()
    page.locator("#aws").get_by_text("orders", exact=True).wait_for()
    page.screenshot(path=str(site["shots"] / "dashboard-overview.png"))


def test_an_http_request_appears_in_the_live_table_without_a_reload(site: dict[str, Any]) -> None:
    page = site["page"]
    page.goto(site["ui"] + "#/live")
    page.locator("#conn.up").wait_for()
    page.locator("#live").wait_for()
    before = page.locator("#live tbody tr").count()
    page.evaluate("window.__marker = 1")  # gone if the page reloads
    _get(site["http"] + f"/hello/live-{uuid.uuid4().hex[:6]}")
    # the bound: the row shows within a second
    page.wait_for_function("n => document.querySelectorAll('#live tbody tr').length > n", arg=before, timeout=1000)
    assert page.evaluate("window.__marker") == 1
    assert "greet" in page.locator("#live tbody tr").first.inner_text()
    token = page.evaluate("document.querySelector('meta[name=router-token]').content")
    missing = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "no-such-bucket"},
                                                                      "object": {"key": "x.txt"}}}]}  # fmt: skip
    status, failed = _post(site["ui"] + "api/invoke", {"function": "thumbnail", "event": missing},
                           {"X-Router-Token": token})  # fmt: skip
    assert status == 200 and failed["status"] == "error"
    page.locator("#live tbody tr.failed", has_text="NoSuchBucket").first.wait_for()  # errors stand out
    page.screenshot(path=str(site["shots"] / "dashboard-live.png"))


def test_the_invocation_view_shows_event_log_and_chain_and_replays(site: dict[str, Any]) -> None:
    page = site["page"]
    name = f"view-{uuid.uuid4().hex[:6]}"
    _get(site["http"] + f"/hello/{name}")
    page.goto(site["ui"] + "#/live?function=greet")
    page.locator("#live tbody tr a").first.click()
    page.locator("#event").get_by_text(f'"/hello/{name}"').first.wait_for()
    assert "START RequestId:" in page.locator("#log").inner_text()
    assert "REPORT RequestId:" in page.locator("#log").inner_text()
    page.locator("#chain").wait_for()
    page.locator("#event input[type=search]").fill(name)
    assert page.locator("#event .hit").count() >= 1
    page.screenshot(path=str(site["shots"] / "dashboard-invocation.png"), full_page=True)
    original = page.url
    page.locator("#replay").click()
    page.wait_for_url(lambda url: url != original and "#/inv/id/" in url)
    # the replay's chain names what it replayed, linking to it
    page.locator("#chain a").first.wait_for()
    assert page.locator("#chain a").first.inner_text() == "greet"
    page.locator("#event").get_by_text(f'"/hello/{name}"').first.wait_for()


def test_fire_from_the_page_runs_the_schedule(site: dict[str, Any]) -> None:
    page = site["page"]
    page.goto(site["ui"])
    page.locator('button.fire[data-trigger="nightly"]').click()
    page.locator("#toast").get_by_text("fired nightly").wait_for()
    page.goto(site["ui"] + "#/live?function=report")
    page.locator("#live tbody tr", has_text="nightly").first.wait_for()


def test_a_cross_origin_or_tokenless_post_is_refused(site: dict[str, Any]) -> None:
    ui, daemon = site["ui"], site["daemon"]
    fire = {"trigger": "nightly"}
    token = re.search(rb'name="router-token" content="([^"]+)"', _get(ui))
    assert token is not None
    status, body = _post(ui + "api/fire", fire, {"Origin": "http://evil.example"})
    assert status == 403 and "origin" in body["error"]
    status, body = _post(ui + "api/fire", fire, {"Origin": "http://evil.example", "X-Router-Token": token[1].decode()})
    assert status == 403 and "evil.example" in body["error"]
    status, body = _post(ui + "api/fire", fire, {})
    assert status == 403 and "token" in body["error"]
    port = ui.rstrip("/").rsplit(":", 1)[1]
    rebound = {"Host": f"rebind.example:{port}", "X-Router-Token": token[1].decode()}
    status, body = _post(ui + "api/fire", fire, rebound)
    assert status == 403 and "DNS rebinding" in body["error"]
    # a page of another origin (the HTTP source's) cannot make the browser fire either
    page = site["page"]
    page.goto(site["http"] + "/hello/other-origin")
    # a CORS-simple POST (no preflight) reaches the server, which refuses it for its Origin
    refused = page.evaluate("""async (url) => {
        try { await fetch(url, {method: "POST", body: '{"trigger": "nightly"}',
                                headers: {"Content-Type": "text/plain"}});
              return "answered"; } catch (e) { return "refused"; } }""", ui + "api/fire")
    assert refused == "refused"  # and the page cannot read the answer (no CORS headers)
    other = re.escape(site["http"])
    daemon.wait_for(rf"dashboard: refused POST /api/fire: the dashboard refuses requests from origin '{other}'")


def test_no_ui_and_a_taken_port_leave_the_daemon_running(site: dict[str, Any]) -> None:
    root = site["root"]
    taken = site["ui"].rstrip("/").rsplit(":", 1)[1]
    config = root / "other.yaml"  # beside the first, on a state dir of its own
    text = (root / "triggers.yaml").read_text().replace("ui: {port: 0}", f"ui: {{port: {taken}}}\n  state_dir: .other")
    config.write_text(text)
    for args, expected in (((), rf"dashboard: cannot listen on 127\.0\.0\.1:{taken}"), (("--no-ui",), None)):
        d = Daemon(config, *args)
        try:
            d.wait_for("router ready")
            if expected is not None:
                d.wait_for(expected)
            assert not any(line.startswith("dashboard ") for line in d.lines)
        finally:
            assert d.stop() == 0


def test_a_file_dropped_from_the_page_runs_its_function_and_the_chain_it_starts(site: dict[str, Any]) -> None:
    page = site["page"]
    page.goto(site["ui"])
    name = f"cat-{uuid.uuid4().hex[:6]}.txt"
    page.locator('[data-trigger="uploads"] input[type=file]').set_input_files(
        {"name": name, "mimeType": "text/plain", "buffer": b"hello bytes from the page"})
    page.locator("#toast").get_by_text(f"dropped {name}").wait_for()
    page.goto(site["ui"] + "#/live?function=thumbnail")
    page.locator("#live tbody tr", has_text="uploads").locator("a").first.click()  # (its row shows once it ran)
    page.locator("#event input[type=search]").fill(name)  # opens the folds down to the key
    page.locator("#event").get_by_text(f'"{name}"').first.wait_for()
    if "index" not in (site["root"] / "triggers.yaml").read_text():
        return  # a demo without a function its writes fire: no chain to show
    for _ in range(50):  # the thumbnail's write fires `index` (lineage): the chain shows it once it ran
        page.locator("#chain").wait_for()
        if page.locator("#chain a", has_text="index").count():
            break
        page.wait_for_timeout(200)
        page.reload()
    page.locator("#chain a", has_text="index").first.click()
    page.locator("#chain a", has_text="thumbnail").first.wait_for()  # and the index run names its cause
    page.screenshot(path=str(site["shots"] / "dashboard-chain.png"), full_page=True)


def test_invoke_from_an_editor_pre_filled_by_router_event(site: dict[str, Any]) -> None:
    page = site["page"]
    page.goto(site["ui"])
    page.locator('[data-trigger="greet-http"] button', has_text="Invoke").click()
    editor = page.locator("#editor-text")
    editor.wait_for()
    sample = json.loads(editor.input_value())
    assert sample["routeKey"] == "GET /hello/{name}" and sample["version"] == "2.0"  # router event http-api's
    sample["pathParameters"] = {"name": "from-the-editor"}
    editor.fill(json.dumps(sample))
    page.locator("#editor-go").click()
    page.wait_for_url(re.compile(r"#/inv/id/"))
    page.locator("#event").get_by_text('"from-the-editor"').first.wait_for()
    assert "START RequestId:" in page.locator("#log").inner_text()


def test_the_queue_view_and_its_actions_on_unknown_events(site: dict[str, Any]) -> None:
    page, ui = site["page"], site["ui"]
    page.goto(ui + "#/queue")
    page.get_by_role("heading", name="Dead letters").wait_for()
    token = {"X-Router-Token": page.evaluate("document.querySelector('meta[name=router-token]').content")}
    status, body = _post(ui + "api/queue/retry", {"id": "no-such-event"}, token)
    assert status == 409 and "not waiting" in body["error"]
    status, body = _post(ui + "api/dead-letters/discard", {"id": "no-such-event"}, token)
    assert status == 404 and "no dead letter" in body["error"]
    status, body = _post(ui + "api/replay", {"id": "no-such-invocation"}, token)
    assert status == 404
    status, body = _post(ui + "api/invoke", {"function": "nope", "event": {}}, token)
    assert status == 400 and "no function named 'nope'" in body["error"]


def test_send_a_message_to_a_queue_from_the_page(site: dict[str, Any]) -> None:
    page = site["page"]
    page.goto(site["ui"])
    page.locator('[data-resource="queues/jobs"] button', has_text="Send").click()
    page.locator("#editor-text").fill('{"job": 1}')
    page.locator("#editor-go", has_text="Send").click()
    page.locator("#toast").get_by_text("Send: ").wait_for()
    page.reload()
    page.locator('[data-resource="queues/jobs"]', has_text="1 messages").wait_for()
