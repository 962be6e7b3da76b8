"""What a runtime hands back for one invocation, and the facts every runtime shares.

:class:`Outcome` is the result of one invocation in one worker. The error payloads for the
failures the *platform* reports (the worker was killed or exited) are built here; handler
errors are built by the child scripts, which reproduce each language's runtime client.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from ..config import Config, FunctionConfig
from ..lineage import key_id
from ..schema import RESERVED_ENV

Status = Literal["ok", "error", "timeout", "crashed"]

CHILD_DIR = Path(__file__).parent / "child"

# Lambda's on-demand Init phase may take 10 s; when it does not finish, Lambda retries it inside
# the Invoke phase, under the function timeout ("Lambda execution environment lifecycle").
INIT_LIMIT_S = 10.0


@dataclass(slots=True)
class Outcome:
    """How one invocation ended: SPEC's invocation record, minus what dispatch adds."""

    request_id: str
    status: Status
    result: Any
    error: dict[str, Any] | None
    logs: str  # START ... END ... REPORT framed text; handler stdout/stderr between
    started_at: float  # epoch seconds
    duration_ms: float
    billed_duration_ms: int
    init_duration_ms: float | None  # set on a cold start
    max_memory_mb: int
    event_json: str | None = None  # the event as sent to the worker (the journal reuses it)
    payload: bytes | None = None  # an ok result as the worker sent it (JSON text, or a Python handler's bytes)
    content_type: str | None = None  # a streamed response's (Node.js awslambda.streamifyResponse)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class RuntimeSpec(Protocol):
    """How to start a worker of one language (python.py, node.py)."""

    allowance_mb: int

    def check(self) -> None: ...

    def argv(self, fn: FunctionConfig, fd: int, arn: str, debug: Any = None) -> list[str]: ...


# ------------------------------------------------------------------------ platform errors


def timeout_error(request_id: str, timeout: float) -> dict[str, Any]:
    # AWS's Invoke response payload for a timeout (FunctionError "Unhandled"), as logged from
    # real invocations (e.g. in the CHANGELOG of seek-oss/aws-codedeploy-hooks):
    # {"errorMessage": "RequestId: ... Error: Task timed out after 1.00 seconds",
    #  "errorType": "Sandbox.Timedout"}
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
    }


def exit_error(request_id: str, returncode: int | None, *, oom: bool = False) -> dict[str, Any]:
    """The payload when the runtime process died: Runtime.OutOfMemory or Runtime.ExitError.

    AWS knowledge center "lambda-runtime-error": {"errorType": "Runtime.ExitError",
    "errorMessage": "RequestId: ... Error: Runtime exited with error: exit status 129"}; an
    out-of-memory kill logs "Error: Runtime exited with error: signal: killed" with the
    type Runtime.OutOfMemory."""
    if oom:  # the kernel's (here router's) SIGKILL on going over the memory size
        return {
            "errorType": "Runtime.OutOfMemory",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
        }
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: {describe_exit(returncode)}",
    }


# Go's names for signals, which Lambda's "signal: ..." messages use.
_SIGNAL_NAMES = {
    signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated", signal.SIGBUS: "bus error", signal.SIGINT: "interrupt",
    signal.SIGFPE: "floating point exception", signal.SIGILL: "illegal instruction",
    signal.SIGHUP: "hangup", signal.SIGPIPE: "broken pipe",
}  # fmt: skip


def describe_exit(returncode: int | None) -> str:
    if returncode is None or returncode == 0:
        return "Runtime exited without providing a reason"
    if returncode > 0:
        return f"Runtime exited with error: exit status {returncode}"
    try:
        name = _SIGNAL_NAMES.get(signal.Signals(-returncode), signal.Signals(-returncode).name)
    except ValueError:
        name = f"signal {-returncode}"
    return f"Runtime exited with error: signal: {name}"


# ------------------------------------------------------------------------ the environment

# Lambda's reserved variables: a function's `environment` cannot set these (the config refuses them).
RESERVED = RESERVED_ENV
RUNTIME_API = "127.0.0.1:9001"  # the value Lambda gives AWS_LAMBDA_RUNTIME_API


def logging_environment(fn: FunctionConfig) -> dict[str, str]:
    """Lambda's advanced logging controls as the runtimes read them: ``AWS_LAMBDA_LOG_FORMAT``
    and ``AWS_LAMBDA_LOG_LEVEL`` ("Application log-level filtering with custom runtimes": Lambda
    sets both from the LoggingConfig). With the JSON format the level defaults to INFO
    ("Log-level filtering": the default application log level is INFO); with Text neither is set,
    so a function's own ``environment`` may still set them."""
    if fn.logging.format != "JSON":
        return {}
    return {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": fn.logging.application_level or "INFO"}


def layer_node_path(fn: FunctionConfig) -> str | None:
    """``NODE_PATH`` of a Node.js function with layers, as the runtime's bootstrap sets it (unless
    the function sets NODE_PATH itself): ``/opt/nodejs/nodeNN/node_modules``, then
    ``/opt/nodejs/node_modules`` ("Layer paths for each Lambda runtime"; the nodejs bootstrap's
    ``NODE_PATH="$nodejsNN_mods:$nodejs_mods:$runtime_mods:$task"``). Lambda extracts the layers
    into one /opt in order, a later one's files over an earlier one's: here a later layer's
    folder comes first."""
    if not fn.layers or not fn.is_node or "NODE_PATH" in fn.environment:
        return None
    major = str(fn.runtime).removeprefix("nodejs").removesuffix(".x")
    folders = [os.path.join(layer, "nodejs", sub, "node_modules")
               for sub in (f"node{major}", "") for layer in reversed(fn.layers)]  # fmt: skip
    return os.pathsep.join(os.path.normpath(f) for f in folders)


def function_arn(config: Config, fn: FunctionConfig) -> str:
    s = config.settings
    return f"arn:aws:lambda:{s.region}:{s.account}:function:{fn.name}"


def log_stream_name() -> str:
    """A new execution environment's stream: ``2024/05/01/[$LATEST]<32 hex>``."""
    return datetime.now(UTC).strftime("%Y/%m/%d/") + "[$LATEST]" + uuid.uuid4().hex


def worker_environment(
    config: Config, fn: FunctionConfig, env: Mapping[str, str], log_stream: str
) -> dict[str, str]:
    """The whole environment of a worker: PATH/HOME/LANG from router's own, then ``env``
    (endpoint, credentials), then the function's ``environment``, then Lambda's reserved
    variables. Nothing else of router's environment leaks in."""
    out = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    out.setdefault("PATH", os.defpath)
    out.setdefault("LANG", "C.UTF-8")
    out.update(env)
    if "AWS_ENDPOINT_URL" in env and "AWS_ACCESS_KEY_ID" in env:  # dummy credentials: a key id per function
        out["AWS_ACCESS_KEY_ID"] = key_id(fn.name)  # so its writes name it (router/lineage.py)
    out.update({k: v for k, v in fn.environment.items() if k not in RESERVED})
    region = config.settings.region
    out.update({
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
        "_HANDLER": fn.handler,
        "LAMBDA_TASK_ROOT": str(fn.code_dir),
        "LAMBDA_RUNTIME_DIR": str(CHILD_DIR),
        "TZ": ":UTC",
        # set in every Lambda runtime ("Defined runtime environment variables"); router serves no
        # Runtime API there: the worker's channel is its socketpair
        "AWS_LAMBDA_RUNTIME_API": RUNTIME_API,
    })  # fmt: skip
    out.update(logging_environment(fn))
    if (node_path := layer_node_path(fn)) is not None:
        out["NODE_PATH"] = node_path
    if sys.platform == "win32" and "SYSTEMROOT" in os.environ:  # pragma: no cover
        out["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return out
