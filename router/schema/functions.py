"""``functions:`` of triggers.yaml: a function's handler, runtime, limits, environment, logging
and async invocation settings (retries, destinations).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import RESERVED_ENV, RUNTIMES, _Model


class Destination(_Model):
    """Where an async invocation record goes: a folder (one JSON file each), a function or an
    SQS queue (the record as the message body, as AWS's SQS destination sends it)."""

    dir: str | None = None
    function: str | None = None
    queue: str | None = None
    topic: str | None = None  # an SNS topic of resources.topics (the record as the message)
    bus: str | None = None  # an EventBridge bus ("Lambda Function Invocation Result - ..." events)

    @model_validator(mode="after")
    def _one(self) -> Destination:
        if sum(v is not None for v in (self.dir, self.function, self.queue, self.topic, self.bus)) != 1:
            raise ValueError("a destination has exactly one of 'dir', 'function', 'queue', 'topic' or 'bus'")
        return self


class AsyncConfig(_Model):
    retries: int = Field(2, ge=0, le=2)  # MaximumRetryAttempts
    retry_delays: tuple[float, ...] = (60.0, 120.0)  # AWS: about 1 min, then about 2 min
    max_event_age: int = Field(21600, ge=60, le=21600)  # MaximumEventAgeInSeconds
    on_failure: Destination | None = None
    on_success: Destination | None = None

    @field_validator("retry_delays")
    @classmethod
    def _delays(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(d < 0 for d in v):
            raise ValueError("expected a non-empty list of delays in seconds, each >= 0")
        return v


class LoggingConfig(_Model):
    """Lambda's LoggingConfig (API_LoggingConfig: LogFormat JSON|Text, ApplicationLogLevel
    TRACE..FATAL, SystemLogLevel DEBUG|INFO|WARN); the levels need the JSON format."""

    format: Literal["JSON", "Text"] = "Text"
    application_level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] | None = None
    system_level: Literal["DEBUG", "INFO", "WARN"] | None = None

    @model_validator(mode="after")
    def _levels_need_json(self) -> LoggingConfig:
        if self.format != "JSON" and (self.application_level or self.system_level):
            raise ValueError("application_level and system_level need format: JSON (as in Lambda)")
        return self


class FunctionConfig(_Model):
    name: str = ""  # filled from the mapping key
    handler: str
    code: str | None = None
    runtime: Literal[RUNTIMES] | None = None  # type: ignore[valid-type]
    timeout: float = Field(3, gt=0, le=900)
    memory: int = Field(128, ge=128, le=10240)
    environment: dict[str, str] = {}
    env_file: str | None = None  # a dotenv file (relative to the config): under environment, over settings.env_file
    layers: tuple[str, ...] = ()  # folders laid out as a layer's /opt (relative to the config; absolute once loaded)
    debug: bool | Literal["wait"] = False  # a debugger may attach (docs/debugging.md); "wait": init waits for it
    concurrency: int = Field(4, ge=1, le=1000)
    async_: AsyncConfig = Field(AsyncConfig(), alias="async")
    logging: LoggingConfig = LoggingConfig()

    # resolved by load_config (absolute paths); not user keys
    code_dir: Path = Path(".")
    handler_file: Path = Path(".")

    @field_validator("environment", mode="before")
    @classmethod
    def _env(cls, v: Any) -> Any:
        if isinstance(v, dict):
            out: dict[str, Any] = {}
            for key, value in v.items():
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif isinstance(value, int | float):
                    value = str(value)
                out[key] = value
            return out
        return v

    @field_validator("environment")
    @classmethod
    def _reserved(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if key in RESERVED_ENV:
                # Lambda refuses these (docs: "Defined runtime environment variables", reserved keys)
                raise ValueError(f"{key} is a reserved Lambda environment variable; the runtime sets it")
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
                raise ValueError(f"{key!r} is not a valid environment variable name (letters, digits, _)")
        return v

    # A malformed handler string is not refused here: Lambda accepts it and fails each
    # invocation with Runtime.MalformedHandlerName (router.check reports it early).

    @property
    def is_node(self) -> bool:
        return str(self.runtime).startswith("nodejs")

    @property
    def export(self) -> str:
        """The function's name inside its module (dotted for nested Node exports)."""
        base = self.handler.rsplit("/", 1)[-1]
        if self.is_node:
            return base.partition(".")[2]  # Node: first dot after the last slash ("" without one)
        return base.rpartition(".")[2] if "." in base else ""  # Python: last dot
