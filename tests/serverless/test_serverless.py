"""serverless.yml projects read as router configs: every event kind, variable source, resources,
--stage / --region / --param, the not-emulated listing and errors at file:line."""

from __future__ import annotations

import logging
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from router import serverless
from router.cli import main
from router.config import Config, load_config
from router.errors import ConfigError, ConfigIssue

SHOP = Path(__file__).parent / "projects" / "shop"


@pytest.fixture(autouse=True)
def _no_options() -> Iterator[None]:
    serverless.set_options()
    yield
    serverless.set_options()


@pytest.fixture()
def shop(tmp_path: Path) -> Path:
    shutil.copytree(SHOP, tmp_path / "shop")
    return tmp_path / "shop"


def write(folder: Path, text: str, name: str = "serverless.yml") -> Path:
    (folder / "h.py").write_text("def main(event, context):\n    return event\n")
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def issues(path: Path, **kw: object) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kw)  # type: ignore[arg-type]
    return info.value.issues


def triggers(config: Config, kind: str) -> list[object]:
    return [t.source for t in config.triggers if t.kind == kind]


# ---------------------------------------------------------------------------- events


def test_http_and_http_api_events(shop: Path) -> None:
    c = load_config(shop / "serverless.yml")
    rest = {t.route: t for t in triggers(c, "http") if t.payload == "1.0" and t.stage == "dev"}  # type: ignore[attr-defined]
    assert set(rest) == {"GET /items/{id}", "ANY /files/{proxy+}"}
    assert rest["ANY /files/{proxy+}"].cors is not None and rest["GET /items/{id}"].cors is None
    assert rest["GET /items/{id}"].binary_media_types == ("image/png",)
    api = {t.route: t for t in triggers(c, "http") if t.stage is None}  # type: ignore[attr-defined]
    assert set(api) == {"$default", "POST /orders", "GET /orders/{id}"}
    assert {t.payload for t in api.values()} == {"1.0"}  # provider.httpApi.payload
    assert api["$default"].cors.allow_origins == ("https://shop.example",)
    assert api["$default"].cors.allow_methods == ("GET", "POST")
    assert c.settings.http.port == 0 and c.settings.http.host == "127.0.0.1"  # custom.serverless-offline


def test_http_api_defaults_to_payload_2_and_no_stage_prefix_when_asked(tmp_path: Path) -> None:
    c = load_config(write(tmp_path, """
        service: s
        provider: {name: aws, runtime: python3.12}
        custom:
          serverless-offline: {noPrependStageInUrl: true, httpPort: 4001}
        functions:
          f:
            handler: h.main
            events:
              - httpApi: {method: '*', path: /any}
              - http: {method: post, path: ''}
    """))
    routes = {t.route: (t.payload, t.stage) for t in triggers(c, "http")}  # type: ignore[attr-defined]
    assert routes == {"ANY /any": ("2.0", None), "POST /": ("1.0", None)}
    assert c.settings.http.port == 4001


def test_schedule_s3_stream_sqs_sns_eventbridge(shop: Path) -> None:
    c = load_config(shop / "serverless.yml")
    sched = triggers(c, "schedule")
    assert [(s.expression, s.enabled, s.input) for s in sched] == [  # type: ignore[attr-defined]
        ("rate(5 minutes)", True, None), ("cron(0 12 * * ? *)", False, {"job": "nightly"}),
        ("rate(1 hour)", False, {"job": "nightly"})]  # fmt: skip
    s3 = triggers(c, "s3")
    assert [(s.bucket, s.events, s.prefix, s.suffix) for s in s3] == [  # type: ignore[attr-defined]
        ("shop-incoming", ("s3:ObjectCreated:*",), "", ""),
        ("shop-assets-eu-west-1", ("s3:ObjectRemoved:*",), "images/", ".png")]  # fmt: skip
    (d,) = triggers(c, "dynamodb")
    assert (d.table, d.batch_size, d.starting_position, d.retries, d.bisect_on_error,  # type: ignore[attr-defined]
            d.report_batch_item_failures, d.filter, d.on_failure.queue) == (  # type: ignore[attr-defined]
        "shop-orders-dev", 7, "LATEST", 3, True, True, ({"eventName": ["INSERT"]},), "failures")
    q1, q2 = triggers(c, "sqs")
    assert (q1.queue, q1.batch_size, q1.batching_window, q1.report_batch_item_failures,  # type: ignore[attr-defined]
            q1.filter) == ("shop-jobs", 20, 2, True, ({"body": {"kind": ["urgent"]}},))  # type: ignore[attr-defined]
    assert q2.queue == "failures"  # type: ignore[attr-defined]
    n1, n2 = triggers(c, "sns")
    assert (n1.topic, n2.topic, n2.filter_policy) == ("shop-news", "alerts", {"level": ["high"]})  # type: ignore[attr-defined]
    assert "shop-news" in c.resources.topics  # a topic given by name is created, as Serverless does
    e1, e2, e3 = triggers(c, "eventbridge")
    assert (e1.bus, e1.input_transformer.input_paths, e1.input_transformer.template) == (  # type: ignore[attr-defined]
        "shop-bus", {"id": "$.detail.id"}, '{"order": <id>}')
    assert "shop-bus" in c.resources.buses
    assert (e2.bus, e2.input_path) == ("default", "$.detail")  # type: ignore[attr-defined]
    assert (e3.pattern, e3.input) == ({"source": ["shop.legacy"]}, {"legacy": True})  # cloudwatchEvent


def test_stream_defaults_are_serverless_ones(tmp_path: Path) -> None:
    c = load_config(write(tmp_path, """
        service: s
        provider: {name: aws, runtime: python3.12}
        functions:
          f:
            handler: h.main
            events:
              - stream: arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2020-01-01T00:00:00.000
        resources:
          Resources:
            T:
              Type: AWS::DynamoDB::Table
              Properties:
                TableName: t
                AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
                KeySchema: [{AttributeName: id, KeyType: HASH}]
                StreamSpecification: {StreamViewType: KEYS_ONLY}
    """))
    (d,) = triggers(c, "dynamodb")
    assert (d.table, d.batch_size, d.starting_position) == ("t", 10, "TRIM_HORIZON")  # type: ignore[attr-defined]
    assert c.resources.tables["t"].stream == "KEYS_ONLY"


# ---------------------------------------------------------------------------- functions and resources


def test_provider_and_function_keys(shop: Path) -> None:
    c = load_config(shop / "serverless.yml")
    api, timer = c.functions["api"], c.functions["timer"]
    assert (api.runtime, api.memory, api.timeout) == ("python3.12", 512, 10)
    assert api.handler_file == shop / "src" / "handlers.py"
    assert api.environment == {"STAGE": "dev", "GREETING": "overridden", "TABLE": "shop-orders-dev"}
    assert (timer.memory, timer.concurrency, timer.async_.retries, timer.async_.max_event_age) == (256, 2, 1, 120)
    assert timer.async_.on_success.function == "api" and timer.async_.on_failure.queue == "failures"  # type: ignore[union-attr]
    assert c.settings.region == "eu-west-1"


def test_serverless_defaults_memory_and_timeout_node_handler(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "api.mjs").write_text("export const main = async () => 1;\n")
    c = load_config(write(tmp_path, """
        service: s
        provider: {name: aws, runtime: nodejs20.x}
        functions:
          f: {handler: lib/api.main}
          g: {handler: h.main, runtime: python3.11}
    """))
    f, g = c.functions["f"], c.functions["g"]
    assert (f.runtime, f.memory, f.timeout, f.handler_file) == ("nodejs20.x", 1024, 6, tmp_path / "lib" / "api.mjs")
    assert (g.runtime, g.handler_file) == ("python3.11", tmp_path / "h.py")


def test_resources_become_router_resources(shop: Path) -> None:
    c = load_config(shop / "serverless.yml")
    assert c.resources.tables["shop-orders-dev"].keys == {"pk": "S", "sk": "N"}  # HASH first
    assert c.resources.buckets == ["shop-assets-eu-west-1"]
    jobs = c.resources.queues["shop-jobs"]
    assert jobs.visibility_timeout == 60 and jobs.redrive is not None
    assert (jobs.redrive.dead_letter, jobs.redrive.max_receive_count) == ("failures", 5)
    assert "alerts" in c.resources.topics


# ---------------------------------------------------------------------------- variables


def test_every_variable_source(tmp_path: Path) -> None:
    (tmp_path / "extra.yml").write_text("db:\n  name: ${self:custom.prefix}-db\nport: 5432\n")
    path = write(tmp_path, """
        service: vars
        params:
          default: {owner: team-a, level: low}
          qa: {level: high}
        provider:
          name: aws
          runtime: python3.12
          stage: ${opt:stage, 'dev'}
          region: ${opt:region, 'us-west-2'}
          environment:
            SELF: ${self:service}
            STAGE: ${sls:stage}
            REGION: ${aws:region}
            ACCOUNT: ${aws:accountId}
            HOME_DIR: ${env:VAR_SET}
            DEFAULTED: ${env:VAR_UNSET, 'fallback value'}
            NESTED: ${self:custom.tables.${sls:stage}}
            CHAIN: ${env:VAR_UNSET, ${self:custom.prefix}}
            NUMBER: ${env:VAR_UNSET, 42}
            FILE: ${file(./extra.yml):db.name}
            FILE_NUMBER: ${file(./extra.yml):port}
            OWNER: ${param:owner}
            LEVEL: ${param:level}
            FLAG: ${param:flag, 'none'}
            SECRET: ${ssm:/vars/secret}
            STACK: ${cf:other.Output, 'no-stack'}
            OBJECT: ${s3:bucket/key, 'no-object'}
            SUB: !Sub '${AWS::Region}-${AWS::AccountId}'
        custom:
          prefix: app-${sls:stage}
          tables: {dev: t-dev, qa: t-qa}
        functions:
          f: {handler: h.main}
        resources:
          Resources:
            Secret:
              Type: AWS::SSM::Parameter
              Properties: {Name: /vars/secret, Type: String, Value: 's3cr3t-${sls:stage}'}
    """)
    env = {"VAR_SET": "/home/x"}
    config = load_config(path, environ=env)
    assert config.resources.parameters["/vars/secret"].value == "s3cr3t-dev"  # made in the embedded SSM
    dev = config.functions["f"].environment
    assert dev == {
        "SELF": "vars", "STAGE": "dev", "REGION": "us-west-2", "ACCOUNT": "123456789012", "HOME_DIR": "/home/x",
        "DEFAULTED": "fallback value", "NESTED": "t-dev", "CHAIN": "app-dev", "NUMBER": "42", "FILE": "app-dev-db",
        "FILE_NUMBER": "5432", "OWNER": "team-a", "LEVEL": "low", "FLAG": "none", "SECRET": "s3cr3t-dev",
        "STACK": "no-stack", "OBJECT": "no-object", "SUB": "us-west-2-123456789012",
    }  # fmt: skip
    serverless.set_options(stage="qa", region="ap-south-1", params={"flag": "on", "owner": "me"})
    qa = load_config(path, environ=env).functions["f"].environment
    assert (qa["STAGE"], qa["REGION"], qa["NESTED"], qa["LEVEL"], qa["FLAG"], qa["OWNER"], qa["SECRET"]) == (
        "qa", "ap-south-1", "t-qa", "high", "on", "me", "s3cr3t-qa")
    assert serverless.load(path, stage="dev", environ=env).functions["f"].environment["STAGE"] == "dev"


def test_unresolvable_variables_are_errors_at_their_line(tmp_path: Path) -> None:
    found = issues(write(tmp_path, """
        service: s
        provider:
          name: aws
          runtime: python3.12
          environment:
            A: ${env:VAR_UNSET}
            B: ${cf:other.Output}
            C: ${s3:b/k}
            D: ${ssm:/nope}
            E: ${self:custom.missing}
            F: ${file(./absent.yml):x}
            G: ${opt:color}
            H: ${vault:x}
        functions:
          f: {handler: h.main}
    """), environ={})
    got = {(i.line, i.path) for i in found}
    assert got == {(line, f"provider.environment.{k}") for line, k in zip(range(6, 14), "ABCDEFGH", strict=True)}
    text = {i.path[-1]: i.message for i in found}
    assert "no CloudFormation stacks" in text["B"] and "starts empty" in text["C"]
    assert "no parameter '/nope'" in text["D"] and "unknown variable source 'vault'" in text["H"]
    assert all(i.file == str(tmp_path / "serverless.yml") and i.column == 8 for i in found)


# ---------------------------------------------------------------------------- recognition, options, listing


def test_recognised_by_content_any_name_and_json(tmp_path: Path) -> None:
    c = load_config(write(tmp_path, """
        service: s
        provider: {name: aws, runtime: python3.12}
        functions:
          f: {handler: h.main, events: [{schedule: rate(1 minute)}]}
    """, name="app.yml"))
    assert c.triggers[0].kind == "schedule"
    js = write(tmp_path, '{"service": "s", "provider": {"name": "aws", "runtime": "python3.12"},'
                         ' "functions": {"f": {"handler": "h.main"}}}', name="serverless.json")  # fmt: skip
    assert load_config(js).functions["f"].memory == 1024


def test_cli_stage_region_and_param(shop: Path) -> None:
    path = shop / "serverless.yml"
    result = CliRunner().invoke(main, ["list", str(path), "--stage", "prod", "--region", "eu-central-1", "--json"])
    assert result.exit_code == 0, result.output
    assert "shop-orders-prod" in result.output and '"stage": "prod"' in result.output
    assert "shop-assets-eu-central-1" in result.output
    result = CliRunner().invoke(main, ["validate", str(path), "--param", "greeting=hi"])
    assert result.exit_code == 0, result.output
    assert load_config(path).functions["timer"].environment["GREETING"] == "hi"


def test_not_emulated_listed_once_never_fatal(shop: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = shop / "serverless.yml"
    c = load_config(path)
    assert c.notes == (
        "not emulated: ApiRole (AWS::IAM::Role)",
        "not emulated: functions.bus.events[3] (websocket)",
        "not emulated: functions.bus.events[4] (alb)",
        "not emulated: functions.bus.events[5].stream (kinesis)",
        "not emulated: plugin serverless-offline (router runs the service itself)",
        "not emulated: plugin serverless-iam-roles-per-function (router runs the service itself)",
    )
    assert len(c.functions) == 7 and len(c.triggers) == 18
    caplog.set_level(logging.WARNING, "router")
    result = CliRunner().invoke(main, ["list", str(path)])
    assert result.exit_code == 0, result.output
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"{path}: {note}" for note in c.notes]  # each once, at start


def test_translated_problems_point_into_the_serverless_yml(tmp_path: Path) -> None:
    found = issues(write(tmp_path, """
        service: s
        provider:
          name: aws
          runtime: python2.7
        functions:
          f:
            handler: h.main
            timeout: 2000
            events:
              - http: FETCH /x
              - sqs: !GetAtt Missing.Arn
              - sqs: arn:aws:sqs:us-east-1:123456789012:absent
              - stream: arn:aws:sqs:us-east-1:123456789012:q
    """))
    where = {(i.line, i.path): i.message for i in found}
    assert "got 'python2.7'" in where[(4, "provider.runtime")]
    assert "less than or equal to 900" in where[(8, "functions.f.timeout")]
    assert "unknown method 'FETCH'" in where[(10, "functions.f.events[0].http")]
    assert "no resource named 'Missing'" in where[(11, "functions.f.events[1].sqs.arn")]
    absent = where[(12, "functions.f.events[2].sqs.arn")]
    assert "no queue 'absent' in resources.Resources (an AWS::SQS::Queue)" in absent
    assert "is not an ARN of dynamodb" in where[(13, "functions.f.events[3].stream.arn")]


def test_use_dotenv_reads_the_stage_file_first_under_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=from-env-file\nB=from-env-file\n")
    (tmp_path / ".env.qa").write_text("A=from-qa-file\n")
    path = write(tmp_path, """
        service: s
        useDotenv: true
        provider:
          name: aws
          runtime: python3.12
          environment: {A: '${env:A}', B: '${env:B, "none"}', C: '${env:C}'}
        functions:
          f: {handler: h.main}
    """)
    assert load_config(path, environ={"C": "process"}).functions["f"].environment == {
        "A": "from-env-file", "B": "from-env-file", "C": "process"}
    serverless.set_options(stage="qa")
    assert load_config(path, environ={"A": "process", "C": "c"}).functions["f"].environment == {
        "A": "process", "B": "none", "C": "c"}
