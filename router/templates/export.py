"""A config's bindings as an AWS SAM template (``router export sam``): the scale-out path.

Each function becomes an AWS::Serverless::Function and each trigger the SAM event AWS would
run (property names: the AWS SAM specification, "EventSource" types). What SAM cannot say (a
drop folder, a ``dir`` destination, retry delays) is returned as a list of lines for stderr.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from ..schema import (
    AsyncConfig,
    Config,
    Destination,
    FunctionConfig,
    TriggerConfig,
    aws_queue_name,
    aws_topic_name,
    key_schema,
)


def logical_id(name: str, suffix: str = "") -> str:
    """A CloudFormation logical id (letters and digits only) from a router name."""
    parts = re.split(r"[^A-Za-z0-9]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) + suffix or f"R{suffix}"


def _arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}


class _Export:
    def __init__(self, config: Config, out_dir: Path) -> None:
        self.config, self.out_dir = config, out_dir
        self.resources: dict[str, Any] = {}
        self.skipped: list[str] = []
        self.ids: dict[tuple[str, str], str] = {}  # (kind, router name) -> logical id
        self.functions: dict[str, dict[str, Any]] = {}  # router name -> its function's Properties
        self.urls: dict[str, str] = {}  # router name of a function -> the trigger that gave it its URL

    def add(self, kind: str, name: str, suffix: str, resource: dict[str, Any], *, named: bool = True) -> str:
        """The logical id of the resource of ``kind`` keyed ``name``, declared on first use (its id
        from ``name`` and ``suffix``, or from ``suffix`` alone when not ``named``)."""
        key = (kind, name)
        if key not in self.ids:
            base = lid = logical_id(name, suffix) if named else logical_id(suffix)
            n = 2
            while lid in self.resources:
                lid, n = f"{base}{n}", n + 1
            self.ids[key] = lid
            self.resources[lid] = resource
        return self.ids[key]

    def stores(self) -> None:
        r = self.config.resources
        for name, t in r.tables.items():
            props: dict[str, Any] = {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                                     "AttributeDefinitions": t.attribute_definitions(), "KeySchema": key_schema(t.keys)}
            if t.indexes:
                props["GlobalSecondaryIndexes"] = t.global_indexes()
            if t.stream:
                props["StreamSpecification"] = {"StreamViewType": t.stream}
            if t.seed:
                self.skipped.append(f"resources.tables.{name}.seed: seed data is local (not in the template)")
            self.add("table", name, "Table", {"Type": "AWS::DynamoDB::Table", "Properties": props})
        for name in r.buckets:
            self.bucket(name)
        for name in r.queues:
            self.queue(name)
        for name, tc in r.topics.items():
            props = {"TopicName": aws_topic_name(name, tc.fifo), **({"FifoTopic": True} if tc.fifo else {})}
            self.add("topic", name, "Topic", {"Type": "AWS::SNS::Topic", "Properties": props})
        for name in r.buses:
            self.add("bus", name, "Bus", {"Type": "AWS::Events::EventBus", "Properties": {"Name": name}})

    def bucket(self, name: str) -> str:
        return self.add("bucket", name, "Bucket", {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}})

    def queue(self, name: str) -> str:
        key = next((k for k, q in self.config.resources.queues.items() if name in (k, aws_queue_name(k, q.fifo))), name)
        if ("queue", key) in self.ids:
            return self.ids[("queue", key)]
        q = self.config.resources.queues[key]
        props: dict[str, Any] = {"QueueName": aws_queue_name(key, q.fifo)}
        if q.fifo:
            props["FifoQueue"] = True
        for field, prop in (("visibility_timeout", "VisibilityTimeout"),
                            ("message_retention", "MessageRetentionPeriod"), ("delay", "DelaySeconds")):
            if field in q.model_fields_set:
                props[prop] = getattr(q, field)
        if q.content_based_deduplication:
            props["ContentBasedDeduplication"] = True
        lid = self.add("queue", key, "Queue", {"Type": "AWS::SQS::Queue", "Properties": props})
        if q.redrive is not None:
            props["RedrivePolicy"] = {"deadLetterTargetArn": _arn(self.queue(q.redrive.dead_letter)),
                                      "maxReceiveCount": q.redrive.max_receive_count}  # fmt: skip
        return lid

    def destination(self, d: Destination, where: str) -> dict[str, Any] | None:
        if d.dir is not None:
            self.skipped.append(f"{where}: a dir destination has no AWS equivalent (left out)")
            return None
        if d.function is not None:
            return {"Type": "Lambda", "Destination": _arn(self.ids[("function", d.function)])}
        if d.queue is not None:
            return {"Type": "SQS", "Destination": _arn(self.queue(d.queue))}
        if d.topic is not None:
            key = next((k for k, t in self.config.resources.topics.items()
                        if d.topic in (k, aws_topic_name(k, t.fifo))), d.topic)  # fmt: skip
            return {"Type": "SNS", "Destination": {"Ref": self.ids[("topic", key)]}}
        return {"Type": "EventBridge", "Destination": _arn(self.ids[("bus", str(d.bus))])}

    def function(self, f: FunctionConfig) -> dict[str, Any]:
        code = os.path.relpath(f.code_dir, self.out_dir)
        timeout = math.ceil(f.timeout)  # Lambda's Timeout is whole seconds (CreateFunction: Integer)
        if timeout != f.timeout:
            self.skipped.append(f"functions.{f.name}.timeout: Lambda's timeout is whole seconds ({timeout} written)")
        props: dict[str, Any] = {"CodeUri": code if code != "." else "./", "Handler": f.handler,
                                 "Runtime": f.runtime, "Timeout": timeout, "MemorySize": f.memory}  # fmt: skip
        if f.environment:
            props["Environment"] = {"Variables": dict(f.environment)}
        if "concurrency" in f.model_fields_set:
            props["ReservedConcurrentExecutions"] = f.concurrency
        if "logging" in f.model_fields_set:
            lc = {"LogFormat": f.logging.format, "ApplicationLogLevel": f.logging.application_level,
                  "SystemLogLevel": f.logging.system_level}  # fmt: skip
            props["LoggingConfig"] = {k: v for k, v in lc.items() if v is not None}
        if "async_" in f.model_fields_set:
            props["EventInvokeConfig"] = self.invoke_config(f.name, f.async_)
        return props

    def invoke_config(self, name: str, a: AsyncConfig) -> dict[str, Any]:
        out: dict[str, Any] = {"MaximumRetryAttempts": a.retries, "MaximumEventAgeInSeconds": a.max_event_age}
        if "retry_delays" in a.model_fields_set:
            self.skipped.append(f"functions.{name}.async.retry_delays: Lambda chooses its own retry delays (left out)")
        dests = {}
        for field, key in (("on_success", "OnSuccess"), ("on_failure", "OnFailure")):
            d = getattr(a, field)
            if d is not None and (dest := self.destination(d, f"functions.{name}.async.{field}")) is not None:
                dests[key] = dest
        if dests:
            out["DestinationConfig"] = dests
        return out


def export_sam(config: Config, out_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """(the SAM template, what it leaves out) of ``config``; CodeUri relative to ``out_dir``."""
    from .export_events import event

    x = _Export(config, out_dir.resolve())
    for name in config.functions:  # the functions' ids first: the other resources' ids avoid them
        x.add("function", name, "", {})
    x.stores()
    functions = x.functions
    for name, f in config.functions.items():
        try:
            functions[name] = x.function(f)
        except KeyError as exc:  # a destination the config does not declare (an external AWS)
            x.skipped.append(f"functions.{name}: {_missing(exc)} (its async settings left out)")
            functions[name] = x.function(f.model_copy(update={"async_": AsyncConfig()}))
    for t in config.triggers:
        try:
            found = event(x, t)
        except KeyError as exc:  # a table, queue, topic or bus the config does not declare (an external AWS)
            x.skipped.append(f"trigger {t.name}: {_missing(exc)} (left out)")
            continue
        if found is not None:
            events = functions[t.function].setdefault("Events", {})
            events[_event_id(t, events)] = found
    for name, props in functions.items():
        x.resources[x.ids[("function", name)]] = {"Type": "AWS::Serverless::Function", "Properties": props}
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Transform": "AWS::Serverless-2016-10-31",
                "Description": f"Exported by router from {config.path.name}", "Resources": x.resources}  # fmt: skip
    return template, x.skipped


def _missing(exc: KeyError) -> str:
    what = exc.args[0] if exc.args else "?"
    name = f"{what[0]} {what[1]!r}" if isinstance(what, tuple) else repr(what)
    return f"{name} is not in resources, so not in the template"


def _event_id(t: TriggerConfig, events: dict[str, Any]) -> str:
    base = lid = logical_id(t.name)
    n = 2
    while lid in events:
        lid, n = f"{base}{n}", n + 1
    return lid


def dump(template: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(template, sort_keys=False, default_flow_style=False, width=120))


def as_json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
