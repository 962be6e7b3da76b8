"""The worker process for Python handlers: one Lambda execution environment.

Started by router as ``python -u python_worker.py FD HANDLER TASK_ROOT FUNCTION_ARN IMPORTS``.
It imports nothing from router (it may run on another interpreter, ``settings.python``).

FD is one end of a socketpair: router's frames travel there, never on stdout/stderr, which
stay the handler's own (router captures them as the invocation's log lines).

A frame is ``!IB`` (payload length, type) then the payload. Router sends ``I`` (invoke:
the JSON array ``[request_id, deadline_ms, client_context, event, trace_id?, identity?]``). The worker
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
import importlib.util
import json
import logging
import os
import re
import secrets
import select
import socket
import struct
import sys
import time
import traceback

HEADER = struct.Struct("!IB")
INVOKE, READY, INIT_FAILED, RESULT, RAW_RESULT, FAILED, MEMORY, LOADED = b"IRNOBFML"
THIS_FILE = os.path.abspath(__file__)
HERE = os.path.dirname(THIS_FILE)


def _sibling(name):
    """A helper script next to this one, run under a private module name: never on sys.path nor
    in sys.modules, so a handler's own module of that name stays importable."""
    spec = importlib.util.spec_from_file_location(f"_router_worker_{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lambda_logging = _sibling("python_logging")
lambda_imports = _sibling("python_imports")
loaded_files = _sibling("python_reload")
error_log = lambda_logging.error_log
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


_RANDOM = [b"", 0]  # random bytes drawn 4,000 at a time (a getrandom call per trace id costs more)


def new_trace_id():
    """``Root=1-<epoch seconds, 8 hex>-<24 hex>;Parent=<16 hex>;Sampled=0``: the X-Ray header
    Lambda sends with every invocation ("Tracing header", AWS X-Ray developer guide)."""
    pool, at = _RANDOM
    if at + 20 > len(pool):
        pool, at = os.urandom(4000), 0
        _RANDOM[0] = pool
    _RANDOM[1] = at + 20
    random = pool[at : at + 20].hex()
    return f"Root=1-{int(time.time()):08x}-{random[:24]};Parent={random[24:]};Sampled=0"


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


_LEAVES = frozenset((str, int, float, bool, type(None)))


def _plain(value):
    """``value`` with every namedtuple made a dict, as simplejson writes them (the client's
    encoder, lambda_runtime_marshaller.py:8-16: namedtuple_as_object is on); ``value`` itself
    when there is none (the common case: nothing is copied)."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is dict:
        for item in value.values():
            if type(item) not in _LEAVES and _plain(item) is not item:
                return {k: _plain(v) for k, v in value.items()}
        return value
    if kind is list or kind is tuple:
        for item in value:
            if type(item) not in _LEAVES and _plain(item) is not item:
                return kind(_plain(v) for v in value)
        return value
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


# ------------------------------------------------------------------------------- channel


class Channel:
    """The frames to and from router.

    It never sleeps in ``recv``: a blocking read on a Unix stream socket waits on the queue
    that is also woken when the peer reads what this side wrote (unix_write_space wakes it
    with EPOLLOUT, and a read's wait does not look at the event), so each reply router read
    woke the idle worker for nothing, a second sleep and wake-up per invocation (seen with
    ``perf record -e sched:sched_switch``). ``poll`` for POLLIN only is woken for data."""

    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.buf = b""  # received, not yet taken: a frame arrives in one read as a rule
        self.poller = None
        if hasattr(select, "poll"):
            self.poller = select.poll()
            self.poller.register(fd, select.POLLIN)

    def _fill(self, n):
        while len(self.buf) < n:
            if self.poller is not None:  # (the frame is rarely there already: poll first)
                self.poller.poll()
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


# ------------------------------------------------------------------------------- main


def prepare(task_root, imports, layers=()):
    lambda_imports.set_import_path(task_root, imports, HERE, layers)
    os.chdir(task_root)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    sys.stdout = lambda_logging.Unbuffered(sys.stdout)  # bootstrap.py:507-508
    sys.stderr = lambda_logging.Unbuffered(sys.stderr)


def start_debugger(debug):
    """debugpy listening on 127.0.0.1 (router/runtimes/debug.py), its adapter in this process
    (one process to watch and kill); with ``wait``, the init waits for the client. debugpy is
    router's: imported from its folder, which leaves sys.path again."""
    path = debug.get("path")
    added = bool(path) and path not in sys.path
    if added:
        sys.path.append(path)
    try:
        import debugpy
    finally:
        if added:
            sys.path.remove(path)
    debugpy.listen(("127.0.0.1", debug["port"]), in_process_debug_adapter=True)
    if debug.get("wait"):
        debugpy.wait_for_client()


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
        report_loaded(channel)
        channel.send(READY)
        return handler
    logging.warning(lambda_logging.UNHANDLED_WARNING)  # bootstrap.py:529-533
    flush()
    channel.send(INIT_FAILED, json.dumps([error, error_log(error)]).encode())
    sys.exit(1)


LOADED_FILES = None  # set by main: hot reload watches what was loaded


def report_loaded(channel):
    if LOADED_FILES is not None:
        files = LOADED_FILES.new()
        if files:
            channel.send(LOADED, json.dumps(files).encode())


def serve(channel, handler):
    loads, environ = json.loads, os.environ
    peak = PeakMemory().read
    while True:
        try:
            kind, payload = channel.recv()
        except (EOFError, OSError):
            return
        request_id, deadline_ms, client_context, event, *rest = loads(payload)
        lambda_logging.REQUEST_ID = request_id
        environ["_X_AMZN_TRACE_ID"] = rest[0] if rest and rest[0] else new_trace_id()  # bootstrap.py:433-438
        # the Cognito identity (Lambda-Runtime-Cognito-Identity): bootstrap.py:228-240, lambda_context.py:36-43
        identity = rest[1] if len(rest) > 1 else None
        try:
            context = LambdaContext(request_id, deadline_ms, client_context, identity)
            kind, body = marshal(handler(event, context))
        except Fault as fault:
            error = make_error(fault.message, fault.error_type, fault.trace, request_id)
            kind, body = FAILED, json.dumps([error, error_log(error), False]).encode()
        except Exception as exc:
            error = error_from_exception(exc, request_id)
            kind, body = FAILED, json.dumps([error, error_log(error), False]).encode()
        flush()
        if len(sys.modules) != LOADED_FILES.count:  # (a len(): the invocation imported nothing)
            report_loaded(channel)
        channel.reply(kind, body, peak())


def main():
    global FUNCTION_ARN, ENVIRONMENT, LOADED_FILES
    fd, handler_name, task_root, FUNCTION_ARN = sys.argv[1:5]
    imports = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
    extras = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}  # layers, debug
    del sys.argv[1:]
    ENVIRONMENT = read_environment()
    channel = Channel(int(fd))
    prepare(task_root, imports, extras.get("layers", ()))
    if extras.get("debug"):
        start_debugger(extras["debug"])
    LOADED_FILES = loaded_files.LoadedFiles(task_root, HERE)
    lambda_logging.setup_logging()
    handler = initialise(channel, handler_name)
    serve(channel, handler)


if __name__ == "__main__":
    main()
