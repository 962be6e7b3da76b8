"""``resources:`` of triggers.yaml: the tables, buckets, queues, topics, buses and parameters the
embedded AWS is seeded with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..params import ParameterConfig, check_parameters, check_secrets
from .base import _Model, bucket_name_problem


class TableConfig(_Model):
    keys: dict[str, Literal["S", "N", "B"]]
    stream: (
        Literal["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"] | None
    ) = "NEW_AND_OLD_IMAGES"
    seed: str | None = None
    # global secondary indexes: name -> keys (partition, then sort), every attribute projected
    indexes: dict[str, dict[str, Literal["S", "N", "B"]]] = {}

    @field_validator("keys")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        if not 1 <= len(v) <= 2:
            raise ValueError("expected one key (partition) or two (partition, then sort)")
        return v

    @model_validator(mode="after")
    def _indexes(self) -> TableConfig:
        # CreateTable: up to 20 global secondary indexes; an attribute has one type in the table
        if len(self.indexes) > 20:
            raise ValueError("a table has at most 20 global secondary indexes")
        types = dict(self.keys)
        for name, keys in self.indexes.items():
            if not 1 <= len(keys) <= 2:
                raise ValueError(f"index {name!r}: expected one key (partition) or two (partition, then sort)")
            for key, kind in keys.items():
                if types.setdefault(key, kind) != kind:
                    raise ValueError(f"index {name!r}: {key!r} is {types[key]} elsewhere in the table, not {kind}")
        return self

    def attribute_definitions(self) -> list[dict[str, str]]:
        """CreateTable's AttributeDefinitions: the table's and its indexes' key attributes, once each."""
        types: dict[str, str] = dict(self.keys)
        for keys in self.indexes.values():
            types.update(keys)
        return [{"AttributeName": k, "AttributeType": t} for k, t in types.items()]

    def global_indexes(self) -> list[dict[str, Any]]:
        """CreateTable's GlobalSecondaryIndexes (projection ALL)."""
        return [{"IndexName": name, "KeySchema": key_schema(keys), "Projection": {"ProjectionType": "ALL"}}
                for name, keys in self.indexes.items()]  # fmt: skip

    @field_validator("stream", mode="before")
    @classmethod
    def _stream(cls, v: Any) -> Any:
        return None if v is False else v


def key_schema(keys: Mapping[str, str]) -> list[dict[str, str]]:
    """A KeySchema: the first key HASH, the second RANGE."""
    return [{"AttributeName": k, "KeyType": kt} for k, kt in zip(keys, ("HASH", "RANGE"), strict=False)]


class Redrive(_Model):
    """A queue's RedrivePolicy: after ``max_receive_count`` receives a message goes to
    ``dead_letter`` (SQS developer guide, "Using dead-letter queues": maxReceiveCount 1..1000)."""

    dead_letter: str
    max_receive_count: int = Field(3, ge=1, le=1000)


class QueueConfig(_Model):
    """An SQS queue made at start (SQS API reference, "SetQueueAttributes": the ranges)."""

    fifo: bool = False
    visibility_timeout: int = Field(30, ge=0, le=43200)  # VisibilityTimeout
    message_retention: int = Field(345600, ge=60, le=1209600)  # MessageRetentionPeriod
    delay: int = Field(0, ge=0, le=900)  # DelaySeconds
    redrive: Redrive | None = None
    content_based_deduplication: bool = False  # FIFO only

    @model_validator(mode="after")
    def _fifo_only(self) -> QueueConfig:
        if self.content_based_deduplication and not self.fifo:
            raise ValueError("content_based_deduplication is for FIFO queues only (set fifo: true)")
        return self


_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def aws_queue_name(name: str, fifo: bool) -> str:
    """The queue's name in AWS: a FIFO queue's name ends in ``.fifo`` (SQS requires it)."""
    return name if not fifo or name.endswith(".fifo") else f"{name}.fifo"


def queue_name_problem(name: str) -> str | None:
    """Why ``name`` (without ``.fifo``) is not a valid SQS queue name, or None."""
    if not _QUEUE_NAME.match(name.removesuffix(".fifo")) or len(name) > 80:
        return "a queue name has 1 to 80 characters: letters, digits, '-' and '_' (and '.fifo' last for FIFO)"
    return None


class TopicConfig(_Model):
    """An SNS topic made at start (a FIFO topic's AWS name ends in ``.fifo``)."""

    fifo: bool = False


# CreateTopic: "1 to 256 characters: letters, numbers, underscores and hyphens" (.fifo last for FIFO);
# CreateEventBus: Name [/\.\-_A-Za-z0-9]+, 1 to 256 characters
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BUS_NAME = re.compile(r"^[/.\-_A-Za-z0-9]{1,256}$")


def aws_topic_name(name: str, fifo: bool) -> str:
    return f"{name.removesuffix('.fifo')}.fifo" if fifo else name


class Resources(_Model):
    tables: dict[str, TableConfig] = {}
    buckets: list[str] = []
    queues: dict[str, QueueConfig] = {}
    topics: dict[str, TopicConfig] = {}
    buses: list[str] = []  # the "default" bus always exists
    parameters: dict[str, ParameterConfig] = {}  # Parameter Store (router/params.py)
    secrets: dict[str, str] = {}  # Secrets Manager: name -> SecretString (a mapping or list as JSON)

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, v: Any) -> Any:
        return check_parameters(v)

    @field_validator("secrets", mode="before")
    @classmethod
    def _secrets(cls, v: Any) -> Any:
        return check_secrets(v)

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: dict[str, TopicConfig]) -> dict[str, TopicConfig]:
        for name, t in v.items():
            if not _TOPIC_NAME.match(name.removesuffix(".fifo")):
                raise ValueError(f"{name!r}: a topic name has 1 to 256 letters, digits, '_' or '-'")
            if name.endswith(".fifo") and not t.fifo:
                raise ValueError(f"{name!r}: a name ending in .fifo is a FIFO topic (set fifo: true)")
        return v

    @field_validator("buses")
    @classmethod
    def _buses(cls, v: list[str]) -> list[str]:
        for name in v:
            if not _BUS_NAME.match(name):
                raise ValueError(f"{name!r}: a bus name has 1 to 256 letters, digits, '/', '.', '-' or '_'")
        return v

    @field_validator("queues")
    @classmethod
    def _queues(cls, v: dict[str, QueueConfig]) -> dict[str, QueueConfig]:
        for name, q in v.items():
            if problem := queue_name_problem(name):
                raise ValueError(f"{name!r}: {problem}")
            if name.endswith(".fifo") and not q.fifo:
                raise ValueError(f"{name!r}: a name ending in .fifo is a FIFO queue (set fifo: true)")
        for name, q in v.items():
            if q.redrive is not None:
                dlq = q.redrive.dead_letter
                if dlq == name:
                    raise ValueError(f"{name!r}: a queue cannot be its own dead-letter queue")
                # SQS: "The dead-letter queue of a FIFO queue must also be a FIFO queue" (and standard likewise)
                if dlq in v and v[dlq].fifo != q.fifo:
                    raise ValueError(f"{name!r}: its dead-letter queue {dlq!r} must be "
                                     f"{'a FIFO' if q.fifo else 'a standard'} queue too")  # fmt: skip
        return v

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, v: list[str]) -> list[str]:
        for name in v:
            if problem := bucket_name_problem(name):
                raise ValueError(f"{name!r}: {problem}")
        return v
