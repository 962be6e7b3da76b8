"""`router run` on the demo config: everything starts, and Ctrl-C stops everything."""

from __future__ import annotations

import signal
from pathlib import Path

import boto3
import psutil
import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_demo_serves_embedded_aws_and_stops_cleanly(demo: Path, daemon: type, sig: int) -> None:
    d = daemon(demo / "triggers.yaml")
    endpoint = d.wait_for(r"AWS endpoint\s+(http://127\.0\.0\.1:\d+)").group(1)
    d.wait_for(r"^router ready")
    banner = "\n".join(d.lines)
    for needle in ("/hello/{name}", "drop/uploads", "cron(0 3 * * ? *)", "orders", "function        greet"):
        assert needle in banner, banner

    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    assert ddb.list_tables()["TableNames"] == ["orders"]
    assert ddb.scan(TableName="orders")["Count"] == 3  # the seed file
    assert "uploads" in [b["Name"] for b in boto3.client("s3", endpoint_url=endpoint).list_buckets()["Buckets"]]
    ddb.close()

    children = psutil.Process(d.proc.pid).children(recursive=True)
    assert d.stop(sig) == 0, "\n".join(d.lines)
    assert "router stopped" in d.lines[-1]
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"workers left behind: {alive}"


def test_run_with_a_bad_config_exits_2_without_traceback(tmp_path: Path, daemon: type) -> None:
    (tmp_path / "triggers.yaml").write_text("functions:\n  f: {handler: app.handler, timeout: 0}\n")
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    d = daemon(tmp_path / "triggers.yaml")
    assert d.proc.wait(60) == 2
    d.stop()
    out = "\n".join(d.lines)
    assert "triggers.yaml:2:" in out and "functions.f.timeout" in out and "Traceback" not in out


def test_run_with_a_missing_handler_file_warns_and_serves_the_rest(tmp_path: Path, daemon: type) -> None:
    """A handler that cannot load is Lambda's init error per invocation (issue 19), not a config
    error: the daemon starts and warns (right after its ready line: issue 18)."""
    (tmp_path / "triggers.yaml").write_text(
        "settings: {http: {port: 0}, aws: {port: 0}}\nfunctions:\n  f: {handler: nope.handler}\n")
    d = daemon(tmp_path / "triggers.yaml")
    d.wait_for(r"router ready")
    d.wait_for(r"^warning: function f:.*nope")
    assert d.stop(signal.SIGTERM) == 0


def test_port_in_use_is_a_clear_error(demo: Path, daemon: type) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        text = (demo / "triggers.yaml").read_text().replace("aws: {endpoint: embedded, port: 0}",
                                                           f"aws: {{endpoint: embedded, port: {port}}}")
        (demo / "triggers.yaml").write_text(text)
        d = daemon(demo / "triggers.yaml")
        d.proc.wait(60)
    out = "\n".join(d.lines)
    assert d.proc.returncode == 2, out
    assert f"cannot start the embedded AWS on 127.0.0.1:{port}" in out and "Traceback" not in out


def test_unreachable_external_endpoint_is_a_clear_error(demo: Path, daemon: type) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = (demo / "triggers.yaml").read_text().replace(
        "aws: {endpoint: embedded, port: 0}", f"aws: {{endpoint: 'http://127.0.0.1:{port}'}}"
    )
    (demo / "triggers.yaml").write_text(text)
    d = daemon(demo / "triggers.yaml")
    d.proc.wait(120)
    out = "\n".join(d.lines)
    assert d.proc.returncode == 2, out
    assert f"cannot create the config's resources at http://127.0.0.1:{port}" in out and "Traceback" not in out
