"""triggers.yaml validation: every rule, with the file:line:column it reports."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from router.config import load_config
from router.errors import ConfigError, ConfigIssue


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "fn" / "hello.js").write_text("exports.h = async () => 1;\n")
    (tmp_path / "fn" / "esm.mjs").write_text("export const h = async () => 1;\n")
    return tmp_path


def write(project: Path, text: str) -> Path:
    path = project / "triggers.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def issues(project: Path, text: str, **kw: object) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load_config(write(project, text), **kw)  # type: ignore[arg-type]
    return info.value.issues


def one(project: Path, text: str, **kw: object) -> ConfigIssue:
    found = issues(project, text, **kw)
    assert len(found) == 1, found
    return found[0]


BASE = """
functions:
  app:
    handler: fn/app.handler
"""


def test_valid_config_resolves_paths_runtimes_and_names(project: Path) -> None:
    config = load_config(write(project, """
        functions:
          app: {handler: fn/app.handler}
          js: {handler: fn/hello.h}
          esm: {handler: fn/esm.h, runtime: nodejs20.x}
        triggers:
          - {function: app, http: GET /a}
          - {function: app, http: GET /b}
          - {function: js, schedule: rate(5 minutes)}
    """))
    assert config.functions["app"].runtime.startswith("python3.")
    assert config.functions["app"].handler_file == project / "fn" / "app.py"
    assert config.functions["js"].runtime == "nodejs22.x"
    assert config.functions["esm"].handler_file == project / "fn" / "esm.mjs"
    assert config.functions["js"].export == "h"
    assert [t.name for t in config.triggers] == ["app-http", "app-http-2", "js-schedule"]
    assert config.state_dir == (project / ".router").resolve()
    assert config.functions["app"].timeout == 3 and config.functions["app"].memory == 128


def test_shorthand_forms(project: Path) -> None:
    (project / "drop").mkdir()
    config = load_config(write(project, BASE + textwrap.dedent("""
        resources:
          tables: {orders: {keys: {pk: S}}}
        triggers:
          - {function: app, s3: drop/my-bucket}
          - {function: app, schedule: "cron(0 3 * * ? *)"}
          - {function: app, http: "post  /x/{id}"}
          - {function: app, dynamodb: orders}
    """)))
    s3, sched, http, ddb = config.triggers
    assert s3.s3 is not None and s3.s3.dir == "drop/my-bucket" and s3.s3.events == ("s3:ObjectCreated:*",)
    assert sched.schedule is not None and sched.schedule.expression == "cron(0 3 * * ? *)"
    assert http.http is not None and http.http.route == "POST /x/{id}" and http.http.payload == "2.0"
    assert ddb.dynamodb is not None and ddb.dynamodb.table == "orders" and ddb.dynamodb.batch_size == 100


def test_unknown_key_names_line_and_column(project: Path) -> None:
    issue = one(project, BASE + "    colour: blue\n")
    assert (issue.line, issue.column, issue.path, issue.message) == (4, 5, "functions.app.colour", "unknown key")
    assert str(issue).startswith(f"{project / 'triggers.yaml'}:4:5: functions.app.colour: unknown key")


def test_unknown_top_level_and_settings_keys(project: Path) -> None:
    found = issues(project, BASE + "settings:\n  regoin: eu-west-1\nextras: 1\n")
    assert [(i.path, i.line, i.column) for i in found] == [("settings.regoin", 5, 3), ("extras", 6, 1)]


def test_wrong_type(project: Path) -> None:
    issue = one(project, BASE + "    timeout: soon\n")
    assert (issue.line, issue.column, issue.path) == (4, 14, "functions.app.timeout")
    assert "expected a valid number" in issue.message and "'soon'" in issue.message


def test_out_of_range(project: Path) -> None:
    issue = one(project, BASE + "    memory: 64\n")
    assert (issue.line, issue.path) == (4, "functions.app.memory")
    assert "greater than or equal to 128" in issue.message


def test_missing_required_key(project: Path) -> None:
    issue = one(project, "functions:\n  app:\n    timeout: 3\n")
    assert (issue.path, issue.message, issue.line, issue.column) == (
        "functions.app.handler", "required key is missing", 3, 5)  # fmt: skip


def test_invalid_runtime_name(project: Path) -> None:
    issue = one(project, BASE + "    runtime: python2.7\n")
    assert (issue.line, issue.column, issue.path) == (4, 14, "functions.app.runtime")
    assert "python3.12" in issue.message and "'python2.7'" in issue.message


@pytest.mark.parametrize("handler", ["fn/nothing.handler", "fn/app", "sys.handler"])
def test_a_handler_that_cannot_load_is_not_a_config_error(project: Path, handler: str) -> None:
    # Lambda accepts such a function and fails each invocation with its init error
    # (ImportModuleError, MalformedHandlerName, BuiltInModuleConflict); router.check reports it early
    text = f"functions:\n  app: {{handler: {handler}}}\n  ok: {{handler: fn/app.handler}}\n"
    config = load_config(write(project, text))
    assert config.functions["app"].runtime.startswith("python3.") and config.functions["ok"].handler_file.is_file()


def test_handler_file_of_the_wrong_runtime_keeps_the_runtime(project: Path) -> None:
    config = load_config(write(project, "functions:\n  app:\n    handler: fn/app.handler\n    runtime: nodejs20.x\n"))
    fn = config.functions["app"]
    assert fn.runtime == "nodejs20.x" and fn.handler_file == project / "fn" / "app.js" and not fn.handler_file.exists()


def test_runtime_inferred_is_told_apart_from_a_runtime_set(project: Path) -> None:
    from router.config import runtime_inferred

    config = load_config(write(project, "functions:\n  a: {handler: fn/app.handler}\n"
                               "  b: {handler: fn/app.handler, runtime: python3.12}\n"))  # fmt: skip
    assert runtime_inferred(config.functions["a"]) and not runtime_inferred(config.functions["b"])


def test_one_bad_value_hides_no_other_problem(project: Path) -> None:
    found = issues(project, BASE + textwrap.dedent("""
        triggers:
          - {function: app, schedule: rate(1 minutes)}
          - {function: nope, http: GET /x}
          - {function: app, http: GET /y, name: t}
          - {function: app, http: GET /z, name: t}
    """))
    assert [(i.line, i.path) for i in found] == [
        (6, "triggers[0].schedule.expression"), (7, "triggers[1].function"), (9, "triggers[3].name")]
    assert found[0].message == "rate(1 minutes): the unit must be singular for 1; use rate(1 minute)"
    assert found[1].message == "no function named 'nope' (functions: app)"


def test_an_invalid_function_is_still_known_to_its_triggers(project: Path) -> None:
    found = issues(project, BASE + "    timeout: 0\ntriggers:\n  - {function: app, http: GET /x}\n"
                   "  - {function: ghost, http: GET /y}\n")  # fmt: skip
    assert [i.path for i in found] == ["functions.app.timeout", "triggers[1].function"]


def test_inspect_config_returns_the_valid_parts(project: Path) -> None:
    from router.config import inspect_config

    found = inspect_config(write(project, BASE + "  bad: {handler: fn/app.handler, memory: 1}\n"))
    assert [i.path for i in found.issues] == ["functions.bad.memory"]
    assert found.config is not None and list(found.config.functions) == ["app"]
    assert found.issue(("functions", "app", "handler"), "m").line == 3


def test_trigger_names_a_missing_function(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - function: nope\n    http: GET /x\n")
    assert (issue.line, issue.column, issue.path) == (5, 15, "triggers[0].function")
    assert "no function named 'nope'" in issue.message and "app" in issue.message


def test_duplicate_trigger_names(project: Path) -> None:
    issue = one(project, BASE + textwrap.dedent("""
        triggers:
          - {name: t, function: app, http: GET /x}
          - {name: t, function: app, http: GET /y}
    """))
    assert (issue.line, issue.path) == (7, "triggers[1].name") and "duplicate trigger name 't'" in issue.message


def test_duplicate_routes(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - {function: app, http: GET /x}\n  - {function: app, http: get /x}\n")
    assert issue.path == "triggers[1].http" and "duplicate route" in issue.message


def test_trigger_needs_exactly_one_source(project: Path) -> None:
    found = issues(
        project, BASE + "triggers:\n  - function: app\n  - {function: app, http: GET /x, schedule: rate(1 day)}\n"
    )
    assert [(i.path, i.line) for i in found] == [("triggers[0]", 5), ("triggers[1]", 6)]
    assert "found none" in found[0].message and "found schedule, http" in found[1].message


def test_several_errors_reported_together_in_file_order(project: Path) -> None:
    found = issues(project, """
        functions:
          app:
            handler: fn/app.handler
            timeout: -1
            memory: lots
        settings:
          account: "12"
    """)
    assert [i.path for i in found] == ["functions.app.timeout", "functions.app.memory", "settings.account"]
    assert [i.line for i in found] == [4, 5, 7]
    with pytest.raises(ConfigError) as info:
        load_config(project / "triggers.yaml")
    assert str(info.value).startswith("3 problems in the config:")


def test_env_substitution(project: Path) -> None:
    config = load_config(
        write(project, BASE + "    environment: {A: '${env:ROUTER_T_A}', B: 'x-${env:ROUTER_T_B, fall back}'}\n"),
        environ={"ROUTER_T_A": "from-env"},
    )
    assert config.functions["app"].environment == {"A": "from-env", "B": "x-fall back"}


def test_env_unset_without_default_is_an_error(project: Path) -> None:
    issue = one(project, BASE + "    environment: {A: '${env:ROUTER_T_MISSING}'}\n", environ={})
    assert (issue.line, issue.path) == (4, "functions.app.environment.A")
    assert "ROUTER_T_MISSING is not set" in issue.message


def test_environment_values_become_strings(project: Path) -> None:
    config = load_config(write(project, BASE + "    environment: {N: 3, F: true}\n"))
    assert config.functions["app"].environment == {"N": "3", "F": "true"}


def test_yaml_syntax_error_has_a_position(project: Path) -> None:
    issue = one(project, "functions:\n  app: {handler: fn/app.handler\n")
    assert issue.message.startswith("invalid YAML") and issue.line == 3


def test_duplicate_yaml_key(project: Path) -> None:
    issue = one(project, BASE + "  app:\n    handler: fn/app.handler\n")
    assert (issue.line, issue.column, issue.path, issue.message) == (4, 3, "functions.app", "duplicate key")


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/triggers.yaml")


def test_top_level_must_be_a_mapping(project: Path) -> None:
    issue = one(project, "- a\n- b\n")
    assert issue.message == "expected a mapping at the top level"


def test_invalid_bucket_name(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - function: app\n    s3: {dir: drop, bucket: My_Bucket}\n")
    assert (issue.line, issue.path) == (6, "triggers[0].s3.bucket") and "bucket name" in issue.message


def test_folder_name_that_is_not_a_bucket_name(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - {function: app, s3: drop/Up_Loads}\n")
    assert issue.path == "triggers[0].s3.dir" and "set 'bucket'" in issue.message


def test_unknown_s3_event_type(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - function: app\n    s3: {dir: drop, events: ['s3:ObjectCreated:Mv']}\n")
    assert issue.path == "triggers[0].s3.events" and "s3:ObjectCreated:Mv" in issue.message


@pytest.mark.parametrize(
    ("route", "needle"),
    [("FETCH /x", "unknown method"), ("GET x", "must start with '/'"), ("GET /{a+}/b", "greedy"),
     ("GET", "METHOD /path"), ("GET /{a$b}", "bad path parameter")],
)  # fmt: skip
def test_bad_http_routes(project: Path, route: str, needle: str) -> None:
    issue = one(project, BASE + f"triggers:\n  - function: app\n    http: {{route: '{route}'}}\n")
    assert issue.path == "triggers[0].http.route" and needle in issue.message and issue.line == 6


def test_bad_payload_version(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - function: app\n    http: {route: GET /x, payload: '3.0'}\n")
    assert issue.path == "triggers[0].http.payload"


def test_bad_schedule_expression_names_the_field(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - function: app\n    schedule: cron(0 12 * * 1 *)\n")
    assert (issue.path, issue.line) == ("triggers[0].schedule.expression", 6)
    assert "day-of-month and day-of-week cannot both be specified" in issue.message


def test_bad_timezone(project: Path) -> None:
    issue = one(
        project, BASE + "triggers:\n  - function: app\n    schedule: {expression: rate(1 day), timezone: Mars/Base}\n"
    )
    assert issue.path == "triggers[0].schedule.timezone" and "Mars/Base" in issue.message


def test_stream_table_must_be_declared_for_the_embedded_aws(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - {function: app, dynamodb: orders}\n")
    assert issue.path == "triggers[0].dynamodb.table" and "resources.tables" in issue.message


def test_stream_table_needs_a_stream(project: Path) -> None:
    issue = one(project, BASE + "resources: {tables: {t: {keys: {pk: S}, stream: false}}}\n"
                "triggers:\n  - {function: app, dynamodb: t}\n")  # fmt: skip
    assert "has no stream" in issue.message


def test_stream_mapping_ranges(project: Path) -> None:
    found = issues(project, BASE + "resources: {tables: {t: {keys: {pk: S}}}}\n"
                   "triggers:\n  - function: app\n    dynamodb: {table: t, batch_size: 0, max_record_age: 5,"
                   " starting_position: AT_TIMESTAMP}\n")  # fmt: skip
    assert {i.path for i in found} == {"triggers[0].dynamodb.batch_size", "triggers[0].dynamodb.max_record_age",
                                       "triggers[0].dynamodb.starting_position"}  # fmt: skip


def test_async_config_rules(project: Path) -> None:
    found = issues(project, BASE + "    async: {retries: 3, max_event_age: 30, on_failure: {dir: x, function: app},"
                   " on_success: {function: ghost}}\n")  # fmt: skip
    paths = {i.path for i in found}
    assert {"functions.app.async.retries", "functions.app.async.max_event_age",
            "functions.app.async.on_failure"} <= paths  # fmt: skip


def test_destination_function_must_exist(project: Path) -> None:
    issue = one(project, BASE + "    async: {on_success: {function: ghost}}\n")
    assert issue.path == "functions.app.async.on_success.function" and "ghost" in issue.message


def test_table_keys(project: Path) -> None:
    issue = one(project, "resources: {tables: {t: {keys: {a: S, b: S, c: S}}}}\n")
    assert issue.path == "resources.tables.t.keys" and "one key" in issue.message


def test_internal_fields_are_not_user_keys(project: Path) -> None:
    issue = one(project, BASE + "    code_dir: /etc\n")
    assert (issue.path, issue.message) == ("functions.app.code_dir", "unknown key")


def test_region_and_account(project: Path) -> None:
    found = issues(project, BASE + "settings: {region: mars, account: abc}\n")
    assert {i.path for i in found} == {"settings.region", "settings.account"}


def test_overrides_merge_into_the_file(project: Path) -> None:
    config = load_config(write(project, BASE), overrides={"settings": {"http": {"port": 0}}})
    assert config.settings.http.port == 0 and config.settings.http.host == "127.0.0.1"


def test_the_demo_config_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parent.parent / "triggers.yaml")
    assert {t.kind for t in config.triggers} == {"s3", "schedule", "http", "dynamodb"}


def test_reserved_environment_variables_are_refused(project: Path) -> None:
    issue = one(project, BASE + "    environment: {AWS_REGION: eu-west-1}\n")
    assert issue.path == "functions.app.environment" and "AWS_REGION is a reserved Lambda" in issue.message


def test_stream_filter_patterns_are_checked(project: Path) -> None:
    issue = one(project, BASE + "resources: {tables: {t: {keys: {pk: S}}}}\n"
                "triggers:\n  - function: app\n    dynamodb: {table: t, filter: [{eventName: [{prefx: IN}]}]}\n")
    assert issue.path == "triggers[0].dynamodb.filter" and "filter[0].eventName" in issue.message


def test_routes_that_differ_only_in_parameter_names_clash(project: Path) -> None:
    routes = "triggers:\n  - {function: app, http: 'GET /a/{x}'}\n  - {function: app, http: 'GET /a/{y}'}\n"
    issue = one(project, BASE + routes)
    assert issue.path == "triggers[1].http" and "duplicate route 'GET /a/{y}'" in issue.message
    load_config(write(project, BASE + "triggers:\n  - {function: app, http: 'GET /a/{x}'}\n"
                      "  - {function: app, http: 'GET /a/{y+}'}\n"))  # a greedy one is another route


def test_s3_folder_must_exist_with_create_false(project: Path) -> None:
    issue = one(project, BASE + "triggers:\n  - function: app\n    s3: {dir: nowhere, create: false}\n")
    assert (issue.path, issue.line) == ("triggers[0].s3.dir", 6) and "does not exist (create: false)" in issue.message
