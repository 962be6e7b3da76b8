"""The config's resources in the AWS router talks to (:class:`router.aws.Aws` inherits this):
tables with their streams and seed data, buckets, queues (their messages kept in the state
folder), topics, buses and parameters, made at start and made again by ``Router.reset``.

Embedded, they are made on moto's backends directly (``aws_embedded``, ~0.4 ms); otherwise, and
when that fails, through the AWS API. Moved out of ``aws.py``, which keeps the endpoint itself
(server, guard, clients, workers' environment).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StartupError

if TYPE_CHECKING:
    from .config import Config
    from .schema import Settings

log = logging.getLogger("router.aws")  # (aws.py's logger, as before the move: filters on it still apply)


class ConfigResources:
    """Creating and emptying the config's resources; what it needs of :class:`router.aws.Aws`
    is declared here."""

    config: Config
    settings: Settings
    mode: str  # embedded | url | aws
    endpoint_url: str | None

    def client(self, service: str) -> Any:
        raise NotImplementedError

    def resource(self, service: str) -> Any:
        raise NotImplementedError

    def bucket_names(self) -> list[str]:
        raise NotImplementedError

    def _empty_embedded(self) -> bool:
        """The config's tables deleted and buckets emptied in the moto backends (~0.4 ms; through
        the API ~16 ms); False when they cannot be (a versioned bucket, another moto)."""
        from . import aws_embedded

        try:
            aws_embedded.empty(self.config, self.bucket_names())
            return True
        except Exception as exc:
            log.debug("emptying the config's resources in the moto backends failed (%r); using the API", exc)
            return False

    def _delete_tables(self) -> None:
        ddb = self.client("dynamodb")
        existing = set(ddb.list_tables().get("TableNames", [])) if self.config.resources.tables else set()
        for name in self.config.resources.tables:
            if name in existing:
                ddb.delete_table(TableName=name)

    def _empty_buckets(self) -> None:
        s3 = self.client("s3")
        have = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in self.bucket_names():
            if bucket not in have:
                continue
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                          for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]  # fmt: skip
                if doomed:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})

    def create_resources(self) -> None:
        """Create the tables (with streams) and buckets of the config, and load seed data."""
        if self.mode == "aws":
            return
        if self.config.resources.topics or self.config.resources.buses:
            from . import aws_pubsub

            aws_pubsub.create(self.config, self.client, fresh=self.mode == "embedded")  # topics and buses
        if self.config.resources.parameters or self.config.resources.secrets:
            from . import aws_params

            aws_params.create(self.config, self.client, overwrite=self.mode == "embedded")
        if self.mode == "embedded":
            from . import aws_embedded

            try:
                aws_embedded.create(self.config, self.bucket_names())
                self._create_queues()
                return
            except StartupError:
                raise
            except Exception as exc:  # another moto's backend API, or a seed item moto refuses
                log.debug("creating resources in the moto backends failed (%r); using the API", exc)
        ddb = self.client("dynamodb")
        existing = set(ddb.list_tables().get("TableNames", [])) if self.config.resources.tables else set()
        for name, table in self.config.resources.tables.items():
            if name in existing and self.mode == "url":
                log.info("table %s exists at %s; left as it is", name, self.endpoint_url)
                continue
            if name in existing:  # embedded: a table left by another router in this process
                ddb.delete_table(TableName=name)
            self._create_table(ddb, name, table)
        s3 = self.client("s3")
        have = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in self.bucket_names():
            if bucket not in have:
                if self.settings.region == "us-east-1":
                    s3.create_bucket(Bucket=bucket)
                else:
                    location = {"LocationConstraint": self.settings.region}
                    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=location)
        self._create_queues()

    def _create_queues(self) -> None:
        """The config's queues (dead-letter queues first: a redrive policy names one's ARN). An
        existing one is emptied in the embedded AWS (left by another router of this process) and
        left as it is at an external endpoint."""
        queues = self.config.resources.queues
        if not queues:
            return
        from .config import aws_queue_name
        from .events.sqs import queue_arn

        sqs = self.client("sqs")
        existing = {url.rsplit("/", 1)[-1]: url for url in sqs.list_queues().get("QueueUrls", [])}
        names = {key: aws_queue_name(key, q.fifo) for key, q in queues.items()}
        dead = {q.redrive.dead_letter for q in queues.values() if q.redrive is not None}
        for key in sorted(queues, key=lambda k: (k not in dead and names[k] not in dead, k)):
            q, name = queues[key], names[key]
            if name in existing:
                if self.mode == "embedded":
                    sqs.purge_queue(QueueUrl=existing[name])
                continue
            # CreateQueue's attributes (SQS API reference, "CreateQueue"); all values are strings
            attrs = {"VisibilityTimeout": str(q.visibility_timeout), "MessageRetentionPeriod": str(q.message_retention),
                     "DelaySeconds": str(q.delay)}  # fmt: skip
            if q.fifo:
                attrs["FifoQueue"] = "true"
                attrs["ContentBasedDeduplication"] = "true" if q.content_based_deduplication else "false"
            if q.redrive is not None:
                target = names.get(q.redrive.dead_letter, q.redrive.dead_letter)
                arn = queue_arn(self.settings.region, self.settings.account, target)
                attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn,
                                                     "maxReceiveCount": q.redrive.max_receive_count})  # fmt: skip
            sqs.create_queue(QueueName=name, Attributes=attrs)
        if self.mode == "embedded":  # kept in the state folder: a kill -9 loses no message
            self._keep_queues(names)

    def _keep_queues(self, names: dict[str, str]) -> None:
        from moto.sqs.models import sqs_backends

        from . import aws_sqs
        from .events.sqs import queue_arn

        s = self.settings
        arns = {queue_arn(s.region, s.account, name): name for name in names.values()}
        path = self.config.state_dir / "sqs-messages.jsonl"
        aws_sqs.release(path)
        first = not getattr(self, "_queues_kept", False)  # a start restores; a reset starts empty
        restored = aws_sqs.keep(sqs_backends[s.account][s.region], arns, path, restore=first)
        self._queues_kept = True
        if restored:
            log.info("%d SQS message(s) left by the last run are back in their queues", restored)

    def _create_table(self, ddb: Any, name: str, table: Any) -> None:
        keys = list(table.keys.items())
        schema = [{"AttributeName": keys[0][0], "KeyType": "HASH"}]
        if len(keys) == 2:
            schema.append({"AttributeName": keys[1][0], "KeyType": "RANGE"})
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": schema,
            "AttributeDefinitions": table.attribute_definitions(),
            "BillingMode": "PAY_PER_REQUEST",
        }
        if table.indexes:
            kwargs["GlobalSecondaryIndexes"] = table.global_indexes()
        if table.stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
        ddb.create_table(**kwargs)
        if table.seed:
            self._seed(name, self.config.root / table.seed)

    def _seed(self, table: str, path: Path) -> None:
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StartupError(f"seed file {path} for table {table!r}: {exc}") from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise StartupError(f"seed file {path} for table {table!r}: expected a JSON list of items (objects)")
        resource_table = self.resource("dynamodb").Table(table)
        from decimal import Decimal

        with resource_table.batch_writer() as batch:
            for item in items:
                batch.put_item(Item=json.loads(json.dumps(item), parse_float=Decimal))
        log.info("seeded %s with %d items from %s", table, len(items), path)
