"""The triggers.yaml schema (SPEC.md) as strict pydantic models (unknown keys are errors), one
module per section of the file: :mod:`.settings`, :mod:`.functions`, :mod:`.resources`,
:mod:`.triggers` (and :mod:`.base`, what they share); the whole file is :class:`Config`, here.

Loading, positions and cross-references are :mod:`router.config`'s; import the models from
there too (``from router.config import Config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator

from .base import (
    DEFAULT_NODE_RUNTIME,
    NODE_EXTENSIONS,
    NODE_RUNTIMES,
    PYTHON_RUNTIMES,
    RESERVED_ENV,
    RUNTIMES,
    _Model,
    bucket_name_problem,
)
from .functions import AsyncConfig, Destination, FunctionConfig, LoggingConfig
from .resources import (
    QueueConfig,
    Redrive,
    Resources,
    TableConfig,
    TopicConfig,
    aws_queue_name,
    aws_topic_name,
    key_schema,
    queue_name_problem,
)
from .settings import AwsSettings, HttpSettings, JournalSettings, Settings, UiSettings
from .triggers import (
    SOURCE_KINDS,
    TEMP_PATTERNS,
    AuthorizerConfig,
    CorsConfig,
    DynamoDBTrigger,
    EventBridgeTrigger,
    FunctionUrl,
    HttpTrigger,
    InputTransformer,
    JwtAuthorizer,
    S3Trigger,
    ScheduleTrigger,
    SnsTrigger,
    SqsTrigger,
    TriggerConfig,
)

__all__ = [
    "AsyncConfig",
    "AuthorizerConfig",
    "AwsSettings",
    "Config",
    "CorsConfig",
    "DEFAULT_NODE_RUNTIME",
    "Destination",
    "DynamoDBTrigger",
    "EventBridgeTrigger",
    "FunctionConfig",
    "FunctionUrl",
    "HttpSettings",
    "HttpTrigger",
    "InputTransformer",
    "JournalSettings",
    "JwtAuthorizer",
    "LoggingConfig",
    "NODE_EXTENSIONS",
    "NODE_RUNTIMES",
    "PYTHON_RUNTIMES",
    "QueueConfig",
    "RESERVED_ENV",
    "RUNTIMES",
    "Redrive",
    "Resources",
    "S3Trigger",
    "SOURCE_KINDS",
    "ScheduleTrigger",
    "Settings",
    "SnsTrigger",
    "SqsTrigger",
    "TEMP_PATTERNS",
    "TableConfig",
    "TopicConfig",
    "TriggerConfig",
    "UiSettings",
    "aws_queue_name",
    "aws_topic_name",
    "bucket_name_problem",
    "key_schema",
    "queue_name_problem",
]


class Config(_Model):
    version: Literal[1] = 1
    settings: Settings = Settings()
    functions: dict[str, FunctionConfig] = {}
    resources: Resources = Resources()
    triggers: tuple[TriggerConfig, ...] = ()

    # where it was loaded from; not user keys
    path: Path = Path("triggers.yaml")
    root: Path = Path(".")
    notes: tuple[str, ...] = ()  # what a template holds that router does not emulate ("not emulated: ...")
    template_options: dict[str, Any] = {}  # a template's parameters and stack name as given (a reload reuses them)

    @field_validator("functions", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ({**f, "name": k} if isinstance(f, dict) else f) for k, f in v.items()}
        return v

    @property
    def state_dir(self) -> Path:
        return (self.root / self.settings.state_dir).resolve()

    def function(self, name: str) -> FunctionConfig:
        return self.functions[name]

    def trigger(self, name_or_function: str) -> TriggerConfig:
        """A trigger by its name, or the only trigger of a function."""
        for t in self.triggers:
            if t.name == name_or_function:
                return t
        matches = [t for t in self.triggers if t.function == name_or_function]
        if len(matches) == 1:
            return matches[0]
        raise KeyError(name_or_function)
