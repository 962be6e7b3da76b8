"""settings.env_file and functions.X.env_file: the dotenv format, precedence, ${env:} and errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from router.api import Router
from router.config import parse_config
from router.envfile import parse_env
from router.errors import ConfigError

CONFIG = """
settings:
  env_file: .env
functions:
  reader:
    handler: env_reader.handler
    env_file: reader.env
    environment:
      FROM_YAML: yaml
      SUBSTITUTED: ${env:SHARED}
  other:
    handler: env_reader.handler
    environment:
      SUBSTITUTED: ${env:SHARED}
"""

HANDLER = """
import os

def handler(event, context):
    return {k: os.environ.get(k) for k in event}
"""


def _project(tmp_path: Path) -> Path:
    dotenv = "# shared\nexport SHARED=settings  # a comment\nFROM_YAML=env-file\nQUOTED=\"a\\nb\"\n"
    (tmp_path / ".env").write_text(dotenv)
    (tmp_path / "reader.env").write_text("SHARED=function\nLITERAL='$HOME #1'\n")
    (tmp_path / "env_reader.py").write_text(HANDLER)
    return tmp_path


def test_dotenv_forms() -> None:
    text = 'A=1\n  export B = two words  # c\nC="x\\ty\n z"\nD=\'$x "y"\'\nE=\n\n# skip\nF="say \\"hi\\""\n'
    assert parse_env(text) == {"A": "1", "B": "two words", "C": "x\ty\n z", "D": '$x "y"', "E": "", "F": 'say "hi"'}


def test_dotenv_errors_name_file_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_env("OK=1\nno equals\n9X=1\nAWS_REGION=eu-west-1\nQ='open\n", "app.env")
    lines = str(info.value).splitlines()[1:]
    assert [line.split(":")[:2] for line in lines] == [["  app.env", str(n)] for n in (2, 3, 4, 5)]
    assert "reserved" in lines[2] and "never closed" in lines[3]


def test_precedence_and_substitution(tmp_path: Path) -> None:
    config = parse_config(CONFIG, str(_project(tmp_path) / "triggers.yaml"), root=tmp_path, environ={})
    reader, other = config.functions["reader"].environment, config.functions["other"].environment
    # settings.env_file < functions.X.env_file < functions.X.environment
    assert reader["SHARED"] == "function" and reader["FROM_YAML"] == "yaml" and reader["LITERAL"] == "$HOME #1"
    assert other["SHARED"] == "settings" and other["FROM_YAML"] == "env-file" and other["QUOTED"] == "a\nb"
    # ${env:} sees the process environment first, then the function's env file, then the settings' one
    assert reader["SUBSTITUTED"] == "function" and other["SUBSTITUTED"] == "settings"
    config = parse_config(CONFIG, str(tmp_path / "triggers.yaml"), root=tmp_path, environ={"SHARED": "shell"})
    assert config.functions["reader"].environment["SUBSTITUTED"] == "shell"
    assert config.functions["reader"].environment["SHARED"] == "function"  # a worker never sees router's own


def test_missing_env_file_is_reported_at_its_key(tmp_path: Path) -> None:
    text = textwrap.dedent("""
        functions:
          f: {handler: h.handler, env_file: nope.env}
    """)
    with pytest.raises(ConfigError, match=r"triggers.yaml:3:\d+: functions.f.env_file: env file not found: .*nope.env"):
        parse_config(text, str(tmp_path / "triggers.yaml"), root=tmp_path, environ={})


@pytest.mark.slow
def test_workers_see_the_env_files(tmp_path: Path) -> None:
    with Router.from_text(CONFIG, _project(tmp_path)) as router:
        keys = ["SHARED", "FROM_YAML", "QUOTED", "LITERAL"]
        assert router.invoke("reader", keys).result == {
            "SHARED": "function", "FROM_YAML": "yaml", "QUOTED": "a\nb", "LITERAL": "$HOME #1"}
        assert router.invoke("other", keys).result == {
            "SHARED": "settings", "FROM_YAML": "env-file", "QUOTED": "a\nb", "LITERAL": None}
