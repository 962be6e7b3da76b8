"""End to end: a serverless.yml's httpApi function writes to a DynamoDB table of its resources, whose
stream event runs a second function; by ``router run serverless.yml`` and by the pytest plugin's ``router``."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from router import Router, serverless
from tests.e2e.conftest import Daemon

pytestmark = pytest.mark.slow
ORDERS = Path(__file__).parent / "projects" / "orders"


def _post(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return response.status, json.loads(response.read())


def test_router_run_serverless_yml_chain(tmp_path: Path) -> None:
    shutil.copytree(ORDERS, tmp_path / "orders")
    daemon = Daemon(tmp_path / "orders" / "serverless.yml", "--stage", "qa")
    try:
        daemon.wait_for(r"not emulated: plugin serverless-offline \(router runs the service itself\)")
        url = daemon.wait_for(r"POST\s+(http://127\.0\.0\.1:\d+/orders)").group(1)
        daemon.wait_for(r"router ready")
        status, body = _post(url, {"id": "o-1", "total": 42})
        assert (status, body) == (201, {"created": "o-1", "stage": "qa"})
        daemon.wait_for(r"\[onChange\] order o-1 INSERT total 42")
    finally:
        assert daemon.stop() == 0, "\n".join(daemon.lines)
    assert any("orders-qa" in line for line in daemon.lines)


@pytest.mark.router_fresh  # the session's router would outlive this test (the leak check)
@pytest.mark.router_config(str(ORDERS / "serverless.yml"))
def test_router_fixture_on_serverless_yml(router: Router) -> None:
    """The pytest plugin's marker (so Router(...) too) takes a serverless.yml."""
    response = router.http.post("/orders", json={"id": "o-2", "total": 7})
    assert response.status_code == 201 and response.json() == {"created": "o-2", "stage": "dev"}
    inv = router.wait("onChange", timeout=30)
    assert inv.ok and "order o-2 INSERT total 7" in inv.logs
    assert inv.event["Records"][0]["eventSourceARN"].startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders-dev/stream/")


def test_ssm_variable_from_an_external_endpoint(tmp_path: Path) -> None:
    """``${ssm:...}`` reads a running AWS endpoint's Parameter Store (here another router's embedded one)."""
    (tmp_path / "h.py").write_text("def main(event, context):\n    return event\n")
    (tmp_path / "triggers.yaml").write_text(
        "functions:\n  f: {handler: h.main}\nresources:\n  parameters: {/shop/db-url: 'postgres://db'}\n")
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  runtime: python3.11\n"
        "  environment: {DB: '${ssm:/shop/db-url}', OTHER: '${ssm:/shop/absent, \"none\"}'}\n"
        "custom:\n  router:\n    settings:\n      aws: {endpoint: '${env:ENDPOINT}'}\n"
        "functions:\n  f: {handler: h.main}\n")  # fmt: skip
    with Router(tmp_path / "triggers.yaml") as r:
        config = serverless.load(tmp_path / "serverless.yml", environ={"ENDPOINT": r.aws.endpoint_url})
    assert config.functions["f"].environment == {"DB": "postgres://db", "OTHER": "none"}
