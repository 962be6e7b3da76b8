"""An invocation's log: the worker's stdout/stderr split into lines, framed as Lambda frames
them (START / END / REPORT), with error logs cut at 256 KB.

The raw format is CloudWatch's: ``REPORT RequestId: ID\\tDuration: 1.23 ms\\tBilled Duration:
2 ms\\tMemory Size: 128 MB\\tMax Memory Used: 40 MB\\tInit Duration: 120.00 ms`` (tabs between
the fields; the console shows them as spaces). Init Duration only on a cold start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime

# "Lambda will log the first 256 KB of the error object. For a larger error object, AWS
# Lambda truncates the log and displays the text Truncated by Lambda next to the error object."
ERROR_LOG_LIMIT = 256 * 1024
TRUNCATED = "Truncated by Lambda"

OnLog = Callable[[str, str], None]


class LogSink:
    """Lines from one worker's output pipe. ``feed`` splits bytes into lines, each one goes to
    ``lines`` (the collection in progress) and to ``on_log(function, line)``."""

    __slots__ = ("function", "on_log", "lines", "_partial")

    def __init__(self, function: str, on_log: OnLog | None) -> None:
        self.function = function
        self.on_log = on_log
        self.lines: list[str] = []
        # the pieces of a line not ended yet, joined once when its newline arrives: adding each
        # piece to the one before copied the line again per read (quadratic in its length)
        self._partial: list[bytes] = []

    def feed(self, data: bytes) -> None:
        end = data.rfind(b"\n")
        if end < 0:
            if data:
                self._partial.append(data)
            return
        if self._partial:
            self._partial.append(data[:end])
            complete, self._partial = b"".join(self._partial), []
        else:
            complete = data[:end]
        for raw in complete.split(b"\n"):
            self.emit(raw.decode("utf-8", "replace"))
        if end + 1 < len(data):
            self._partial.append(data[end + 1 :])

    def flush(self) -> None:
        """A last line without its newline is a line too (``process.stdout.write('x')``)."""
        if self._partial:
            raw, self._partial = b"".join(self._partial), []
            self.emit(raw.decode("utf-8", "replace"))

    def emit(self, line: str) -> None:
        self.lines.append(line)
        if self.on_log is not None:
            self.on_log(self.function, line)

    def emit_text(self, text: str) -> None:
        for line in text.split("\n"):
            self.emit(line)

    def take(self) -> list[str]:
        lines, self.lines = self.lines, []
        return lines


def truncate_error(text: str) -> str:
    """An error log over 256 KB (UTF-8) cut there and marked ``Truncated by Lambda``."""
    if len(text) * 4 <= ERROR_LOG_LIMIT:  # fast path: cannot be over the limit
        return text
    data = text.encode("utf-8")
    if len(data) <= ERROR_LOG_LIMIT:
        return text
    return data[:ERROR_LOG_LIMIT].decode("utf-8", "ignore") + " " + TRUNCATED


def billed_ms(duration_ms: float) -> int:
    """Lambda bills in 1 ms steps, rounding up."""
    return max(1, math.ceil(duration_ms))


def start_line(request_id: str) -> str:
    return f"START RequestId: {request_id} Version: $LATEST"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str, duration_ms: float, billed: int, memory_mb: int, max_used_mb: int,
    init_ms: float | None,
) -> str:  # fmt: skip
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {max_used_mb} MB"
    )
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    return line


def init_report_line(init_ms: float, status: str, error_type: str | None) -> str:
    line = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: {status}"
    return line + (f"\tError Type: {error_type}" if error_type else "")


def timeout_line(request_id: str, timeout: float) -> str:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"{now} {request_id} Task timed out after {timeout:.2f} seconds"


def exit_lines(request_id: str, message: str, error_type: str) -> list[str]:
    """What Lambda logs when the runtime dies: ``RequestId: ID Error: ...`` and the type."""
    return [f"RequestId: {request_id} Error: {message}", error_type]


# With the JSON log format Lambda writes its own lines as platform records, e.g. (CloudWatch):
# {"time":"…","type":"platform.start","record":{"requestId":"…","functionArn":"…","version":"$LATEST"}}
# {"time":"…","type":"platform.report","record":{"requestId":"…","metrics":{"durationMs":1233.96,
#  "billedDurationMs":1234,"memorySizeMB":256,"maxMemoryUsedMB":123,"initDurationMs":463.512},"status":"success"}}
# and no END line; the records' schema is the Telemetry API's ("Lambda Telemetry API Event schema
# reference": platform.start, platform.report, platform.initReport; Status success|failure|error|timeout).
# They are INFO-level system logs: SystemLogLevel WARN drops them ("Log-level filtering").
_SYSTEM_LEVELS = {"DEBUG": 0, "INFO": 1, "WARN": 2}
_STATUS = {"ok": "success", "timeout": "timeout"}  # any other failure: "error" (with errorType)


class PlatformLines:
    """Lambda's own lines of a function's log, in its log format: text (START, END, REPORT,
    INIT_REPORT) or, with ``format: JSON``, platform records filtered by ``system_level``."""

    __slots__ = ("json", "quiet", "arn")

    def __init__(self, log_format: str, system_level: str | None, arn: str) -> None:
        self.json = log_format == "JSON"
        self.quiet = self.json and _SYSTEM_LEVELS[system_level or "INFO"] > _SYSTEM_LEVELS["INFO"]
        self.arn = arn

    def start(self, request_id: str) -> list[str]:
        if not self.json:
            return [start_line(request_id)]
        return self._record("platform.start", {"requestId": request_id, "functionArn": self.arn, "version": "$LATEST"})

    def end(self, request_id: str) -> list[str]:
        return [] if self.json else [end_line(request_id)]

    def report(self, request_id: str, duration_ms: float, billed: int, memory_mb: int, max_used_mb: int,
               init_ms: float | None, status: str = "ok", error_type: str | None = None) -> list[str]:  # fmt: skip
        if not self.json:
            return [report_line(request_id, duration_ms, billed, memory_mb, max_used_mb, init_ms)]
        metrics: dict[str, float] = {"durationMs": round(duration_ms, 3), "billedDurationMs": billed,
                                     "memorySizeMB": memory_mb, "maxMemoryUsedMB": max_used_mb}  # fmt: skip
        if init_ms is not None:
            metrics["initDurationMs"] = round(init_ms, 3)
        record: dict[str, object] = {"requestId": request_id, "metrics": metrics,
                                     "status": _STATUS.get(status, "error")}  # fmt: skip
        if status != "ok" and error_type:
            record["errorType"] = error_type
        return self._record("platform.report", record)

    def init_report(self, init_ms: float, status: str, error_type: str | None) -> list[str]:
        if not self.json:
            return [init_report_line(init_ms, status, error_type)]
        record: dict[str, object] = {"initializationType": "on-demand", "phase": "init", "status": status,
                                     "metrics": {"durationMs": round(init_ms, 3)}}  # fmt: skip
        if error_type:
            record["errorType"] = error_type
        return self._record("platform.initReport", record)

    def _record(self, kind: str, record: dict[str, object]) -> list[str]:
        if self.quiet:
            return []
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return [json.dumps({"time": now, "type": kind, "record": record}, separators=(",", ":"))]
