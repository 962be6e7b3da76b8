"""Draining a worker's output is linear in the length of a line (issue 17): one 20 MB line
with no newline in between arrives whole, within the function's timeout."""

from __future__ import annotations

from pathlib import Path

from router.runtimes.logs import LogSink

from .conftest import Factory

LINE = 20 * 1024 * 1024

HANDLERS = f"""
import sys

def one_line(event, context):
    sys.stdout.write("x" * {LINE} + "\\n")
    sys.stdout.flush()
    return "done"

def no_newline(event, context):
    sys.stdout.write("y" * {LINE})
    sys.stdout.flush()
    return "done"
"""


def test_a_20_mb_line_reaches_the_log_whole(runtimes: Factory, tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text(HANDLERS)
    h = runtimes("one: {handler: big.one_line, timeout: 1}\nopen: {handler: big.no_newline, timeout: 1}", code=tmp_path)
    for function, char in (("one", "x"), ("open", "y")):
        outcome = h.invoke(function, {})
        assert outcome.ok, outcome.error
        assert outcome.result == "done"
        [line] = [line for line in outcome.logs.split("\n") if line.startswith(char)]
        assert line == char * LINE


def test_the_sink_joins_a_line_fed_in_many_pieces() -> None:
    seen: list[str] = []
    sink = LogSink("f", lambda _f, line: seen.append(line))
    for _ in range(1000):
        sink.feed(b"ab")
    sink.feed(b"c\nd")
    sink.feed(b"\n\ne")
    assert seen == ["ab" * 1000 + "c", "d", ""]
    sink.flush()
    assert seen[-1] == "e" and sink.take() == seen
