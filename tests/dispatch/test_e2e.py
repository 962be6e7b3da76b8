"""The dispatcher with real Python workers: retries, timeouts, destinations, concurrency,
graceful stop, the Invoke API from boto3 and from inside a handler, and `router replay`."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from router.clock import Clock
from router.config import Config, load_config
from router.dispatch import Dispatcher
from router.dispatch.lambda_api import make_lambda_api
from router.store import Store

from .dispatch_helpers import Seen, read_records

pytestmark = pytest.mark.slow

HANDLERS = '''
import json, os, time

def ok(event, context):
    print("ok got", json.dumps(event))
    return {"got": event, "request_id": context.aws_request_id}

def fail(event, context):
    if os.path.exists(os.path.join(os.environ["ROOT"], "fixed")):
        return "fixed now"
    raise ValueError("bad " + json.dumps(event))

def slow(event, context):
    time.sleep(event.get("sleep", 5))
    return "late"

def busy(event, context):
    log = os.path.join(os.environ["ROOT"], "busy.log")
    with open(log, "a") as f:
        f.write("+\\n")
    time.sleep(0.1)
    with open(log, "a") as f:
        f.write("-\\n")
    return event["i"]

def caller(event, context):
    import boto3
    lam = boto3.client("lambda")
    sync = lam.invoke(FunctionName="ok", Payload=json.dumps({"from": "caller"}))
    queued = lam.invoke(FunctionName="ok", InvocationType="Event", Payload=b'{"queued": true}')
    return {"sync": json.load(sync["Payload"]), "queued": queued["StatusCode"]}
'''


def write_config(tmp_path: Path, functions: dict[str, Any]) -> Config:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    data = {
        "version": 1,
        "settings": {"state_dir": "state", "aws": {"port": 0}},
        "functions": {
            name: {"handler": f"handlers.{spec.pop('entry', name)}", "environment": {"ROOT": str(tmp_path)}, **spec}
            for name, spec in functions.items()
        },
    }
    path = tmp_path / "triggers.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


@asynccontextmanager
async def live(config: Config, *, aws: bool = False) -> AsyncIterator[Dispatcher]:
    from router.runtimes import Runtimes

    async with AsyncExitStack() as stack:
        env = {"AWS_EC2_METADATA_DISABLED": "true"}
        embedded = None
        if aws:
            from router.aws import Aws

            embedded = Aws(config)
            await embedded.start(stack)
            env = embedded.worker_env()
        runtimes = Runtimes(config, env=env, hot_reload=False)
        await runtimes.start(stack)
        dispatcher = Dispatcher(config, runtimes, Store(config.state_dir), Clock())
        await dispatcher.start(stack)
        if embedded is not None:
            embedded.lambda_api = make_lambda_api(dispatcher, asyncio.get_running_loop())
            stack.callback(setattr, embedded, "lambda_api", None)
        dispatcher.aws = embedded  # type: ignore[attr-defined]
        yield dispatcher


def test_retries_and_timeouts_end_in_the_failure_destination(tmp_path: Path) -> None:
    failing = {"async": {"retries": 2, "retry_delays": [0.05], "on_failure": {"dir": "failed"}}}
    config = write_config(tmp_path, {
        "fail": failing,
        "slow": {"timeout": 0.5, "async": {"retries": 1, "retry_delays": [0], "on_failure": {"dir": "failed"}}},
    })  # fmt: skip

    async def main() -> None:
        async with live(config) as d:
            seen = Seen(d)
            fail_id = await d.enqueue("fail", {"n": 1})
            slow_id = await d.enqueue("slow", {"sleep": 5})
            await seen.count(3, "fail", timeout=30)
            await seen.count(2, "slow", timeout=30)
            await asyncio.sleep(0.2)
            assert [(i.id, i.attempt, i.status) for i in seen.of("fail")] == [(fail_id, n, "error") for n in (1, 2, 3)]
            assert [(i.id, i.status) for i in seen.of("slow")] == [(slow_id, "timeout")] * 2
            assert d.pending() == 0

    asyncio.run(main())
    records = {r["requestContext"]["requestId"]: r for r in read_records(tmp_path / "failed")}
    assert len(records) == 2
    failed = next(r for r in records.values() if r["requestPayload"] == {"n": 1})
    assert failed["requestContext"]["approximateInvokeCount"] == 3
    assert failed["requestContext"]["condition"] == "RetriesExhausted"
    assert failed["responseContext"]["functionError"] == "Unhandled"
    assert failed["responsePayload"]["errorType"] == "ValueError"
    assert failed["responsePayload"]["errorMessage"] == 'bad {"n": 1}'
    timed_out = next(r for r in records.values() if r["requestPayload"] == {"sleep": 5})
    assert timed_out["requestContext"]["approximateInvokeCount"] == 2
    assert "Task timed out after 0.50 seconds" in timed_out["responsePayload"]["errorMessage"]


def test_on_success_destination_and_the_request_id_the_handler_sees(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"ok": {"async": {"on_success": {"function": "audit"}}}, "audit": {"entry": "ok"}})

    async def main() -> None:
        async with live(config) as d:
            seen = Seen(d)
            event_id = await d.enqueue("ok", {"n": 2}, trigger="uploads", source="s3")
            await seen.count(1, "audit", timeout=30)
            [first] = seen.of("ok")
            assert first.result == {"got": {"n": 2}, "request_id": event_id}
            assert "ok got" in first.logs and first.trigger == "uploads"
            record = seen.of("audit")[0].event
            assert record["requestContext"]["condition"] == "Success"
            assert record["requestContext"]["requestId"] == event_id
            assert record["responsePayload"] == first.result
            assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}

    asyncio.run(main())


def test_no_more_workers_run_at_once_than_the_concurrency(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"busy": {"concurrency": 2}})

    async def main() -> None:
        async with live(config) as d:
            seen = Seen(d)
            for i in range(8):
                await d.enqueue("busy", {"i": i})
            await seen.count(8, timeout=30)
            assert sorted(i.result for i in seen.invocations) == list(range(8))

    asyncio.run(main())
    depth = peak = 0
    for line in (tmp_path / "busy.log").read_text().split():
        depth += 1 if line == "+" else -1
        peak = max(peak, depth)
    assert peak == 2


def test_graceful_stop_with_real_workers(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"slow": {"concurrency": 1, "timeout": 3}})

    async def main() -> int:
        async with live(config) as d:
            seen = Seen(d)
            for _ in range(5):
                await d.enqueue("slow", {"sleep": 0.3})
            while d.runtimes.busy("slow") == 0:  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
        assert [i.result for i in seen.invocations] == ["late"]
        return d.pending()

    assert asyncio.run(main()) == 4

    async def again() -> None:
        async with live(config) as d:
            seen = Seen(d)
            await seen.count(4, timeout=30)

    asyncio.run(again())


def test_invoke_api_from_boto3_and_from_a_handler(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"ok": {}, "caller": {"timeout": 30}})

    async def main() -> None:
        async with live(config, aws=True) as d:
            seen = Seen(d)
            lam = d.aws.client("lambda")  # type: ignore[attr-defined]
            resp = await asyncio.to_thread(lam.invoke, FunctionName="ok", Payload=b'{"a": 1}', LogType="Tail")
            body = json.loads(resp["Payload"].read())
            assert resp["StatusCode"] == 200 and body["got"] == {"a": 1}
            log_tail = base64.b64decode(resp["LogResult"]).decode()
            assert 'ok got {"a": 1}' in log_tail and "REPORT RequestId: " + body["request_id"] in log_tail
            queued = await asyncio.to_thread(lam.invoke, FunctionName="ok", InvocationType="Event", Payload=b"{}")
            assert queued["StatusCode"] == 202
            dry = await asyncio.to_thread(lam.invoke, FunctionName="ok", InvocationType="DryRun")
            assert dry["StatusCode"] == 204
            # a function calling functions through the same endpoint
            chained = await d.invoke("caller", {})
            assert chained.ok, chained.error
            assert chained.result["sync"]["got"] == {"from": "caller"}
            assert chained.result["queued"] == 202
            await seen.until(lambda invs: any(i.event == {"queued": True} for i in invs), timeout=30)
            sources = {i.source for i in seen.of("ok")}
            assert sources == {"lambda-api"}

    asyncio.run(main())


def test_router_replay_runs_a_failed_invocation_again(tmp_path: Path) -> None:
    from router.cli import main as cli

    config = write_config(tmp_path, {"fail": {"async": {"retries": 0}}})

    async def run_once() -> str:
        async with live(config) as d:
            seen = Seen(d)
            event_id = await d.enqueue("fail", {"n": 9})
            await seen.count(1, timeout=30)
            await asyncio.sleep(0.1)
        return event_id

    event_id = asyncio.run(run_once())
    runner = CliRunner()
    config_path = str(tmp_path / "triggers.yaml")
    result = runner.invoke(cli, ["replay", event_id, "-c", config_path])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["errorMessage"] == 'bad {"n": 9}'
    assert "START RequestId: " in result.stderr
    (tmp_path / "fixed").write_text("")
    result = runner.invoke(cli, ["replay", event_id, "-c", config_path])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "fixed now"
    result = runner.invoke(cli, ["replay", "no-such-id", "-c", config_path])
    assert result.exit_code == 2 and "no invocation or dead letter with id 'no-such-id'" in result.output
    history = runner.invoke(cli, ["history", "-c", config_path, "--json"])
    assert [r["source"] for r in json.loads(history.stdout)] == ["invoke", "replay", "replay"]
