"""The schema's building blocks: the strict base models, the runtimes, naming rules shared by
several sections (bucket names, regions, reserved environment variables).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

PYTHON_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
NODE_RUNTIMES = ("nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x")
RUNTIMES = PYTHON_RUNTIMES + NODE_RUNTIMES
NODE_EXTENSIONS = (".js", ".mjs", ".cjs", ".ts", ".mts")  # .ts/.mts: router/runtimes/typescript.py
DEFAULT_NODE_RUNTIME = "nodejs22.x"  # callback handlers work up to 22.x (24.x removed them)

# S3 bucket naming rules (docs: "General purpose bucket naming rules").
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None when it is."""
    if not 3 <= len(name) <= 63:
        return "a bucket name has 3 to 63 characters"
    if not _BUCKET.match(name):
        return "a bucket name uses only a-z, 0-9, '.' and '-', and starts and ends with a letter or digit"
    if ".." in name or _IPV4.match(name):
        return "a bucket name has no '..' and is not an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(
        ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
    ):
        return "a bucket name may not use S3's reserved prefixes or suffixes"
    return None


RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Source(_Model):
    """A source key's settings; a plain string is shorthand for its main key
    (``s3: drop/uploads``, ``schedule: rate(5 minutes)``, ``http: GET /x``, ``dynamodb: orders``)."""

    SHORTHAND: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {cls.SHORTHAND: v} if isinstance(v, str) else v
