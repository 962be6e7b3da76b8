"""``settings:`` of triggers.yaml: HTTP, the embedded AWS, the dashboard, the journal, the region
and account.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from .base import _REGION, _Model


class HttpSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=0, le=65535)


class AwsSettings(_Model):
    # "embedded": a moto server router starts; a URL: an external moto/LocalStack; "aws": real AWS
    endpoint: str = "embedded"
    port: int = Field(4566, ge=0, le=65535)
    cors: tuple[str, ...] = ()  # web origins allowed to call the embedded AWS (docs/security.md)
    admin: bool = False  # serve moto's /moto-api/ endpoints (reset, data.json, dashboard)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        if v in ("embedded", "aws") or re.match(r"^https?://[^\s/]+", v):
            return v.rstrip("/")
        raise ValueError("expected 'embedded', 'aws' or an http(s):// URL")

    @field_validator("cors")
    @classmethod
    def _cors(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for origin in v:
            if origin == "*":
                raise ValueError("'*' would let any web page drive the embedded AWS: list each origin")
            if not re.fullmatch(r"https?://[^\s/:]+(:\d{1,5})?", origin):
                raise ValueError(f"{origin!r} is not a web origin: expected scheme://host[:port], no path")
        return tuple(o.lower() for o in v)


class UiSettings(_Model):
    """The dashboard ``router run`` serves (docs/dashboard.md): its own port, loopback unless told."""

    host: str = "127.0.0.1"
    port: int = Field(4000, ge=0, le=65535)
    enabled: bool = True


class JournalSettings(_Model):
    max_rows: int = Field(100_000, ge=100)
    max_days: float = Field(7, gt=0)
    max_mb: float = Field(512, ge=1)  # the state file's size: the oldest journal rows go beyond it


class Settings(_Model):
    region: str = "us-east-1"
    account: str = "123456789012"
    state_dir: str = ".router"
    http: HttpSettings = HttpSettings()
    aws: AwsSettings = AwsSettings()
    python: str | None = None
    node: str = "node"
    journal: JournalSettings = JournalSettings()
    ui: UiSettings = UiSettings()
    env_file: str | None = None  # a dotenv file (relative to the config) every function's environment starts from

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if not _REGION.match(v):
            raise ValueError("expected an AWS region name such as us-east-1")
        return v

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, v: Any) -> Any:
        if isinstance(v, int):
            v = f"{v:012d}"
        if not isinstance(v, str) or not re.fullmatch(r"\d{12}", v):
            raise ValueError("expected a 12-digit AWS account id (quote it in YAML)")
        return v
