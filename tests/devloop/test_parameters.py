"""resources.parameters and resources.secrets: made in the embedded SSM and Secrets Manager, read
by handlers with boto3 unchanged, substituted in triggers.yaml as ${ssm:...} and ${secret:...}."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from router.api import Router
from router.config import parse_config
from router.errors import ConfigError

CONFIG = """
resources:
  parameters:
    /app/db/host: db.internal
    /app/db/port: 5432
    /app/hosts: [a.example, b.example]
    /app/db/password: {type: SecureString, value: s3cr3t, description: the password}
  secrets:
    app/api-key: k-123
    app/db: {username: admin, password: hunter2}
functions:
  reader:
    handler: reader.handler
    environment:
      DB_HOST: ${ssm:/app/db/host}
      HOSTS: ${ssm:/app/hosts}
      DB_USER: ${secret:app/db:username}
      API_KEY: "key=${secret:app/api-key}"
"""

HANDLER = """
import json, os
import boto3

def handler(event, context):
    ssm, sm = boto3.client("ssm"), boto3.client("secretsmanager")
    by_path = ssm.get_parameters_by_path(Path="/app/db", WithDecryption=True)["Parameters"]
    return {
        "env": {k: os.environ[k] for k in ("DB_HOST", "HOSTS", "DB_USER", "API_KEY")},
        "by_path": sorted((p["Name"], p["Type"], p["Value"]) for p in by_path),
        "hosts": {k: v for k, v in ssm.get_parameter(Name="/app/hosts")["Parameter"].items() if k in ("Type", "Value")},
        "secret": json.loads(sm.get_secret_value(SecretId="app/db")["SecretString"]),
        "api_key": sm.get_secret_value(SecretId="app/api-key")["SecretString"],
    }
"""


def test_shapes_and_substitution(tmp_path: Path) -> None:
    config = parse_config(CONFIG, str(tmp_path / "triggers.yaml"), root=tmp_path)
    p = config.resources.parameters
    assert (p["/app/db/port"].type, p["/app/db/port"].value) == ("String", "5432")
    assert (p["/app/hosts"].type, p["/app/hosts"].value) == ("StringList", "a.example,b.example")
    assert (p["/app/db/password"].type, p["/app/db/password"].description) == ("SecureString", "the password")
    assert json.loads(config.resources.secrets["app/db"]) == {"username": "admin", "password": "hunter2"}
    assert config.functions["reader"].environment == {
        "DB_HOST": "db.internal", "HOSTS": "a.example,b.example", "DB_USER": "admin", "API_KEY": "key=k-123"}


def test_bad_names_values_and_references(tmp_path: Path) -> None:
    text = textwrap.dedent("""
        resources:
          parameters:
            app/no-slash: x
            /aws/mine: x
            /list: {type: String, value: [a, b]}
            /commas: [a, "b,c"]
          secrets:
            "bad name!": x
        functions:
          f:
            handler: h.handler
            environment:
              A: ${ssm:/missing}
              B: ${secret:nope}
    """)
    with pytest.raises(ConfigError) as info:
        parse_config(text, str(tmp_path / "triggers.yaml"), root=tmp_path)
    found = str(info.value)
    assert "triggers.yaml:14:10: functions.f.environment.A: ${ssm:/missing}: no parameter '/missing'" in found
    assert "triggers.yaml:15:10: functions.f.environment.B: ${secret:nope}: no secret 'nope'" in found
    names = "resources:\n  parameters: {app/no-slash: x, /aws/mine: x, /a//b: x}\n  secrets: {'bad name!': x}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(names, str(tmp_path / "triggers.yaml"), root=tmp_path)
    found = str(info.value)
    for expected in ("'app/no-slash': a name with a hierarchy starts with '/'",
                     "'/aws/mine': a parameter name may not begin with 'aws' or 'ssm'",
                     "'/a//b': a parameter hierarchy has at most 15 levels, none empty",
                     "'bad name!': a secret name has"):
        assert expected in found
    values = "resources:\n  parameters: {/list: {type: String, value: [a, b]}, /commas: [a, 'b,c'], /empty: ''}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(values, str(tmp_path / "triggers.yaml"), root=tmp_path)
    found = str(info.value)
    for expected in ("a list is the value of a StringList parameter", "items are strings without commas",
                     "a parameter's value is not empty"):
        assert expected in found


@pytest.mark.slow
def test_handlers_read_them_with_boto3_and_reset_restores_them(tmp_path: Path) -> None:
    (tmp_path / "reader.py").write_text(HANDLER)
    with Router.from_text(CONFIG, tmp_path) as router:
        out = router.invoke("reader").result
        assert out is not None
        assert out["env"] == {"DB_HOST": "db.internal", "HOSTS": "a.example,b.example", "DB_USER": "admin",
                              "API_KEY": "key=k-123"}  # fmt: skip
        assert out["by_path"] == [["/app/db/host", "String", "db.internal"],
                                  ["/app/db/password", "SecureString", "s3cr3t"],
                                  ["/app/db/port", "String", "5432"]]  # fmt: skip
        assert (out["hosts"]["Type"], out["hosts"]["Value"]) == ("StringList", "a.example,b.example")
        assert out["secret"] == {"username": "admin", "password": "hunter2"} and out["api_key"] == "k-123"
        ssm = router.aws.client("ssm")
        ssm.put_parameter(Name="/app/db/host", Value="changed", Overwrite=True)
        router.aws.client("secretsmanager").put_secret_value(SecretId="app/api-key", SecretString="changed")
        router.reset()
        assert router.invoke("reader").result["by_path"][0] == ["/app/db/host", "String", "db.internal"]
        assert router.invoke("reader").result["api_key"] == "k-123"
