"""The worker process for Python handlers: one Lambda execution environment.

Started by router as ``python -u python_worker.py FD HANDLER TASK_ROOT FUNCTION_ARN``. It
imports nothing from router (it may run on another interpreter, ``settings.python``).

FD is one end of a socketpair: router's frames travel there, never on stdout/stderr, which
stay the handler's own (router captures them as the invocation's log lines).

A frame is ``!IB`` (payload length, type) then the payload. Router sends ``I`` (invoke:
the JSON array ``[request_id, deadline_ms, client_context, event]``). The worker answers
``R`` (initialised), ``N`` (init failed: ``[error, log]``, then it exits), ``O`` (a JSON
result), ``B`` (a result that was bytes, sent raw, as Lambda does) or ``F`` (a function
error: ``[error, log, fatal]``). ``O``, ``B`` and ``F`` come right after an ``M`` frame (in
the same write): the process's peak resident memory in kB (VmHWM), for Max Memory Used
(router reads /proc itself when it is missing).

What it reproduces (AWS's Python runtime interface client, awslambdaric):
- the handler string ``path/module.function``, imported with ``path/`` as a package path,
  ``sys.path[0]`` and the cwd at LAMBDA_TASK_ROOT;
- the init errors Runtime.MalformedHandlerName, Runtime.BuiltInModuleConflict,
  Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound;
- the context object; the error payload ``{errorMessage, errorType, requestId, stackTrace}``;
- results as JSON with Decimal as a number, Runtime.MarshalError otherwise;
- the root logger's handler and format (``[LEVEL]\\ttime\\trequest id\\tmessage``).
"""

import decimal
import importlib
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


class Fault(Exception):
    """An error the runtime reports by type name (Runtime.*), not the user's exception."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


# ------------------------------------------------------------------------------- loading


def load_handler(handler):
    """The handler function named by ``path/module.function``, or raise a Fault."""
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


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, data):
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if client is not None else None


class LambdaContext:
    """What the handler gets as ``context`` (the attributes of awslambdaric's LambdaContext)."""

    def __init__(self, request_id, deadline_ms, client_context, identity):
        self.aws_request_id = request_id
        (self.log_group_name, self.log_stream_name, self.function_name, self.memory_limit_in_mb,
         self.function_version) = ENVIRONMENT  # fmt: skip
        self.invoked_function_arn = FUNCTION_ARN
        self.tenant_id = None
        self.client_context = ClientContext(client_context) if client_context is not None else None
        self.identity = CognitoIdentity(identity or {})
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


FUNCTION_ARN = ""
ENVIRONMENT = (None,) * 5  # the context's values from the environment, read once at start


def read_environment():
    env = os.environ
    return tuple(env.get(name) for name in (
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION"))  # fmt: skip


# ------------------------------------------------------------------------------- results

_TOKEN = secrets.token_hex(6)
_DECIMAL = re.compile(r'"\\u0000' + _TOKEN + r'([^"\\]*)\\u0000"')


def _default(value):
    if isinstance(value, decimal.Decimal):  # Lambda writes a Decimal as a JSON number
        if value.is_nan():
            return float("nan")
        return "\x00" + _TOKEN + str(value) + "\x00"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(default=_default)


def marshal(result):
    """``(frame type, bytes)`` for a handler's return value, or raise Runtime.MarshalError."""
    if isinstance(result, bytes):
        return RAW_RESULT, result
    try:
        text = _ENCODER.encode(result)
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
    frames = traceback.extract_tb(exc.__traceback__)
    while frames and os.path.abspath(frames[0].filename) == THIS_FILE:
        frames = frames[1:]
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def error_log(error):
    """The text Lambda logs for an error: ``[ERROR] Type: message`` and the traceback."""
    head = "[ERROR]"
    if error["errorType"]:
        head += " " + error["errorType"] + (":" if error["errorMessage"] else "")
    if error["errorMessage"]:
        head += " " + error["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        lines.extend(element.splitlines() if element else [""])
    return "\n".join(lines)


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


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = REQUEST_ID
        return True


def setup_logging():
    """Lambda's root logger handler: to stdout, ``[LEVEL]\\ttime\\trequest id\\tmessage``."""
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.terminator = ""
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    levels = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO,
              "WARN": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}  # fmt: skip
    if level in levels:
        root.setLevel(levels[level])


# ------------------------------------------------------------------------------- main


def prepare(task_root):
    here = os.path.dirname(THIS_FILE)
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace")


def initialise(channel, handler_name):
    try:
        handler = load_handler(handler_name)
    except Fault as fault:
        error = make_error(fault.message, fault.error_type, fault.trace)
    except Exception as exc:
        error = error_from_exception(exc)
    else:
        sys.stdout.flush()
        channel.send(READY)
        return handler
    sys.stdout.flush()
    sys.stderr.flush()
    channel.send(INIT_FAILED, json.dumps([error, error_log(error)]).encode())
    sys.exit(1)


def serve(channel, handler):
    global REQUEST_ID
    loads, flush_out, flush_err = json.loads, sys.stdout.flush, sys.stderr.flush
    peak = PeakMemory().read
    while True:
        try:
            kind, payload = channel.recv()
        except (EOFError, OSError):
            return
        request_id, deadline_ms, client_context, event = loads(payload)
        REQUEST_ID = request_id
        context = LambdaContext(request_id, deadline_ms, client_context, None)
        try:
            kind, body = marshal(handler(event, context))
        except Fault as fault:
            error = make_error(fault.message, fault.error_type, fault.trace, request_id)
            kind, body = FAILED, json.dumps([error, error_log(error), False]).encode()
        except Exception as exc:
            error = error_from_exception(exc, request_id)
            kind, body = FAILED, json.dumps([error, error_log(error), False]).encode()
        flush_out()
        flush_err()
        channel.reply(kind, body, peak())


def main():
    global FUNCTION_ARN, ENVIRONMENT
    fd, handler_name, task_root, FUNCTION_ARN = sys.argv[1:5]
    ENVIRONMENT = read_environment()
    channel = Channel(int(fd))
    prepare(task_root)
    setup_logging()
    handler = initialise(channel, handler_name)
    serve(channel, handler)


if __name__ == "__main__":
    main()
