"""End to end: a SAM template run as it is. An HttpApi function writes to the ``!Ref`` table,
whose stream triggers a second function that writes to the ``!Ref`` bucket, whose S3 event
triggers a third; each handler finds its table and bucket by the names in its environment."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from router.api import Router

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parents[1] / "templates" / "fixtures" / "e2e"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "orders-app")
    return tmp_path / "orders-app" / "template.yaml"


def test_router_run_serves_a_sam_template_and_the_chain_runs(project: Path, daemon: type) -> None:
    d = daemon(project, "--param", "Stage=test")
    d.wait_for(r"warning: .*template\.yaml: not emulated: Fulfilment \(AWS::Serverless::StateMachine\)")
    url = d.wait_for(r"http\s+POST\s+(http://127\.0\.0\.1:\d+)/orders").group(1)
    d.wait_for(r"^router ready")
    request = urllib.request.Request(f"{url}/orders", data=json.dumps({"id": "o-1", "item": "tea"}).encode(),
                                     method="POST", headers={"content-type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert (response.status, json.loads(response.read())) == (201, {"stored": "o-1", "stage": "test"})
    line = d.wait_for(r"receipt receipts/o-1\.json in (\S+) \(mine: (\S+)\): (.*)$", timeout=60)
    assert line.group(1) == line.group(2) and line.group(1).startswith("orders-app-receipts-")
    assert json.loads(line.group(3)) == {"id": "o-1", "item": "tea"}
    assert d.stop() == 0, "\n".join(d.lines)


def test_the_python_api_takes_a_template_and_parameters(project: Path) -> None:
    with Router(project, parameters={"Stage": "api"}, stack_name="shop") as r:
        response = r.http.post("/orders", json={"id": "o-2", "item": "cake"})
        assert (response.status_code, response.json()) == (201, {"stored": "o-2", "stage": "api"})
        receipt = r.wait("Receipt", timeout=60)
        assert receipt.result == "receipts/o-2.json"
        bucket = r.config.functions["Receipt"].environment["RECEIPTS_BUCKET"]
        assert bucket.startswith("shop-receipts-")
        body = r.aws.client("s3").get_object(Bucket=bucket, Key="receipts/o-2.json")["Body"].read()
        assert json.loads(body) == {"id": "o-2", "item": "cake"}
        table = r.config.functions["PlaceOrder"].environment["ORDERS_TABLE"]
        found = r.aws.client("dynamodb").query(TableName=table, IndexName="byItem", KeyConditionExpression="#i = :v",
                                               ExpressionAttributeNames={"#i": "item"},
                                               ExpressionAttributeValues={":v": {"S": "cake"}})  # fmt: skip
        assert [i["id"]["S"] for i in found["Items"]] == ["o-2"]  # the template's global secondary index


@pytest.mark.router_fresh
@pytest.mark.router_config("../templates/fixtures/e2e/template.yaml", parameters={"Stage": "plugin"})
def test_the_pytest_plugin_takes_a_template(router: Router) -> None:
    response = router.http.post("/orders", json={"id": "o-3", "item": "jam"})
    assert (response.status_code, response.json()) == (201, {"stored": "o-3", "stage": "plugin"})
    assert router.wait("Receipt", timeout=60).result == "receipts/o-3.json"
