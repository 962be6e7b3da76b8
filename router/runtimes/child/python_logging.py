"""Logging of AWS's Python runtime interface client, for python_worker.py (which loads this
file under a private name: it is never importable by the handler). Citations ``file.py:N``
are lines of awslambdaric 4.2.2 (the PyPI wheel)."""

import json
import logging
import os
import sys
import time
import traceback

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
