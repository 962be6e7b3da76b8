"""The config's resources made straight in the in-process moto backends (no HTTP round trips).

Start-up and ``Router.reset`` create the tables (with streams and seed data) and buckets of
the config, and a reset beside another router of the process empties them first
(:func:`empty`). Through boto3 and the embedded server that is a dozen requests (~25 ms), here
~1 ms. The calls are those moto's own request handlers make for CreateTable, PutItem,
CreateBucket, DeleteTable and DeleteObject; when this moto's backends take other arguments,
they raise and :class:`router.aws.Aws` uses the clients instead (same result, slower).
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from .config import Config
from .errors import StartupError
from .events.dynamodb import to_attribute_value

log = logging.getLogger(__name__)


def create(config: Config, buckets: list[str]) -> None:
    """Create (or re-create, when one is left by another router of this process) every table
    of ``config`` with its seed data, and each of ``buckets`` that does not exist."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    s = config.settings
    ddb = dynamodb_backends[s.account][s.region]
    for name, table in config.resources.tables.items():
        items = load_seed(name, config.root / table.seed) if table.seed else []
        if name in ddb.tables:
            ddb.delete_table(name)
        ddb.create_table(name, **_table_args(table))
        with _mappings_import_deferred():
            for item in items:  # CreateTable's stream sees them, as it sees a batch write's
                ddb.put_item(name, to_attribute_value(item)["M"])
    s3 = s3_backends[s.account]["aws"]
    for bucket in buckets:
        if bucket not in s3.buckets:
            s3.create_bucket(bucket, s.region)


def empty(config: Config, buckets: list[str]) -> None:
    """Delete the config's tables and empty ``buckets`` (``Router.reset`` beside another router
    of this process: only the config's own resources). A versioned bucket raises: the API
    path deletes its versions."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    s = config.settings
    ddb = dynamodb_backends[s.account][s.region]
    for name in config.resources.tables:
        if name in ddb.tables:
            ddb.delete_table(name)
    s3 = s3_backends[s.account]["aws"]
    for name in buckets:
        bucket = s3.buckets.get(name)
        if bucket is None:
            continue
        if bucket.is_versioned:
            raise ValueError(f"bucket {name} is versioned")
        for key in list(bucket.keys.keys()):
            s3.delete_object(name, key)


LAMBDA_UTILS = "moto.awslambda.utils"


@contextmanager
def _mappings_import_deferred() -> Iterator[None]:
    """moto hands each stream record to the table's Lambda event source mappings, and imports
    moto.awslambda to do so even when there are none (with moto.iam and cryptography: ~45 ms,
    a tenth of ``router run``'s start, paid by the first seed item). Router's tables never have
    any: router answers the Lambda API itself and runs the mappings. While the seed items are
    written, a stand-in answers that import; anything taken from it imports the real module
    (so a mapping, were there one, would work). Afterwards the name is moto's again."""
    if LAMBDA_UTILS in sys.modules:
        yield
        return
    stand_in = types.ModuleType(LAMBDA_UTILS, "moto.awslambda.utils, imported on first use")

    def real() -> Any:
        if sys.modules.get(LAMBDA_UTILS) is stand_in:
            del sys.modules[LAMBDA_UTILS]
        return importlib.import_module(LAMBDA_UTILS)

    def get_backend(*args: Any, **kwargs: Any) -> Any:  # the one name moto's stream code takes
        return real().get_backend(*args, **kwargs)

    def other(attr: str) -> Any:  # (PEP 562) not the import system's look at __path__ and such
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(real(), attr)

    stand_in.get_backend = get_backend  # type: ignore[attr-defined]
    stand_in.__getattr__ = other  # type: ignore[method-assign]
    sys.modules[LAMBDA_UTILS] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(LAMBDA_UTILS) is stand_in:
            del sys.modules[LAMBDA_UTILS]


def _table_args(table: Any) -> dict[str, Any]:
    keys = list(table.keys.items())
    schema = [{"AttributeName": keys[0][0], "KeyType": "HASH"}]
    if len(keys) == 2:
        schema.append({"AttributeName": keys[1][0], "KeyType": "RANGE"})
    streams = {"StreamEnabled": True, "StreamViewType": table.stream} if table.stream else None
    return {
        "schema": schema, "throughput": None, "attr": table.attribute_definitions(),
        "global_indexes": table.global_indexes(), "indexes": [], "streams": streams, "billing_mode": "PAY_PER_REQUEST",
        "sse_specification": None, "tags": [], "deletion_protection_enabled": False, "warm_throughput": None,
    }  # fmt: skip


def load_seed(table: str, path: Path) -> list[dict[str, Any]]:
    """The items of a seed file (a JSON list of objects; numbers as Decimal, as boto3 sends them)."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, ValueError) as exc:
        raise StartupError(f"seed file {path} for table {table!r}: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise StartupError(f"seed file {path} for table {table!r}: expected a JSON list of items (objects)")
    return items
