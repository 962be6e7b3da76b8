"""`router validate` and `router list`, and what they import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "triggers.yaml"


def test_validate_ok() -> None:
    result = CliRunner().invoke(main, ["validate", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "triggers.yaml: ok (7 functions, 8 triggers)" in result.output


def test_validate_with_config_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "-c", str(DEMO)])
    assert result.exit_code == 0


def test_validate_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "triggers.yaml"
    bad.write_text("functions:\n  f:\n    handler: x.handler\n    timeout: 0\n    memory: 1\n")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4:14: functions.f.timeout" in result.output
    assert f"{bad}:5:13: functions.f.memory" in result.output
    assert "Traceback" not in result.output


def test_validate_default_config_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2 and "triggers.yaml: config file not found" in result.output


def test_list_table_and_json() -> None:
    result = CliRunner().invoke(main, ["list", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "greet-http" in result.output and "GET /hello/{name}" in result.output
    assert "next 20" in result.output  # a schedule's next fire time
    data = json.loads(CliRunner().invoke(main, ["list", "--json", "-c", str(DEMO)]).output)
    assert {f["name"] for f in data["functions"]} >= {"greet", "thumbnail", "report", "on_order"}
    kinds = {t["name"]: t["kind"] for t in data["triggers"]}
    assert kinds["uploads"] == "s3" and kinds["orders-stream"] == "dynamodb" and kinds["nightly"] == "schedule"


def test_validate_does_not_import_heavy_dependencies() -> None:
    code = (
        "import sys\n"
        "from router.cli import main\n"
        f"try:\n    main(['validate', {str(DEMO)!r}])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "heavy = ['moto', 'watchdog', 'apscheduler', 'uvicorn', 'httptools', 'boto3', 'botocore', 'werkzeug']\n"
        "print('HEAVY:' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:", out.stdout


def test_list_fire_times_as_the_daemon_computes_them(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from router.cli.core import describe
    from router.config import load_config

    (tmp_path / "f.py").write_text("def h(e, c):\n    return 1\n")
    (tmp_path / "triggers.yaml").write_text(
        "functions:\n  f: {handler: f.h}\ntriggers:\n  - {function: f, schedule: rate(5 minutes)}\n"
        "  - {function: f, schedule: 'cron(0 3 * * ? *)'}\n"
        "  - {function: f, schedule: {expression: 'cron(30 9 * * ? *)', timezone: Europe/Paris}}\n"
    )
    config = load_config(tmp_path / "triggers.yaml")
    data = describe(config, now=datetime(2026, 1, 1, 12, 0, 7, 123456, tzinfo=UTC))
    assert [t["note"] for t in data["triggers"]] == [
        "next 2026-01-01T12:05:07+00:00 (a rate counts from router's start)",  # whole seconds, from the start
        "next 2026-01-02T03:00:00+00:00",
        "next 2026-01-02T09:30:00+01:00",
    ]
    assert data["functions"][0]["note"] == ""


def test_list_notes_a_node_major_other_than_the_runtime(tmp_path: Path) -> None:
    from router.check import node_version

    version = node_version("node")
    if version is None:
        pytest.skip("Node.js is not installed")
    major = version[1:].split(".")[0]
    other = "nodejs18.x" if major != "18" else "nodejs20.x"
    (tmp_path / "a.js").write_text("exports.h = async () => 1;\n")
    (tmp_path / "triggers.yaml").write_text(
        f"functions:\n  a: {{handler: a.h, runtime: {other}}}\n  b: {{handler: gone.h, runtime: {other}}}\n"
    )
    out = CliRunner().invoke(main, ["list", str(tmp_path / "triggers.yaml")]).output
    a, b = [line for line in out.splitlines() if line.startswith(("a ", "b "))]
    assert a.endswith(f"runs on Node.js {major} ({version})")
    assert b.endswith("handler file not found: gone.js/.mjs/.cjs/.ts/.mts (" + other + ")")
