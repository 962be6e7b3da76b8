"""SAM and CloudFormation templates read as configs (router.templates): our own templates in
fixtures/ (every event type, every intrinsic, Parameters/Globals/Conditions, plain
CloudFormation, a CDK-style asset template), errors with file:line, the not-emulated lines
and the ``import:`` overlay."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main
from router.config import Config, load_config
from router.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture()
def sam(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "sam", tmp_path / "shop")
    return tmp_path / "shop" / "template.yaml"


def _trigger(config: Config, name: str) -> dict[str, object]:
    return config.trigger(name).model_dump(mode="json", exclude_defaults=True, exclude={"name", "function"})


def test_every_intrinsic_and_pseudo_parameter(sam: Path) -> None:
    env = load_config(sam).functions["Web"].environment
    table = env["TABLE"]
    assert table.startswith("shop-Orders-") and len(table) == len("shop-Orders-") + 13  # stack-logical-unique
    assert env["TABLE_ARN"] == f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
    assert env["BUCKET"].startswith("shop-uploads-") and env["BUCKET"] == env["BUCKET"].lower()
    assert env["QUEUE_URL"].startswith("https://sqs.us-east-1.amazonaws.com/123456789012/shop-Jobs-")
    assert env["QUEUE_URL"].endswith(".fifo")
    assert env["TOPIC"].startswith("arn:aws:sns:us-east-1:123456789012:shop-Alerts-")
    assert env["BUS"] == "shop-bus"
    assert env["SUB_SHORT"] == f"us-east-1/123456789012/aws/amazonaws.com/{table}/{env['TABLE_ARN']}/${{Literal}}"
    assert (env["SUB_LONG"], env["JOINED"], env["IF_VALUE"], env["BOTH"]) == ("y-dev", "shop-c", "small", "yes")
    assert (env["B64"], env["AZ"], env["FUNC_ARN"]) == ("aGVsbG8=", "us-east-1a",
                                                       "arn:aws:lambda:us-east-1:123456789012:function:Worker")
    assert "GONE" not in env  # AWS::NoValue leaves the key out
    assert env["STAGE"] == "dev"  # from Globals, merged with the function's variables


def test_the_same_names_at_every_load_and_a_stack_name(sam: Path) -> None:
    first, again = load_config(sam), load_config(sam)
    assert first.functions["Web"].environment == again.functions["Web"].environment
    other = load_config(sam, overrides={"stack_name": "prod-stack"}).functions["Web"].environment
    assert other["TABLE"].startswith("prod-stack-Orders-")


def test_parameters_globals_conditions_and_mappings(sam: Path) -> None:
    config = load_config(sam, overrides={"parameters": {"Stage": "prod"}})
    assert config.template_options == {"parameters": {"Stage": "prod"}}  # what a live reload loads with again
    web = config.functions["Web"]
    assert (web.memory, web.timeout, web.concurrency, web.environment["IF_VALUE"]) == (1024, 9, 3, "big")
    assert web.environment["GONE"] == "x" and web.environment["BOTH"] == "no"
    assert any(q.startswith("shop-ProdOnly-") for q in config.resources.queues)  # Condition: IsProd
    assert not any(q.startswith("shop-ProdOnly-") for q in load_config(sam).resources.queues)
    (sam.parent / "samconfig.toml").write_text(
        '[default.deploy.parameters]\nparameter_overrides = "Stage=prod Retention=\\"600\\""\n')
    loaded = load_config(sam)
    assert loaded.functions["Web"].memory == 1024 and loaded.template_options == {}
    assert loaded.resources.queues[loaded.trigger("WorkerQueue").sqs.queue].message_retention == 600  # type: ignore[union-attr]
    assert load_config(sam, overrides={"parameters": {"Stage": "dev"}}).functions["Web"].memory == 256


def test_a_bad_parameter_and_a_bad_value_name_their_line(sam: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(sam, overrides={"parameters": {"Stage": "test", "Nope": "1"}})
    text = info.value.render()
    assert "template.yaml:5:3: Parameters.Stage: parameter Stage: 'test' is not one of its AllowedValues" in text
    assert "the template declares no parameter 'Nope'" in text
    sam.write_text(sam.read_text().replace("    Timeout: 9\n", "    Timeout: 9000\n"))
    with pytest.raises(ConfigError) as info:
        load_config(sam)
    assert {(i.line, i.path) for i in info.value.issues} == {(28, "functions.Web.timeout"),
                                                           (28, "functions.Worker.timeout")}


def test_import_value_is_an_error_at_its_place_unless_unused(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent("""\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.11
              InlineCode: "def handler(e, c):\\n    return 1\\n"
              Tags: {Team: !ImportValue shared-team}
              Environment:
                Variables:
                  URL: !ImportValue shared-url
        """))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (issue,) = info.value.issues
    assert (issue.line, issue.column, issue.path) == (12, 16, "Resources.Fn")
    assert "Fn::ImportValue reads another stack's export" in issue.message


def test_every_sam_event_type_with_its_knobs(sam: Path) -> None:
    c = load_config(sam)
    table, queue = c.functions["Web"].environment["TABLE"], c.trigger("WorkerQueue").sqs.queue  # type: ignore[union-attr]
    png = ["image/png"]  # Globals.Api's BinaryMediaTypes (SAM's "image~1png")
    assert _trigger(c, "WebRest") == {"http": {
        "route": "GET /orders/{id}", "payload": "1.0", "stage": "v1", "binary_media_types": png,
        "cors": {"allow_origins": ["https://shop.example"], "allow_methods": ["GET", "PUT"], "max_age": 600}}}
    assert _trigger(c, "WebImplicit") == {"http": {"route": "ANY /implicit", "payload": "1.0", "stage": "Prod",
                                                   "binary_media_types": png}}
    assert _trigger(c, "WebHttp") == {"http": {"route": "POST /items", "stage": "live", "cors": {
        "allow_origins": ["https://shop.example"], "allow_methods": ["POST"], "allow_headers": [],
        "allow_credentials": True}}}  # fmt: skip
    assert _trigger(c, "WebHttpV1") == {"http": {"route": "GET /v1", "payload": "1.0"}}
    assert _trigger(c, "WebCatch") == {"http": {"route": "$default"}}
    assert _trigger(c, "WorkerUpload")["s3"] == {
        "bucket": c.functions["Web"].environment["BUCKET"], "prefix": "in/", "suffix": ".csv",
        "events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"]}  # fmt: skip
    assert _trigger(c, "WorkerNightly")["schedule"] == {"expression": "cron(0 3 * * ? *)", "enabled": False,
                                                        "input": {"kind": "nightly"}}  # fmt: skip
    assert _trigger(c, "WorkerHourly")["schedule"] == {"expression": "rate(1 hour)", "timezone": "Europe/Paris",
                                                       "input": {"kind": "hourly"}}  # fmt: skip
    assert _trigger(c, "WorkerStream")["dynamodb"] == {
        "table": table, "batch_size": 50, "batching_window": 2.0, "starting_position": "TRIM_HORIZON",
        "retries": 3, "max_record_age": 3600, "bisect_on_error": True, "report_batch_item_failures": True,
        "parallelization": 2, "filter": [{"eventName": ["INSERT"]}],
        "on_failure": {"queue": c.functions["Web"].async_.on_failure.queue},  # type: ignore[union-attr]
    }  # fmt: skip
    assert _trigger(c, "WorkerQueue")["sqs"] == {
        "queue": queue, "batch_size": 5, "batching_window": 1.0, "report_batch_item_failures": True,
        "max_concurrency": 5, "filter": [{"body": {"kind": ["job"]}}]}  # fmt: skip
    assert _trigger(c, "WorkerTopic")["sns"] == {"topic": c.functions["Web"].environment["TOPIC"].split(":")[-1],
                                                 "filter_policy_scope": "MessageBody",
                                                 "filter_policy": {"level": ["error"]}}  # fmt: skip
    assert _trigger(c, "WorkerRule")["eventbridge"] == {
        "bus": "shop-bus", "pattern": {"source": ["shop"]},
        "input_transformer": {"input_paths": {"src": "$.source"}, "template": '{"from": <src>}'}}  # fmt: skip
    assert _trigger(c, "WorkerClassic")["eventbridge"] == {"pattern": {"detail-type": ["tick"]},
                                                           "input_path": "$.detail"}  # fmt: skip


def test_resources_and_destinations(sam: Path) -> None:
    c = load_config(sam)
    r = c.resources
    (orders,) = [t for n, t in r.tables.items() if n.startswith("shop-Orders-")]
    assert (orders.keys, orders.stream) == ({"pk": "S", "sk": "N"}, "NEW_AND_OLD_IMAGES")  # HASH first
    assert orders.indexes == {"bySk": {"sk": "N"}, "byPk": {"pk": "S", "sk": "N"}}
    (users,) = [t for n, t in r.tables.items() if n.startswith("shop-Users-")]
    assert (users.keys, users.stream) == ({"user": "N"}, None)
    jobs = r.queues[c.trigger("WorkerQueue").sqs.queue]  # type: ignore[union-attr]
    assert (jobs.fifo, jobs.visibility_timeout, jobs.message_retention, jobs.redrive.max_receive_count) == (  # type: ignore[union-attr]
        True, 45, 120, 4)  # fmt: skip
    assert jobs.redrive.dead_letter.startswith("shop-JobsDead-")  # type: ignore[union-attr]
    a = c.functions["Web"].async_
    assert (a.retries, a.max_event_age) == (1, 600)
    assert a.on_success.topic.startswith("shop-Alerts-") and a.on_failure.queue.startswith("shop-Failures-")  # type: ignore[union-attr]


def test_not_emulated_is_listed_by_validate_and_never_fatal(sam: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(sam)])
    assert result.exit_code == 0, result.output
    notes = [line.split(": ", 1)[1] for line in result.stderr.splitlines() if "not emulated" in line]
    assert notes == ["not emulated: Machine (AWS::StepFunctions::StateMachine)",
                     "not emulated: Orders index byPk projection KEYS_ONLY (every attribute is projected)",
                     "not emulated: Web.Events.Secured Auth AWS_IAM (requests are not authorized)",
                     "not emulated: Worker.Events.Kin (Kinesis)"]  # fmt: skip
    assert "ok (2 functions, 14 triggers)" in result.stdout
    bad = CliRunner().invoke(main, ["validate", str(sam), "--param", "Stage=test"])
    assert bad.exit_code == 2 and "AllowedValues" in bad.stderr


def test_plain_cloudformation_json(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "cfn", tmp_path / "cfn")
    c = load_config(tmp_path / "cfn" / "template.json")
    fn = c.functions["Inline"]
    assert (fn.handler_file.read_text(), fn.timeout) == ("def handler(event, context):\n    return 'inline'\n", 20)
    assert fn.async_.retries == 0  # AWS::Lambda::EventInvokeConfig
    assert _trigger(c, "BucketNotification0")["s3"] == {"bucket": "cfn-drop", "events": ["s3:ObjectCreated:Put"],
                                                        "suffix": ".png"}  # fmt: skip
    assert _trigger(c, "StreamMapping")["dynamodb"] == {"table": "cfn-table", "bisect_on_error": True}
    assert _trigger(c, "Sub")["sns"] == {"topic": "cfn-topic", "filter_policy": {"kind": ["a"]}}
    assert _trigger(c, "TickT1")["schedule"] == {"expression": "rate(5 minutes)", "input": {"x": 1}}
    assert _trigger(c, "OnShopT1")["eventbridge"] == {"pattern": {"source": ["shop"]}, "input_path": "$.detail"}
    assert _trigger(c, "Later")["schedule"] == {"expression": "cron(0 9 * * ? *)", "timezone": "Asia/Tokyo",
                                                "input": {"y": 2}}  # fmt: skip
    assert c.resources.tables["cfn-table"].stream == "KEYS_ONLY" and c.notes == ()


def test_a_cdk_asset_template(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "cdk", tmp_path / "cdk.out")
    c = load_config(tmp_path / "cdk.out" / "App.template.json")
    fn = c.functions["Handler886CB40B"]
    assert fn.handler_file == tmp_path / "cdk.out" / "asset.abc123" / "index.py"
    (queue,) = c.resources.queues
    assert queue.startswith("cdk-out-Work-") and c.resources.queues[queue].visibility_timeout == 60
    assert fn.environment["QUEUE"].endswith(f"/{queue}")
    assert _trigger(c, "HandlerSqsEventSourceWork")["sqs"] == {"queue": queue, "batch_size": 7}
    (bucket,) = c.resources.buckets
    assert bucket.startswith("cdk-out-photos5a4f3c21-")  # CDK's bucket notifications custom resource:
    assert _trigger(c, "PhotosNotifications8E1C2F0B0")["s3"] == {"bucket": bucket, "prefix": "raw/", "suffix": ".jpg"}
    assert set(c.functions) == {"Handler886CB40B"} and c.notes == ()  # its provider function is not app code


def test_the_import_overlay(sam: Path) -> None:
    (sam.parent.parent / "local.py").write_text("def handler(event, context):\n    return 2\n")
    path = sam.parent.parent / "triggers.yaml"
    path.write_text(textwrap.dedent("""\
        import: shop/template.yaml
        parameters: {Stage: prod}
        settings: {http: {port: 3100}}
        functions:
          audit: {handler: local.handler}
        triggers:
          - {function: Worker, s3: {dir: drop/uploads, bucket: Uploads}}
          - {function: audit, dynamodb: {table: Orders}}
        """))
    c = load_config(path)
    assert set(c.functions) == {"audit", "Web", "Worker"} and c.settings.http.port == 3100
    dev = load_config(path, overrides={"parameters": {"Stage": "dev"}})  # --param over the file's parameters
    assert dev.functions["Web"].memory == 256 and dev.template_options == {"parameters": {"Stage": "dev"}}
    assert c.functions["Web"].memory == 1024 and c.functions["Web"].code_dir == sam.parent / "src"
    bucket = c.functions["Web"].environment["BUCKET"]
    assert _trigger(c, "Worker-s3")["s3"] == {"dir": "drop/uploads", "bucket": bucket}
    assert _trigger(c, "audit-dynamodb")["dynamodb"]["table"] == c.functions["Web"].environment["TABLE"]  # type: ignore[index]
    assert len(c.triggers) == 16 and len(c.notes) == 4
    path.write_text("import: shop/template.yaml\nfunctions:\n  Web: {handler: local.handler}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "triggers.yaml:3:3: functions.Web: 'Web' is a function of the imported template too" in info.value.render()


def test_table_indexes_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "triggers.yaml"
    path.write_text(textwrap.dedent("""\
        functions: {f: {handler: app.handler}}
        resources:
          tables:
            orders: {keys: {pk: S}, indexes: {byPk: {pk: N}, bad: {a: S, b: S, c: S}}}
        """))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (issue,) = info.value.issues
    assert (issue.line, issue.path) == (4, "resources.tables.orders")
    assert "index 'byPk': 'pk' is S elsewhere in the table, not N" in issue.message


def test_parameter_constraints(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent("""\
        Transform: AWS::Serverless-2016-10-31
        Parameters:
          Size: {Type: Number, Default: 256, MinValue: 128, MaxValue: 1024}
          Prefix: {Type: String, Default: app, AllowedPattern: "[a-z]+", MaxLength: 8}
          Ports: {Type: List<Number>, Default: "80,443"}
          Required: {Type: String}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: index.handler
              Runtime: python3.11
              InlineCode: "def handler(e, c):\\n    return 1\\n"
              MemorySize: !Ref Size
              Environment: {Variables: {PREFIX: !Ref Prefix, PORT: !Select [1, !Ref Ports], R: !Ref Required}}
        """))
    fn = load_config(path, overrides={"parameters": {"Required": "x"}}).functions["Fn"]
    assert (fn.memory, fn.environment) == (256, {"PREFIX": "app", "PORT": "443", "R": "x"})
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides={"parameters": {"Size": "64", "Prefix": "App-1", "Ports": "80,x"}})
    assert [(i.line, i.message) for i in info.value.issues] == [
        (3, "parameter Size: 64 is below its MinValue 128"),
        (4, "parameter Prefix: 'App-1' does not match its AllowedPattern [a-z]+"),
        (5, "parameter Ports: 'x' is not a number (List<Number>)"),
        (6, "parameter Required has no Default: give it with --param Required=VALUE (or parameters: in the API)"),
        (14, "expected greater than or equal to 128, got '64'"),  # MemorySize: !Ref Size
    ]
