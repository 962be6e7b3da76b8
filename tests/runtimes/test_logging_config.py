"""A function's ``logging`` (Lambda's LoggingConfig) and the environment its workers get."""

from __future__ import annotations

import pytest

from router.config import ConfigError, parse_config
from router.runtimes.base import worker_environment

from .conftest import FIXTURES


def env_of(logging: str) -> dict[str, str]:
    text = f"functions:\n  f: {{handler: pyhandlers/basic.echo, logging: {logging}}}\n"
    config = parse_config(text, "triggers.yaml", root=FIXTURES)
    return worker_environment(config, config.functions["f"], {}, "stream")


def test_json_format_sets_the_runtime_variables() -> None:
    assert {k: v for k, v in env_of("{format: JSON}").items() if k.startswith("AWS_LAMBDA_LOG_")} == {
        "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/f", "AWS_LAMBDA_LOG_STREAM_NAME": "stream"}  # fmt: skip
    assert env_of("{format: JSON, application_level: TRACE}")["AWS_LAMBDA_LOG_LEVEL"] == "TRACE"
    assert "AWS_LAMBDA_LOG_FORMAT" not in env_of("{format: Text}")


@pytest.mark.parametrize(
    ("logging", "message"),
    [("{application_level: DEBUG}", "need format: JSON"),
     ("{format: Text, system_level: WARN}", "need format: JSON"),
     ("{format: json}", "format"),
     ("{format: JSON, application_level: VERBOSE}", "application_level")],
)  # fmt: skip
def test_bad_logging_config_is_refused(logging: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        env_of(logging)
