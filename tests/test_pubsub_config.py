"""sns / eventbridge triggers, topics, buses and their destinations in triggers.yaml: each bad
input is a config error with file:line:col and the rule broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import parse_config
from router.errors import ConfigError

BASE = """\
functions:
  f: {handler: app.handler, runtime: python3.11}
resources:
  topics: {orders: {}, seq: {fifo: true}}
  buses: [app-bus]
triggers:
"""


def problems(triggers: str, functions: str = "") -> list[tuple[int, str]]:
    text = BASE.replace("  f: {handler: app.handler, runtime: python3.11}\n",
                        "  f:\n    handler: app.handler\n    runtime: python3.11\n" + functions) + triggers  # fmt: skip
    with pytest.raises(ConfigError) as info:
        parse_config(text, check_files=False)
    return [(i.line or 0, f"{i.path}: {i.message}") for i in info.value.issues]


def test_valid_config_loads() -> None:
    config = parse_config(BASE + """\
  - {function: f, sns: orders}
  - {function: f, sns: {topic: orders, filter_policy_scope: MessageBody, filter_policy: {a: {b: [{cidr: 10.0.0.0/8}]}}}}
  - {function: f, eventbridge: {bus: app-bus, pattern: {source: [x]}, input_transformer: {input_paths: {i: $.id},
                                template: "<i>"}}}
""", check_files=False)  # fmt: skip
    assert [t.kind for t in config.triggers] == ["sns", "sns", "eventbridge"]
    assert config.resources.topics["seq"].fifo and config.resources.buses == ["app-bus"]


@pytest.mark.parametrize(
    ("triggers", "line", "message"),
    [
        ("  - {function: f, sns: nope}\n", 9, "no topic 'nope' in resources.topics"),
        ("  - {function: f, eventbridge: {bus: nope, pattern: {source: [x]}}}\n", 9, "no bus 'nope'"),
        ("  - {function: f, eventbridge: x}\n", 9, "needs|mapping with a 'pattern'"),
        ("  - {function: f, eventbridge: {bus: default}}\n", 9, r"eventbridge\.pattern: required key is missing"),
        ("  - {function: f, eventbridge: {pattern: {source: [{wildcard: 'a**'}]}}}\n", 9, "consecutive wildcard"),
        ("  - {function: f, eventbridge: {pattern: {source: x}}}\n", 9, r"pattern\.source: expected a list"),
        ("  - {function: f, eventbridge: {pattern: {a: [1]}, input: 1, input_path: $.a}}\n", 9, "at most one of"),
        ("  - {function: f, eventbridge: {pattern: {a: [1]}, input_path: detail}}\n", 9, "not a JSON path"),
        ("  - {function: f, eventbridge: {pattern: {a: [1]}, input_transformer: {template: '<x>'}}}\n", 9,
         "neither in input_paths nor predefined"),
        ("  - {function: f, sns: {topic: orders, filter_policy: {a: [{wildcard: x}]}}}\n", 9,
         "unknown rule 'wildcard'; SNS supports"),
        ("  - {function: f, sns: {topic: orders, filter_policy: {a: [1], b: [1], c: [1], d: [1], e: [1], g: [1]}}}\n",
         9, "at most 5 keys"),
        ("  - {function: f, sns: {topic: orders, filter_policy: {a: {b: [1]}}}}\n", 9, "MessageBody"),
        ("  - {function: f, sns: seq}\n", 9, "FIFO topic, which delivers to SQS queues only"),
    ],
)
def test_bad_triggers_say_where_and_why(triggers: str, line: int, message: str) -> None:
    found = problems(triggers)
    assert len(found) == 1 and found[0][0] == line, found
    assert __import__("re").search(message, found[0][1]), found


def test_destinations_need_a_declared_standard_topic_or_bus() -> None:
    found = problems("  - {function: f, sns: orders}\n",
                     "    async: {on_success: {topic: seq}, on_failure: {bus: nope}}\n")
    assert sorted(m for _, m in found) == [
        "functions.f.async.on_failure.bus: no bus 'nope' in resources.buses (only the default bus exists at start)",
        "functions.f.async.on_success.topic: topic 'seq' is a FIFO topic; a destination is a standard topic "
        "(as in AWS)",
    ]
    with pytest.raises(ConfigError, match="exactly one of 'dir', 'function', 'queue', 'topic' or 'bus'"):
        parse_config(BASE.replace("runtime: python3.11}", "runtime: python3.11, async: {on_success: "
                                  "{topic: orders, bus: default}}}") + "  - {function: f, sns: orders}\n",
                     check_files=False)  # fmt: skip


def test_router_list_describes_them(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from router.cli import main

    (tmp_path / "app.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "triggers.yaml").write_text(BASE + """\
  - {name: s, function: f, sns: {topic: orders, filter_policy: {a: [1]}}}
  - {name: e, function: f, eventbridge: {bus: app-bus, pattern: {source: [x], detail: {a: [1]}}}}
""")  # fmt: skip
    out = CliRunner().invoke(main, ["list", str(tmp_path / "triggers.yaml")])
    assert out.exit_code == 0, out.output
    assert "topic orders, filter on MessageAttributes" in out.output
    assert "bus app-bus, pattern on source, detail" in out.output
