"""`router cron EXPR [-n N] [--from ISO] [--tz ZONE]`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result

from router.cli import main
from router.cli.cron import command


def run(*args: str) -> Result:
    return CliRunner().invoke(command, list(args))


def test_default_prints_five_times_after_from_exclusive() -> None:
    result = run("cron(0 12 * * ? *)", "--from", "2026-01-01T12:00:00Z")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2026-01-02T12:00:00+00:00",
        "2026-01-03T12:00:00+00:00",
        "2026-01-04T12:00:00+00:00",
        "2026-01-05T12:00:00+00:00",
        "2026-01-06T12:00:00+00:00",
    ]


def test_through_the_router_group() -> None:
    result = CliRunner().invoke(main, ["cron", "cron(15 10 ? * 6L 2019-2022)", "-n", "2", "--from", "2022-11-01"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["2022-11-25T10:15:00+00:00", "2022-12-30T10:15:00+00:00"]


def test_tz_and_a_naive_from_across_dst() -> None:
    # 2024-03-10: 02:30 does not exist in New York (skipped); 2024-11-03: 01:30 happens twice (fires once)
    result = run("cron(30 1,2 * * ? *)", "-n", "4", "--tz", "America/New_York", "--from", "2024-03-09T03:00")
    assert result.stdout.splitlines() == [
        "2024-03-10T01:30:00-05:00",
        "2024-03-11T01:30:00-04:00",
        "2024-03-11T02:30:00-04:00",
        "2024-03-12T01:30:00-04:00",
    ]
    result = run("cron(30 1 * * ? *)", "-n", "2", "--tz", "America/New_York", "--from", "2024-11-02T12:00")
    assert result.stdout.splitlines() == ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"]


def test_from_with_an_offset_is_converted_to_tz() -> None:
    result = run("cron(0 9 * * ? *)", "-n", "1", "--tz", "Asia/Tokyo", "--from", "2024-01-01T00:00:00+00:00")
    assert result.stdout.splitlines() == ["2024-01-02T09:00:00+09:00"]


def test_rate_counts_from_from() -> None:
    result = run("rate(5 minutes)", "-n", "3", "--from", "2024-01-01T10:02:17Z")
    assert result.stdout.splitlines() == [
        "2024-01-01T10:07:17+00:00",
        "2024-01-01T10:12:17+00:00",
        "2024-01-01T10:17:17+00:00",
    ]


def test_at_prints_one_time_then_stops() -> None:
    result = run("at(2024-05-01T09:00:00)", "--tz", "Europe/Paris", "--from", "2024-01-01")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["2024-05-01T09:00:00+02:00"]


def test_a_schedule_that_no_longer_fires_says_so_and_exits_0() -> None:
    result = run("at(2020-01-01T00:00:00)", "--from", "2024-01-01T00:00:00Z")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "router: at(2020-01-01T00:00:00) does not fire after 2024-01-01T00:00:00+00:00" in result.stderr


def test_default_from_is_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    result = run("cron(* * * * ? *)")
    assert result.exit_code == 0
    times = [datetime.fromisoformat(line) for line in result.stdout.splitlines()]
    assert len(times) == 5 and all(t.utcoffset() is not None for t in times)
    assert times[0] > before and times == sorted(times) and len(set(times)) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["cron(0 12 * * 1 *)"],
            "router: invalid schedule expression 'cron(0 12 * * 1 *)': "
            "day-of-month and day-of-week cannot both be specified; use ? in one",
        ),
        (["rate(5 minute)"], "use rate(5 minutes)"),
        (["cron(0 12 * * ? *)", "--tz", "Mars/Olympus"], "router: --tz: unknown time zone 'Mars/Olympus'"),
        (["cron(0 12 * * ? *)", "--from", "tomorrow"], "router: --from: 'tomorrow' is not an ISO 8601 date-time"),
        (["cron(0 12 * * ? *)", "-n", "0"], "Invalid value for '-n': 0 is not in the range x>=1"),
        ([], "Missing argument 'EXPR'"),
    ],
)
def test_user_errors_exit_2_without_a_traceback(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
