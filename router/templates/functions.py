"""A template's functions in triggers.yaml's shape: AWS::Serverless::Function (with Globals)
and AWS::Lambda::Function (inline Code.ZipFile, CDK's ``aws:asset:path``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..schema import RUNTIMES
from .apis import http_cors
from .intrinsics import Context, Unresolvable, resolve
from .resources import arn_target

# AWS::Lambda::EventInvokeConfig / SAM EventInvokeConfig DestinationConfig types -> router's keys
_DESTINATIONS = {"queue": "queue", "topic": "topic", "function": "function", "bus": "bus"}


def merge_globals(props: dict[str, Any], globals_: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules (aws-sam-translator, plugins/globals/globals.py GlobalProperties): a map
    is merged (the resource's keys win), lists are concatenated (global + local), any other value
    is replaced by the resource's."""
    out = dict(globals_)
    for key, value in props.items():
        base = out.get(key)
        if isinstance(base, dict) and isinstance(value, dict) and not _intrinsic(value) and not _intrinsic(base):
            out[key] = merge_globals(value, base)
        elif isinstance(base, list) and isinstance(value, list):
            out[key] = base + value
        else:
            out[key] = value
    return out


def _intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and any(k == "Ref" or str(k).startswith("Fn::") for k in value)


def function_entry(ctx: Context, logical: str, kind: str, props: dict[str, Any], meta: dict[str, Any],
                   root: Path, inline_dir: Path) -> tuple[dict[str, Any] | None, str | None]:  # fmt: skip
    """(functions entry, None) or (None, why it is not emulated)."""
    p = {k: v for k, v in props.items() if k not in ("Events",)}
    if resolve(p.get("PackageType", "Zip"), ctx) == "Image":
        return None, "a container image function (PackageType: Image)"
    runtime = resolve(p.get("Runtime"), ctx)
    if runtime is not None and runtime not in RUNTIMES:
        return None, f"runtime {runtime}"
    handler = resolve(p.get("Handler"), ctx)
    out: dict[str, Any] = {"handler": handler}
    if runtime is not None:
        out["runtime"] = runtime
    code = _code(ctx, logical, kind, p, meta, root, inline_dir, runtime)
    if code is None:
        return None, "its code is not on this machine (an S3 location)"
    out["code"] = code
    scalars = (("Timeout", "timeout"), ("MemorySize", "memory"), ("ReservedConcurrentExecutions", "concurrency"))
    for key, ours in scalars:
        if key in p:
            out[ours] = resolve(p[key], ctx)
    env = resolve(p.get("Environment", {}), ctx)
    if isinstance(env, dict) and env.get("Variables"):
        out["environment"] = {k: v if isinstance(v, str) else _text(v) for k, v in env["Variables"].items()}
    logging = resolve(p.get("LoggingConfig", {}), ctx)
    if isinstance(logging, dict) and logging:
        keys = {"LogFormat": "format", "ApplicationLogLevel": "application_level", "SystemLogLevel": "system_level"}
        out["logging"] = {keys[k]: v for k, v in logging.items() if k in keys}
    if "EventInvokeConfig" in p:
        out["async"] = invoke_config(ctx, resolve(p["EventInvokeConfig"], ctx), p["EventInvokeConfig"])
    return out, None


def _text(value: Any) -> Any:
    return "true" if value is True else "false" if value is False else str(value)


def invoke_config(ctx: Context, cfg: dict[str, Any], node: Any) -> dict[str, Any]:
    """EventInvokeConfig (SAM) / AWS::Lambda::EventInvokeConfig -> router's ``async``."""
    out: dict[str, Any] = {}
    if "MaximumRetryAttempts" in cfg:
        out["retries"] = cfg["MaximumRetryAttempts"]
    if "MaximumEventAgeInSeconds" in cfg:
        out["max_event_age"] = cfg["MaximumEventAgeInSeconds"]
    for key, ours in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
        dest = (cfg.get("DestinationConfig") or {}).get(key)
        if isinstance(dest, dict) and "Destination" in dest:
            out[ours] = destination(dest["Destination"], node)
    return out


def destination(arn: Any, node: Any) -> dict[str, str]:
    kind, name = arn_target(arn, node)
    if kind not in _DESTINATIONS:
        raise Unresolvable(f"{arn!r}: a destination is a function, queue, topic or bus", node)
    return {_DESTINATIONS[kind]: name}


def _code(ctx: Context, logical: str, kind: str, p: dict[str, Any], meta: dict[str, Any], root: Path,
          inline_dir: Path, runtime: Any) -> str | None:  # fmt: skip
    """The code folder, relative to the template's folder (inline code is written out)."""
    inline = resolve(p.get("InlineCode"), ctx)
    if kind == "AWS::Lambda::Function":
        code = resolve(p.get("Code", {}), ctx)
        inline = code.get("ZipFile") if isinstance(code, dict) else None
        asset = meta.get("aws:asset:path")  # CDK: the asset folder beside the template
        if inline is None and isinstance(asset, str):
            return asset
        if inline is None:
            return None
    if inline is not None:
        return _write_inline(inline_dir / logical, str(inline), str(runtime or ""), root)
    uri = resolve(p.get("CodeUri", "."), ctx)
    if not isinstance(uri, str) or uri.startswith("s3://"):
        return None
    return uri


def _write_inline(folder: Path, source: str, runtime: str, root: Path) -> str:
    """Inline code as CloudFormation deploys it: a file named ``index`` (``index.js`` for Node.js,
    "AWS::Lambda::Function Code", ZipFile; SAM's InlineCode becomes that ZipFile), so a handler
    naming another module fails as it does in Lambda (Runtime.ImportModuleError)."""
    path = folder / ("index.js" if runtime.startswith("nodejs") else "index.py")
    if not path.is_file() or path.read_text(encoding="utf-8") != source:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return os.path.relpath(folder, root)


# ------------------------------------------------------------------------------ layers, function URLs

LAYERS = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")


def declare_layer(ctx: Context, logical: str, kind: str, props: dict[str, Any],
                  meta: dict[str, Any]) -> tuple[str, str | None, str | None]:  # fmt: skip
    """(the layer version's ARN, its folder relative to the template's or None, why not / a note).
    "AWS::Lambda::LayerVersion", Return values: Ref is the layer version's ARN
    (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:1); SAM's LayerVersion refs the one it generates."""
    name = resolve(props.get("LayerName"), ctx) or logical
    arn = f"arn:aws:lambda:{ctx.region}:{ctx.account}:layer:{name}:1"
    ctx.refs[logical] = arn
    if kind == "AWS::Lambda::LayerVersion":
        asset = meta.get("aws:asset:path")  # CDK: the asset folder beside the template
        if isinstance(asset, str):
            return arn, asset, None
        return arn, None, "its content is not on this machine (an S3 location)"
    uri = resolve(props.get("ContentUri"), ctx)
    if not isinstance(uri, str) or uri.startswith("s3://"):
        return arn, None, "its content is not on this machine (an S3 location)"
    build = meta.get("BuildMethod")  # sam build's: it builds the layer's /opt layout from the folder
    note = f"Metadata.BuildMethod {build} (ContentUri {uri} is used as it is, not built)" if build else None
    return arn, uri, note


def function_layers(ctx: Context, layers: Any, folders: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """A function's Layers (ARNs, a Ref to a layer resource each) as router's ``layers`` folders,
    in their order (Lambda extracts them to /opt in the order given: "Packaging your layer
    content"), and the layers it cannot give the function."""
    out, missing = [], []
    for arn in resolve(layers, ctx) if isinstance(layers, list) else []:
        folder = folders.get(str(arn))
        if folder is None:
            missing.append(str(arn))
        else:
            out.append(folder)
    return out, missing


def url_trigger(function: str, cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A FunctionUrlConfig (SAM) / AWS::Lambda::Url as an http trigger's ``url``, and what of it is
    not emulated. AuthType AWS_IAM (SigV4) is served without auth; InvokeMode is the URL's
    invoke_mode; Cors has the keys of an HTTP
    API's CorsConfiguration ("AWS::Lambda::Url Cors": AllowCredentials, AllowHeaders,
    AllowMethods, AllowOrigins, ExposeHeaders, MaxAge)."""
    url: dict[str, Any] = {"auth": "NONE"}
    notes = []
    if str(cfg.get("AuthType", "NONE")) != "NONE":
        notes.append(f"AuthType {cfg.get('AuthType')} (the URL serves unsigned requests)")
    if isinstance(cfg.get("Cors"), dict):
        url["cors"] = http_cors(cfg["Cors"])
    if cfg.get("InvokeMode") in ("BUFFERED", "RESPONSE_STREAM"):  # "AWS::Lambda::Url InvokeMode"
        url["invoke_mode"] = cfg["InvokeMode"]
    return {"function": function, "http": {"url": url}}, notes
