"""router.runtimes.logs and the platform error payloads of router.runtimes.base."""

from __future__ import annotations

import signal

from router.runtimes.base import describe_exit, exit_error, timeout_error
from router.runtimes.logs import ERROR_LOG_LIMIT, TRUNCATED, LogSink, billed_ms, report_line, truncate_error


def test_sink_splits_lines_across_chunks_and_reports_each() -> None:
    seen: list[tuple[str, str]] = []
    sink = LogSink("fn", lambda f, line: seen.append((f, line)))
    sink.feed(b"one\ntw")
    sink.feed(b"o\nthr")
    assert sink.lines == ["one", "two"]
    sink.flush()
    assert sink.take() == ["one", "two", "thr"] and sink.lines == []
    assert seen == [("fn", "one"), ("fn", "two"), ("fn", "thr")]
    sink.feed("é\n".encode()[:1])  # half a character stays until the rest arrives
    sink.feed("é\n".encode()[1:])
    assert sink.take() == ["é"]


def test_truncate_error() -> None:
    short = "x" * 1000
    assert truncate_error(short) == short
    exact = "x" * ERROR_LOG_LIMIT
    assert truncate_error(exact) == exact
    cut = truncate_error("é" * ERROR_LOG_LIMIT)  # 2 bytes each: cut on a character boundary
    assert cut.endswith(" " + TRUNCATED)
    assert len(cut.removesuffix(" " + TRUNCATED).encode()) == ERROR_LOG_LIMIT


def test_report_line_and_billing() -> None:
    assert billed_ms(0.2) == 1 and billed_ms(1.0) == 1 and billed_ms(1.01) == 2
    assert report_line("id", 1.234, 2, 128, 40, None) == (
        "REPORT RequestId: id\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 40 MB"
    )
    assert report_line("id", 1.0, 1, 128, 40, 120.0).endswith("\tInit Duration: 120.00 ms")


def test_platform_errors() -> None:
    assert timeout_error("id", 3) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: id Error: Task timed out after 3.00 seconds",
    }
    assert exit_error("id", -9, oom=True)["errorType"] == "Runtime.OutOfMemory"
    assert exit_error("id", 1) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: id Error: Runtime exited with error: exit status 1",
    }
    assert describe_exit(0) == "Runtime exited without providing a reason"
    assert describe_exit(-signal.SIGKILL) == "Runtime exited with error: signal: killed"
    assert describe_exit(-signal.SIGABRT) == "Runtime exited with error: signal: aborted"
    assert describe_exit(-signal.SIGUSR1) == "Runtime exited with error: signal: SIGUSR1"
