"""The Lambda control plane of the embedded AWS, answered from router's config, never by moto
(whose Lambda backend would try ``docker run``).

- ListFunctions, GetFunction, GetFunctionConfiguration: the functions of triggers.yaml in
  Lambda's ``FunctionConfiguration`` shape (Lambda API reference, "FunctionConfiguration").
- GetFunctionEventInvokeConfig: a function's ``async:`` keys, when it sets them.
- ListEventSourceMappings, GetEventSourceMapping: the ``dynamodb:`` triggers.
- Everything else under the Lambda API (CreateFunction, UpdateFunctionCode/Configuration,
  DeleteFunction, PublishVersion, InvokeAsync, aliases, layers, ...): 400, naming the config file.

Invoke itself is router's dispatch (``dispatch/lambda_api.py``), hooked in by ``aws.py``.
Standard library only; reads the config it is given on each request.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from .aws_guard import Answer, error
from .schema import Config, Destination, FunctionConfig

# the Lambda REST API: /<API version>/<collection>/... (botocore's lambda service model)
LAMBDA_PATH = re.compile(
    r"^/\d{4}-\d{2}-\d{2}/(?:functions|event-source-mappings|layers|tags|account-settings|code-signing-configs)(?:/|$)"
)
_FUNCTION = re.compile(r"^/2015-03-31/functions/(?P<ref>[^/]+)(?P<rest>/configuration)?/?$")
_EVENT_INVOKE = re.compile(r"^/2019-09-25/functions/(?P<ref>[^/]+)/event-invoke-config/?$")
_MAPPING = re.compile(r"^/2015-03-31/event-source-mappings/(?P<uuid>[^/]+)/?$")
# FunctionName: NAME, NAME:QUALIFIER, ACCOUNT:function:NAME or an ARN (Lambda API, GetFunction)
_REF = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>[a-zA-Z0-9$_-]+))?$"
)
_MAPPING_NAMESPACE = uuid.UUID("6f1c3a52-7d1e-4f0e-9a55-2b1d8c0e4a10")  # stable mapping UUIDs


def is_lambda(path: str, authorization: str) -> bool:
    """A Lambda API request: by the service of the SigV4 credential scope when signed
    (``Credential=KEY/DATE/REGION/lambda/aws4_request``), else by its path."""
    scope = re.search(r"Credential=[^/,\s]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request", authorization)
    if scope is not None:
        return scope["service"] == "lambda"
    return bool(LAMBDA_PATH.match(path))


def answer(config: Config, method: str, path: str, query: str) -> Answer:
    """The answer to a Lambda API request other than Invoke."""
    method = method.upper()
    if method == "GET":
        if path.rstrip("/") == "/2015-03-31/functions":
            return _json(200, {"Functions": [configuration(config, fn) for fn in config.functions.values()]})
        if m := _FUNCTION.match(path):
            fn = _function(config, unquote(m["ref"]), parse_qs(query).get("Qualifier", [None])[0])
            if m["rest"]:
                return _json(200, configuration(config, fn))
            code = {"RepositoryType": "S3", "Location": fn.code_dir.as_uri() if fn.code_dir.is_absolute() else ""}
            return _json(200, {"Configuration": configuration(config, fn), "Code": code, "Tags": {}})
        if m := _EVENT_INVOKE.match(path):
            return _event_invoke_config(config, _function(config, unquote(m["ref"]), None))
        if path.rstrip("/") == "/2015-03-31/event-source-mappings":
            name = parse_qs(query).get("FunctionName", [None])[0]
            only = _function(config, name, None).name if name else None
            found = [m for m in mappings(config) if only is None or m["FunctionArn"].endswith(f":function:{only}")]
            return _json(200, {"EventSourceMappings": found})
        if m := _MAPPING.match(path):
            for mapping in mappings(config):
                if mapping["UUID"] == m["uuid"]:
                    return _json(200, mapping)
            return error(404, "ResourceNotFoundException", f"The resource you requested does not exist. "
                         f"(event source mapping {m['uuid']}: the dynamodb triggers of {config.path})")  # fmt: skip
    return error(400, "InvalidParameterValueException", f"{method} {path}: router's embedded AWS serves its functions "
                 f"from {config.path} (list and get only); create, change or delete a function by editing "
                 f"'functions:' there, never through the Lambda API")  # fmt: skip


def configuration(config: Config, fn: FunctionConfig) -> dict[str, Any]:
    """A function as Lambda's FunctionConfiguration (GetFunctionConfiguration's response)."""
    s = config.settings
    code = _code_file(fn)
    try:
        data = code.read_bytes() if code is not None else b""
        modified = datetime.fromtimestamp(code.stat().st_mtime, UTC) if code is not None else datetime.now(UTC)
    except OSError:
        data, modified = b"", datetime.now(UTC)
    arn = _arn(config, fn.name)
    return {
        "FunctionName": fn.name,
        "FunctionArn": arn,
        "Runtime": str(fn.runtime),
        "Role": f"arn:aws:iam::{s.account}:role/router-{fn.name}",  # a role router never assumes
        "Handler": fn.handler,
        "CodeSize": len(data),  # of the handler file, not a zipped package
        "CodeSha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),  # base64 SHA-256, as Lambda
        "Description": "",
        "Timeout": int(fn.timeout) if float(fn.timeout).is_integer() else fn.timeout,
        "MemorySize": fn.memory,
        "LastModified": modified.strftime("%Y-%m-%dT%H:%M:%S.") + f"{modified.microsecond // 1000:03d}+0000",
        "Version": "$LATEST",
        "Environment": {"Variables": dict(fn.environment)},
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": str(uuid.uuid5(_MAPPING_NAMESPACE, arn + modified.isoformat())),
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},  # Lambda's default /tmp, MB
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn.name}"},
    }


def mappings(config: Config) -> list[dict[str, Any]]:
    """The dynamodb triggers as EventSourceMappingConfiguration objects."""
    s = config.settings
    out = []
    for t in config.triggers:
        source = t.dynamodb
        if source is None:
            continue
        table_arn = f"arn:aws:dynamodb:{s.region}:{s.account}:table/{source.table}"
        mapping: dict[str, Any] = {
            "UUID": str(uuid.uuid5(_MAPPING_NAMESPACE, f"{t.name}/{source.table}")),
            "EventSourceArn": f"{table_arn}/stream/*",  # the stream label is moto's, known only at run time
            "FunctionArn": _arn(config, t.function),
            "BatchSize": source.batch_size,
            "MaximumBatchingWindowInSeconds": int(source.batching_window),
            "StartingPosition": source.starting_position,
            "ParallelizationFactor": source.parallelization,
            "MaximumRetryAttempts": source.retries,
            "MaximumRecordAgeInSeconds": source.max_record_age,
            "BisectBatchOnFunctionError": source.bisect_on_error,
            "FunctionResponseTypes": ["ReportBatchItemFailures"] if source.report_batch_item_failures else [],
            "State": "Enabled" if source.enabled and t.enabled else "Disabled",
            "StateTransitionReason": "USER_INITIATED",
        }
        if source.on_failure is not None and (dest := _destination_arn(config, source.on_failure)):
            mapping["DestinationConfig"] = {"OnFailure": {"Destination": dest}}
        out.append(mapping)
    return out


def _event_invoke_config(config: Config, fn: FunctionConfig) -> Answer:
    # Lambda answers ResourceNotFoundException for a function without an event invoke config
    if "async_" not in fn.model_fields_set:
        return error(404, "ResourceNotFoundException", f"The function {_arn(config, fn.name)} doesn't have an "
                     f"EventInvokeConfig (no 'async:' for it in {config.path})")  # fmt: skip
    a = fn.async_
    body: dict[str, Any] = {
        "LastModified": 0.0,
        "FunctionArn": f"{_arn(config, fn.name)}:$LATEST",
        "MaximumRetryAttempts": a.retries,
        "MaximumEventAgeInSeconds": a.max_event_age,
        "DestinationConfig": {},
    }
    for key, dest in (("OnSuccess", a.on_success), ("OnFailure", a.on_failure)):
        if dest is not None and (arn := _destination_arn(config, dest)):
            body["DestinationConfig"][key] = {"Destination": arn}
    code = _code_file(fn)
    try:
        body["LastModified"] = code.stat().st_mtime if code is not None else 0.0
    except OSError:
        pass
    return _json(200, body)


def _destination_arn(config: Config, dest: Destination) -> str | None:
    """A function destination's ARN; a folder destination has no AWS equivalent (None)."""
    return _arn(config, dest.function) if dest.function else None


def _function(config: Config, ref: str, qualifier: str | None) -> FunctionConfig:
    s = config.settings
    m = _REF.match(ref)
    name = m["name"] if m else ref
    qualifier = qualifier or (m["qualifier"] if m else None)
    if (
        m is None
        or name not in config.functions
        or m["region"] not in (None, s.region)
        or m["account"] not in (None, s.account)
        or qualifier not in (None, "$LATEST")
    ):
        shown = _arn(config, name) + (f":{qualifier}" if qualifier else "")
        raise _NotFound(f"Function not found: {shown} (the functions of {config.path})")
    return config.functions[name]


class _NotFound(Exception):
    pass


def _arn(config: Config, name: str) -> str:
    s = config.settings
    return f"arn:aws:lambda:{s.region}:{s.account}:function:{name}"


def _code_file(fn: FunctionConfig) -> Path | None:
    return fn.handler_file if fn.handler_file.is_absolute() and fn.handler_file.is_file() else None


def _json(status: int, body: Any) -> Answer:
    import json

    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4()),
               "Content-Length": str(len(data))}  # fmt: skip
    return status, headers, data


def safe_answer(config: Config, method: str, path: str, query: str) -> Answer:
    """:func:`answer`, with an unknown function as Lambda's 404."""
    try:
        return answer(config, method, path, query)
    except _NotFound as exc:
        return error(404, "ResourceNotFoundException", str(exc))
