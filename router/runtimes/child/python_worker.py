"""The worker process for Python handlers: one Lambda execution environment.

Started by router as ``python -u python_worker.py FD HANDLER TASK_ROOT FUNCTION_ARN IMPORTS``.
It imports nothing from router (it may run on another interpreter, ``settings.python``).

FD is one end of a socketpair: router's frames travel there, never on stdout/stderr, which
stay the handler's own (router captures them as the invocation's log lines).

A frame is ``!IB`` (payload length, type) then the payload. Router sends ``I`` (invoke:
the JSON array ``[request_id, deadline_ms, client_context, event, trace_id?]``). The worker
answers ``R`` (initialised), ``N`` (init failed: ``[error, log]``, then it exits), ``O`` (a
JSON result), ``B`` (a result that was bytes, sent raw, as Lambda does) or ``F`` (a function
error: ``[error, log, fatal]``). ``O``, ``B`` and ``F`` come right after an ``M`` frame (in
the same write): the process's peak resident memory in kB (VmHWM), for Max Memory Used
(router reads /proc itself when it is missing).

IMPORTS (JSON, see router/runtimes/python.py): router's own interpreter prefix, the top-level
modules only router's dependencies provide, and where the AWS SDK for Python is. The import
path is made Lambda's: the code root first, then the project's packages, then boto3/botocore.

What it reproduces is AWS's Python runtime interface client, awslambdaric; citations
``file.py:N`` are lines of awslambdaric 4.2.2 (the PyPI wheel).
"""

import decimal
import importlib
import importlib.machinery
import json
import logging
import os
import re
import secrets
import socket
import struct
import sys
import time
import traceback

HEADER = struct.Struct("!IB")
INVOKE, READY, INIT_FAILED, RESULT, RAW_RESULT, FAILED, MEMORY = b"IRNOBFM"
THIS_FILE = os.path.abspath(__file__)
# lambda_literals.py:28-38, logged (as a warning) before an init error (bootstrap.py:529-533)
UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with a change in the "
    "runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


class Fault(Exception):
    """An error the runtime reports by type name (Runtime.*), not the user's exception."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


# ------------------------------------------------------------------------------- loading


def load_handler(handler):
    """The handler function named by ``path/module.function``, or raise a Fault (bootstrap.py:38-76)."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from None
    if modname.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {modname} as a handler module",
        )
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as exc:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{modname}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {exc}", trace
        ) from None
    try:
        return getattr(module, fname)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'"
        ) from None


# ------------------------------------------------------------------------------- context


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data):
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")

    def __repr__(self):
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code",
                 "app_package_name")  # fmt: skip

    def __init__(self, data):
        for name in self.__slots__:
            setattr(self, name, data.get(name))

    def __repr__(self):  # lambda_context.py:135-144
        return "Client([" + ",".join(f"{n}={getattr(self, n)}" for n in self.__slots__) + "])"


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, data):
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if client is not None else None

    def __repr__(self):  # lambda_context.py:150-157
        return f"ClientContext([custom={self.custom},env={self.env},client={self.client}])"


W3C_FIELDS = ("traceparent", "tracestate", "baggage")  # lambda_context.py:13


def _w3c(client_context):
    """The W3C trace context out of the client context (removed from it), string fields of
    W3C_FIELDS only (lambda_context.py:64-88)."""
    if not isinstance(client_context, dict) or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in W3C_FIELDS if isinstance(raw.get(key), str)}


class LambdaContext:
    """What the handler gets as ``context`` (lambda_context.py:16-111)."""

    def __init__(self, request_id, deadline_ms, client_context, identity, tenant_id=None):
        self.aws_request_id = request_id
        (self.log_group_name, self.log_stream_name, self.function_name, self.memory_limit_in_mb,
         self.function_version) = ENVIRONMENT  # fmt: skip
        self.invoked_function_arn = FUNCTION_ARN
        self.tenant_id = tenant_id
        self._w3c_fields = _w3c(client_context)
        self.client_context = ClientContext(client_context) if client_context is not None else None
        self.identity = CognitoIdentity(identity or {})
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def w3c(self):
        return dict(self._w3c_fields)

    def log(self, msg):
        for handler in logging.getLogger().handlers:  # lambda_context.py:90-95
            if hasattr(handler, "log_sink"):
                handler.log_sink.log(str(msg))
                return
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


FUNCTION_ARN = ""
ENVIRONMENT = (None,) * 5  # the context's values from the environment, read once at start


def read_environment():
    env = os.environ
    return tuple(env.get(name) for name in (
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION"))  # fmt: skip


def new_trace_id():
    """``Root=1-<epoch seconds, 8 hex>-<24 hex>;Parent=<16 hex>;Sampled=0``: the X-Ray header
    Lambda sends with every invocation ("Tracing header", AWS X-Ray developer guide)."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


# ------------------------------------------------------------------------------- results

_TOKEN = secrets.token_hex(6)
_DECIMAL = re.compile(r'"\\u0000' + _TOKEN + r'([^"\\]*)\\u0000"')


def _default(value):
    if isinstance(value, decimal.Decimal):  # lambda_runtime_marshaller.py:28-33: every digit
        if value.is_nan():
            return float("nan")
        return "\x00" + _TOKEN + str(value) + "\x00"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(default=_default)


def _plain(value):
    """``value`` with every namedtuple made a dict, as simplejson writes them (the client's
    encoder, lambda_runtime_marshaller.py:8-16: namedtuple_as_object is on); ``value`` itself
    when there is none (the common case: nothing is copied)."""
    kind = type(value)
    if kind is dict:
        items = [(k, _plain(v)) for k, v in value.items()]
        return value if all(v is value[k] for k, v in items) else dict(items)
    if kind is list or kind is tuple:
        items = [_plain(v) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else kind(items)  # noqa: B905
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    return value


def marshal(result):
    """``(frame type, bytes)`` for a handler's return value, or raise Runtime.MarshalError
    (lambda_runtime_marshaller.py:56-67: bytes as they are, else JSON)."""
    if isinstance(result, bytes):
        return RAW_RESULT, result
    try:
        text = _ENCODER.encode(_plain(result))
    except Exception as exc:
        raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None
    if _TOKEN in text:
        text = _DECIMAL.sub(r"\1", text)
    return RESULT, text.encode()


def make_error(message, error_type, trace, request_id=""):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": trace or [],
    }


def error_from_exception(exc, request_id=""):
    """bootstrap.py:191-202: the frames from the first one outside the runtime (all of them
    when there is none: a handler that cannot be called), formatted from plain tuples, so
    without the ``~~^^`` position markers of Python 3.11+."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)]
    for i, frame in enumerate(frames):
        if os.path.abspath(frame[0]) != THIS_FILE:
            frames = frames[i:]
            break
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def error_log(error):
    """What the client logs for an error (bootstrap.py:103-148): text, ``[ERROR] Type: message``
    and the traceback, lines indented with no-break spaces; JSON, the error with a timestamp
    and a level."""
    if JSON_LOGS:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return json.dumps({"timestamp": stamp, "level": "ERROR", **error}, ensure_ascii=ENSURE_ASCII)
    head = "[ERROR]"
    if error["errorType"]:
        head += " " + error["errorType"] + (":" if error["errorMessage"] else "")
    if error["errorMessage"]:
        head += " " + error["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        if element:
            lines.extend(_nbsp_indent(line) for line in element.splitlines())
        else:
            lines.append("")
    return "\n".join(lines)


def _nbsp_indent(line):
    stripped = line.lstrip(" ")
    return "\u00a0" * (len(line) - len(stripped)) + stripped


# ------------------------------------------------------------------------------- channel


class Channel:
    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.buf = b""  # received, not yet taken: a frame arrives in one read as a rule

    def _fill(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(max(65536, n - len(self.buf)))
            if not data:
                raise EOFError
            self.buf += data

    def recv(self):
        self._fill(5)
        length, kind = HEADER.unpack_from(self.buf)
        self._fill(5 + length)
        payload, self.buf = self.buf[5 : 5 + length], self.buf[5 + length :]
        return kind, payload

    def send(self, kind, payload=b""):
        self.sock.sendall(HEADER.pack(len(payload), kind) + payload)

    def reply(self, kind, payload, peak):
        """A reply, after the ``M`` frame of the peak memory when it is known."""
        head = b"" if peak is None else HEADER.pack(len(peak), MEMORY) + peak
        self.sock.sendall(head + HEADER.pack(len(payload), kind) + payload)


class PeakMemory:
    """This process's VmHWM (kB, as ASCII digits) from /proc/self/status; None elsewhere.
    (Not getrusage's ru_maxrss: that counts the peak of the parent it was forked from.)
    Reading /proc costs ~7 us, so it is read again only after page faults: without one the
    resident size cannot have grown, so neither has its peak."""

    def __init__(self):
        self.last = None
        self.faults = -1
        try:
            import resource

            self.fd = os.open("/proc/self/status", os.O_RDONLY)
            self.usage = resource.getrusage
            self.who = resource.RUSAGE_SELF
        except (ImportError, OSError):
            self.fd = None

    def read(self):
        if self.fd is None:
            return None
        usage = self.usage(self.who)
        faults = usage.ru_minflt + usage.ru_majflt
        if faults == self.faults:
            return self.last
        self.faults = faults
        try:
            data = os.pread(self.fd, 4096, 0)
            start = data.index(b"VmHWM:") + 6
            self.last = data[start : data.index(b"kB", start)].strip()
        except (OSError, ValueError):
            self.last = None
        return self.last


# ------------------------------------------------------------------------------- logging

REQUEST_ID = ""
JSON_LOGS = False  # AWS_LAMBDA_LOG_FORMAT=JSON
ENSURE_ASCII = True  # the client's encoder writes non-ASCII as is from python3.12 on


class Unbuffered:
    """sys.stdout and sys.stderr as the client wraps them (bootstrap.py:347-367): every write
    flushed (and returning None)."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        self.stream.write(msg)
        self.stream.flush()

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


class StandardLogSink:
    def log(self, msg, frame_type=None):  # bootstrap.py:369-384: the stdout of the moment
        sys.stdout.write(msg)


class LambdaLoggerHandler(logging.Handler):
    """The root logger's handler (bootstrap.py:315-337)."""

    def __init__(self, log_sink):
        super().__init__()
        self.log_sink = log_sink

    def emit(self, record):
        self.log_sink.log(self.format(record))


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record):  # bootstrap.py:340-344
        record.aws_request_id = REQUEST_ID or ""
        record.tenant_id = None
        return True


_RESERVED = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
    "threadName", "processName", "process", "aws_request_id", "tenant_id", "_frame_type"))  # fmt: skip


class JsonFormatter(logging.Formatter):
    """A record as the client's JSON (lambda_runtime_log_utils.py:82-146)."""

    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def __init__(self):
        super().__init__(datefmt="%Y-%m-%dT%H:%M:%SZ")

    def format(self, record):
        record.levelno = min(50, max(0, record.levelno)) // 10 * 10
        record.levelname = logging.getLevelName(record.levelno)
        exc = record.exc_info
        result = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc[2]) if exc else None,
            "errorType": exc[0].__name__ if exc else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc else None,
        }
        result.update((k, v) for k, v in record.__dict__.items() if k not in _RESERVED and k not in result)
        return self.encode({k: v for k, v in result.items() if v is not None}) + "\n"


def setup_logging():
    """The root logger as the client sets it (bootstrap.py:455-478; the level from
    AWS_LAMBDA_LOG_LEVEL, TRACE read as DEBUG: lambda_runtime_log_utils.py:49-50)."""
    global JSON_LOGS, ENSURE_ASCII
    JSON_LOGS = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    # lambda_runtime_marshaller.py:12-22
    ENSURE_ASCII = os.environ.get("AWS_EXECUTION_ENV") not in {
        "AWS_Lambda_python3.12", "AWS_Lambda_python3.13", "AWS_Lambda_python3.14", "AWS_Lambda_python3.15"}  # fmt: skip
    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler(StandardLogSink())
    if JSON_LOGS:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S"))  # fmt: skip
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    level = {None: "", "TRACE": "DEBUG"}.get(level, level).upper()
    root = logging.getLogger()
    if level in logging._nameToLevel:  # as the client checks it
        root.setLevel(level)
    handler.addFilter(LambdaLoggerFilter())
    root.addHandler(handler)


# ------------------------------------------------------------------------------- imports


class ImportGuard:
    """Keeps router's own dependencies out of the handler's view, where router and the project
    share one interpreter (so one site-packages, which cannot be told apart). First on
    sys.meta_path, for the top-level modules only router's dependencies provide: the code root
    first (a folder there, even without __init__.py, is what Lambda imports, not a module of
    router's of the same name, e.g. pytest's py.py), else the import goes on as usual, with a
    warning (once per module and worker) when the handler's own code asked for it."""

    def __init__(self, task_root, router_only):
        self.task_root = os.path.join(os.path.realpath(task_root), "")
        self.router_only = router_only
        self.warned = set()

    def find_spec(self, name, path=None, target=None):
        if path is not None or name not in self.router_only:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, [self.task_root])
        if spec is None and name not in self.warned and self._asked_by_user_code():
            self.warned.add(name)
            dist = self.router_only[name]
            sys.stderr.write(
                f"router: WARNING: the function imports {name!r}, which only router's own dependencies "
                f"({dist}) provide here; on Lambda it fails with Runtime.ImportModuleError. Add {dist} to "
                "the project's requirements, or install router as a tool (pipx / uv tool) and set "
                "settings.python to the project's interpreter (docs/runtimes.md, Import environment).\n"
            )
        return spec

    def _asked_by_user_code(self):
        frame = sys._getframe(2)  # past this method and find_spec
        while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
            frame = frame.f_back
        if frame is None:
            return False
        return os.path.realpath(frame.f_code.co_filename).startswith(self.task_root)


class ProvidedSdk:
    """Last on sys.meta_path, where the project's interpreter is not router's: boto3, botocore
    and what they need, from router's installation, as the Lambda runtime provides them
    ("Runtime dependencies in Python": the SDK for Python is included) when the project did
    not install them itself."""

    def __init__(self, directory, names):
        self.directory = directory
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if path is not None or name not in self.names:
            return None
        return importlib.machinery.PathFinder.find_spec(name, [self.directory])


def set_import_path(task_root, imports):
    """sys.path as Lambda's: the code root first (then the project's packages); router's
    child folder out of it; the two finders above as the interpreter calls for."""
    here = os.path.dirname(THIS_FILE)
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]
    sys.path.insert(0, task_root)
    if not imports:
        return
    if os.path.realpath(sys.prefix) == os.path.realpath(imports["prefix"]):
        sys.meta_path.insert(0, ImportGuard(task_root, imports["router_only"]))
    elif imports.get("sdk_dir"):
        sys.meta_path.append(ProvidedSdk(imports["sdk_dir"], imports["sdk"]))


# ------------------------------------------------------------------------------- main


def prepare(task_root, imports):
    set_import_path(task_root, imports)
    os.chdir(task_root)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    sys.stdout = Unbuffered(sys.stdout)  # bootstrap.py:507-508
    sys.stderr = Unbuffered(sys.stderr)


def flush():
    """What the handler wrote reaches the pipe before the reply (it may have replaced sys.stdout)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or odd stream of the handler's: nothing to flush
            pass


def initialise(channel, handler_name):
    try:
        handler = load_handler(handler_name)
    except Fault as fault:
        error = make_error(fault.message, fault.error_type, fault.trace)
    except Exception as exc:
        error = error_from_exception(exc)
    else:
        flush()
        channel.send(READY)
        return handler
    logging.warning(UNHANDLED_WARNING)  # bootstrap.py:529-533
    flush()
    channel.send(INIT_FAILED, json.dumps([error, error_log(error)]).encode())
    sys.exit(1)


def serve(channel, handler):
    global REQUEST_ID
    loads, environ = json.loads, os.environ
    peak = PeakMemory().read
    while True:
        try:
            kind, payload = channel.recv()
        except (EOFError, OSError):
            return
        request_id, deadline_ms, client_context, event, *trace = loads(payload)
        REQUEST_ID = request_id
        environ["_X_AMZN_TRACE_ID"] = trace[0] if trace else new_trace_id()  # bootstrap.py:433-438
        try:
            context = LambdaContext(request_id, deadline_ms, client_context, None)
            kind, body = marshal(handler(event, context))
        except Fault as fault:
            error = make_error(fault.message, fault.error_type, fault.trace, request_id)
            kind, body = FAILED, json.dumps([error, error_log(error), False]).encode()
        except Exception as exc:
            error = error_from_exception(exc, request_id)
            kind, body = FAILED, json.dumps([error, error_log(error), False]).encode()
        flush()
        channel.reply(kind, body, peak())


def main():
    global FUNCTION_ARN, ENVIRONMENT
    fd, handler_name, task_root, FUNCTION_ARN = sys.argv[1:5]
    imports = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
    del sys.argv[1:]
    ENVIRONMENT = read_environment()
    channel = Channel(int(fd))
    prepare(task_root, imports)
    setup_logging()
    handler = initialise(channel, handler_name)
    serve(channel, handler)


if __name__ == "__main__":
    main()
