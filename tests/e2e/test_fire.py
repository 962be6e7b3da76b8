"""`router fire TRIGGER` reaches the running daemon of the config (issue 16)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main

pytestmark = pytest.mark.slow

CONFIG = """
settings: {http: {port: 0}, aws: {port: 0}}
functions:
  beat: {handler: beat.handler}
triggers:
  - {name: nightly, function: beat, schedule: {expression: "cron(0 3 * * ? 2099)", input: {kind: nightly}}}
  - {name: web, function: beat, http: "GET /b"}
"""


def fire(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["fire", *args, "-c", str(config)])
    return result.exit_code, result.output


def test_fire_runs_a_schedule_on_the_running_daemon(tmp_path: Path, daemon: type) -> None:
    (tmp_path / "beat.py").write_text("def handler(event, context):\n    print('got', event)\n    return event\n")
    config = tmp_path / "triggers.yaml"
    config.write_text(CONFIG)
    assert fire(config, "nightly") == (2, "router: no router is running on the state dir "
                                          f"{tmp_path / '.router'} (start it with `router run`)\n")
    d = daemon(config)
    d.wait_for("router ready")
    code, out = fire(config, "nightly")
    assert code == 0 and out.startswith("fired nightly -> beat (event ")
    d.wait_for(r"\[beat\] .*got \{'kind': 'nightly'\}")
    code, out = fire(config, "nightly", "--input", '{"kind": "adhoc"}')
    assert code == 0
    d.wait_for(r"\[beat\] .*got \{'kind': 'adhoc'\}")
    assert fire(config, "web") == (2, "router: trigger 'web' is a http trigger: router fire fires schedule triggers\n")
    code, out = fire(config, "nope")
    assert code == 2 and "no trigger 'nope'" in out and "schedule triggers: nightly" in out
    assert fire(config, "nightly", "--input", "{bad") [0] == 2
    assert d.stop(signal.SIGTERM) == 0
    assert not (tmp_path / ".router" / "daemon.json").exists()
    code, out = fire(config, "nightly")
    assert code == 2 and "no router is running" in out
    history = json.loads(CliRunner().invoke(main, ["history", "-c", str(config), "--json"]).stdout)
    assert [h["event"] for h in history] == [{"kind": "nightly"}, {"kind": "adhoc"}]
