"""``router export sam``: the template passes cfn-lint, says on stderr what SAM cannot express,
and importing it gives back the same functions, triggers and knobs."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from router.cli import main
from router.config import Config, load_config
from router.templates.export import logical_id

ROOT = Path(__file__).resolve().parents[2]

EVERY_KNOB = """\
settings: {region: eu-west-1, account: "210987654321"}
functions:
  web_api:
    handler: app.handler
    runtime: python3.12
    timeout: 12
    memory: 512
    concurrency: 7
    environment: {MODE: test, COUNT: "3"}
    logging: {format: JSON, application_level: DEBUG, system_level: WARN}
    async:
      retries: 1
      max_event_age: 900
      on_success: {topic: alerts}
      on_failure: {queue: failures}
  worker:
    handler: app.handler
    async: {retries: 0, on_success: {function: web_api}, on_failure: {bus: shop-bus}}
resources:
  tables:
    orders: {keys: {pk: S, sk: N}, stream: NEW_IMAGE, indexes: {byItem: {item: S, sk: N}, bySk: {sk: N}}}
  buckets: [shop-uploads]
  queues:
    jobs.fifo: {fifo: true, visibility_timeout: 40, message_retention: 600, delay: 5,
                content_based_deduplication: true, redrive: {dead_letter: jobs-dead.fifo, max_receive_count: 6}}
    jobs-dead.fifo: {fifo: true}
    failures: {}
  topics: {alerts: {}}
  buses: [shop-bus]
triggers:
  - {name: upload, function: worker,
     s3: {bucket: shop-uploads, events: ["s3:ObjectRemoved:*"], prefix: a/, suffix: .txt}}
  - name: nightly
    function: worker
    schedule: {expression: "cron(0 3 * * ? *)", timezone: Europe/Paris, input: {k: 1}, description: night,
               enabled: false}
  - name: rest
    function: web_api
    http: {route: "GET /orders/{id}", payload: "1.0", stage: v1, binary_media_types: [image/png],
           cors: {allow_origins: [https://a.example], allow_methods: [GET, POST], allow_headers: [content-type],
                  max_age: 300, allow_credentials: true}}
  - {name: rest-default, function: web_api, http: {route: "POST /legacy", payload: "1.0"}}
  - name: api
    function: web_api
    http: {route: "ANY /items/{proxy+}", stage: live,
           cors: {allow_origins: [https://b.example], expose_headers: [x-id], max_age: 60}}
  - {name: catch-all, function: web_api, http: {route: $default, cors: true}}
  - name: stream
    function: worker
    dynamodb: {table: orders, batch_size: 20, batching_window: 3, starting_position: TRIM_HORIZON, retries: 4,
               max_record_age: 120, bisect_on_error: true, report_batch_item_failures: true, parallelization: 3,
               filter: [{eventName: [INSERT]}], on_failure: {queue: failures}, enabled: false}
  - name: queue
    function: worker
    sqs: {queue: jobs.fifo, batch_size: 10, batching_window: 2, report_batch_item_failures: true,
          max_concurrency: 4, filter: [{body: {k: [1]}}]}
  - {name: topic, function: worker, sns: {topic: alerts, filter_policy_scope: MessageBody,
                                          filter_policy: {level: [error]}}}
  - name: rule
    function: worker
    eventbridge: {bus: shop-bus, pattern: {source: [shop]},
                  input_transformer: {input_paths: {s: $.source}, template: '{"from": <s>}'}}
  - {name: rule2, function: worker, eventbridge: {pattern: {detail-type: [x]}, input: {fixed: true}}}
  - {name: rule3, function: worker, eventbridge: {pattern: {detail-type: [y]}, input_path: $.detail}}
"""

_LOCAL = {"dir", "create", "catch_up", "ignore", "settle", "mirror"}  # a drop folder's keys: local only


def _export(config: Path, out: Path) -> tuple[Path, str]:
    result = CliRunner().invoke(main, ["export", "sam", "-c", str(config), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.stderr


def _functions(c: Config, rename: bool) -> dict[str, Any]:
    out = {}
    for name, f in c.functions.items():
        d = f.model_dump(mode="json", exclude={"name", "code", "handler_file"})
        d["async"] = d.pop("async_")
        d["async"].pop("retry_delays")
        for key in ("on_success", "on_failure"):
            dest = d["async"][key]
            if dest and dest.get("dir"):
                d["async"][key] = None
            elif dest and dest.get("function") and rename:
                dest["function"] = logical_id(dest["function"])
        out[logical_id(name) if rename else name] = d
    return out


def _triggers(c: Config, rename: bool) -> list[Any]:
    found = []
    for t in c.triggers:
        source = t.source.model_dump(mode="json", exclude=_LOCAL if t.kind == "s3" else set())
        if t.kind == "s3" and source["bucket"] is None:
            source["bucket"] = Path(t.s3.dir or "").name  # type: ignore[union-attr]
        found.append((logical_id(t.function) if rename else t.function, t.kind, t.enabled, source))
    return sorted(found, key=repr)


def _round_trip(config: Path, out: Path) -> tuple[Config, Config, str]:
    before = load_config(config)
    template, stderr = _export(config, out)
    return before, load_config(template), stderr


def test_demo_config_round_trip(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "samples", tmp_path / "samples", ignore=shutil.ignore_patterns("tests", "__pycache__"))
    shutil.copy(ROOT / "triggers.yaml", tmp_path / "triggers.yaml")
    before, after, stderr = _round_trip(tmp_path / "triggers.yaml", tmp_path / "sam" / "template.yaml")
    assert _functions(after, False) == _functions(before, True)
    assert _triggers(after, False) == _triggers(before, True)
    assert after.resources.tables == {"orders": before.resources.tables["orders"].model_copy(update={"seed": None})}
    assert "functions.thumbnail.async.on_failure: a dir destination has no AWS equivalent" in stderr
    assert "trigger uploads: the drop folder drop/uploads is local" in stderr
    assert _lint_errors((tmp_path / "sam" / "template.yaml").read_text()) == []


def test_every_knob_round_trip_and_cfn_lint(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "triggers.yaml").write_text(EVERY_KNOB)
    before, after, stderr = _round_trip(tmp_path / "triggers.yaml", tmp_path / "out" / "template.yaml")
    assert _functions(after, False) == _functions(before, True)
    assert _triggers(after, False) == _triggers(before, True)
    assert after.resources.model_dump() == before.resources.model_dump()
    assert after.notes == () and [line for line in stderr.splitlines() if "not in the template" in line] == []
    (tmp_path / "triggers.yaml").write_text(EVERY_KNOB.replace("timeout: 12", "timeout: 12.5"))
    assert "functions.web_api.timeout: Lambda's timeout is whole seconds (13 written)" in _export(
        tmp_path / "triggers.yaml", tmp_path / "out" / "other.yaml")[1]
    text = (tmp_path / "out" / "template.yaml").read_text()
    assert "CodeUri: ..\n" in text and "Type: ScheduleV2" in text and "Type: EventBridgeRule" in text
    assert _lint_errors(text) == []
    assert _lint_errors(text.replace("MemorySize: 512", "MemorySize: 64")) != []  # the check can fail


def _lint_errors(text: str) -> list[str]:
    from cfnlint.api import lint_all  # cfn-lint checks a SAM template against SAM's schemas (no transform)

    return [str(m) for m in lint_all(text) if m.rule.id.startswith("E")]


@pytest.mark.parametrize("bad", ["functions: {f: {handler: app.handler, timeout: 0}}\n", "import: nowhere.yaml\n"])
def test_export_of_a_bad_config_exits_2(tmp_path: Path, bad: str) -> None:
    (tmp_path / "triggers.yaml").write_text(textwrap.dedent(bad))
    result = CliRunner().invoke(main, ["export", "sam", "-c", str(tmp_path / "triggers.yaml")])
    assert result.exit_code == 2 and "router:" in result.stderr


def test_names_that_collide_and_resources_an_external_aws_holds(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "triggers.yaml").write_text(textwrap.dedent("""\
        settings: {aws: {endpoint: "http://127.0.0.1:9"}}
        functions:
          orders_table: {handler: app.handler, async: {on_failure: {bus: elsewhere}}}
          orders-table: {handler: app.handler}
        resources:
          tables: {orders: {keys: {pk: S}}}
        triggers:
          - {name: mine, function: orders_table, dynamodb: orders}
          - {name: theirs, function: orders-table, dynamodb: external-table}
        """))
    template, stderr = _export(tmp_path / "triggers.yaml", tmp_path / "out.yaml")
    text = template.read_text()
    assert _lint_errors(text) == []
    assert "trigger theirs: table 'external-table' is not in resources, so not in the template" in stderr
    assert "functions.orders_table: bus 'elsewhere' is not in resources" in stderr
    resources = yaml.safe_load(text)["Resources"]
    assert {k: v["Type"] for k, v in resources.items()} == {
        "OrdersTable": "AWS::Serverless::Function", "OrdersTable2": "AWS::Serverless::Function",
        "OrdersTable3": "AWS::DynamoDB::Table"}  # fmt: skip
    assert resources["OrdersTable"]["Properties"]["Events"]["Mine"]["Properties"]["Stream"] == {
        "Fn::GetAtt": ["OrdersTable3", "StreamArn"]}  # fmt: skip
