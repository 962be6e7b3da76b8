#!/usr/bin/env python3
"""Chaos: ``router run`` killed with SIGKILL at random moments under a mixed load, restarted
each time; does every accepted event end exactly once?

    .venv/bin/python bench/chaos.py [--kills 10] [--seed N] [--flaky 0.2] [--rate 20]

All on loopback, in a temporary folder, with the default ``catch_up`` (false):

- load, without a pause, while the daemon runs and while it is down: a thread writes a new
  file into the watched folder every ``1/rate`` seconds (an S3 trigger: each file must fire one
  event, written while router ran or not); another calls Lambda's ``Invoke`` with
  ``InvocationType=Event`` through boto3 on the embedded AWS at the same rate (accepted when
  it answered 202; a call the kill cut short is not accepted, but may still be delivered);
- the function sleeps 0-200 ms and fails at random (``--flaky``); async retries 2, 1 s apart,
  failures after them go to an on-failure ``dir`` destination (accounted, not lost);
- ``--kills`` times: the daemon runs for a random 0.5-3 s after ``router ready``, then
  ``kill -9`` (its workers die with it); it starts again at once;
- then the load stops, the last daemon drains everything (until every accepted event is
  delivered or failed, at most ``--drain`` seconds) and stops with SIGINT.

The handler appends ``start|done|fail KEY REQUEST_ID`` lines to a log (O_APPEND). Printed:
accepted, delivered (keys with a ``done``), failed to the on-failure destination, lost
(accepted, neither delivered nor failed: must be 0), duplicated (keys done more than once),
and of these how many were in flight at a kill (their handler had started, router had not
recorded the end: the event's row was still in the queue once the daemon was dead; Lambda's
at-least-once, expected) and how many were not (must be 0).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# bench/http.py would shadow the standard library's http package that boto3 imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import boto3  # noqa: E402
from botocore.config import Config as BotoConfig  # noqa: E402

CONFIG = """
version: 1
settings: {{state_dir: state, aws: {{port: {aws_port}}}, http: {{port: 0}}}}
functions:
  work:
    handler: work.handler
    timeout: 5
    concurrency: 4
    environment: {{CHAOS_LOG: {log}, CHAOS_FLAKY: "{flaky}"}}
    async: {{retries: 2, retry_delays: [1, 1], on_failure: {{dir: failed}}}}
triggers:
  - {{name: drops, function: work, s3: {{dir: drop, bucket: drops}}}}
"""

HANDLER = '''
import os, random, time

LOG = os.environ["CHAOS_LOG"]
FLAKY = float(os.environ["CHAOS_FLAKY"])


def _note(line):
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)


def handler(event, context):
    if "Records" in event:
        key = "s3:" + event["Records"][0]["s3"]["object"]["key"]
    else:
        key = "invoke:" + event["id"]
    _note(f"start {key} {context.aws_request_id}")
    time.sleep(random.uniform(0, 0.2))
    if random.random() < FLAKY:
        _note(f"fail {key} {context.aws_request_id}")
        raise RuntimeError("flaky")
    _note(f"done {key} {context.aws_request_id}")
    return key
'''

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Load:
    """The two producers and what each had accepted."""

    folder: Path
    endpoint: str
    interval: float
    files: list[str] = field(default_factory=list)  # keys written (every one must fire)
    invokes: list[str] = field(default_factory=list)  # ids answered 202
    cut: list[str] = field(default_factory=list)  # ids whose call failed (daemon down or killed)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._drop, daemon=True), threading.Thread(target=self._invoke, daemon=True)]
        for t in threads:
            t.start()
        return threads

    def _drop(self) -> None:
        n = 0
        while not self.stop.wait(self.interval):
            n += 1
            key = f"f-{n:05d}.txt"
            (self.folder / key).write_bytes(f"file {n}\n".encode())
            self.files.append(key)

    def _invoke(self) -> None:
        config = BotoConfig(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=10)
        client = boto3.client("lambda", endpoint_url=self.endpoint, config=config, **_creds())
        n = 0
        while not self.stop.wait(self.interval):
            n += 1
            ident = f"i-{n:05d}"
            try:
                out = client.invoke(FunctionName="work", InvocationType="Event", Payload=json.dumps({"id": ident}))
            except Exception:  # noqa: BLE001 - down, or killed mid-call: not accepted
                self.cut.append(ident)
                continue
            (self.invokes if out["StatusCode"] == 202 else self.cut).append(ident)
        client.close()


def _creds() -> dict[str, str]:
    return {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class Daemon:
    def __init__(self, project: Path, log: Path) -> None:
        self.project = project
        self.out = open(log, "ab")  # noqa: SIM115 - kept for the daemon's life
        self.proc = subprocess.Popen([sys.executable, "-m", "router", "run", "triggers.yaml"], cwd=project,
                                     stdout=self.out, stderr=subprocess.STDOUT, env={**os.environ, **ENV})  # fmt: skip
        self.log = log

    def wait_ready(self, timeout: float = 60) -> float:
        t0 = time.monotonic()
        while b"router ready" not in self.log.read_bytes().split(b"=== start")[-1]:
            if self.proc.poll() is not None or time.monotonic() - t0 > timeout:
                raise RuntimeError("router did not start:\n" + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.02)
        return time.monotonic() - t0

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.out.close()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(60)
        finally:
            self.out.close()


def start(project: Path, log: Path, n: int) -> Daemon:
    with open(log, "ab") as f:
        f.write(f"\n=== start {n}\n".encode())
    return Daemon(project, log)


def _lines(log: Path) -> list[tuple[str, str, str]]:
    """(kind, key, request id) of each line: start, done or fail."""
    return [(parts[0], parts[1], parts[2]) for line in (log.read_text().splitlines() if log.exists() else [])
            if len(parts := line.split()) >= 3]  # fmt: skip


def in_flight(project: Path, log: Path) -> set[str]:
    """After a kill: the keys whose last attempt had started (and maybe ended in the handler)
    while router had not yet recorded its end (the event's row still in the queue, not waiting
    for a retry): they may run again. (An async event's request id is its queue entry's id.)"""
    with contextlib.closing(sqlite3.connect(project / "state" / "router.sqlite3")) as conn:
        open_ids = {row[0] for row in conn.execute("SELECT id FROM queue")}
    last = {rid: (kind, key) for kind, key, rid in _lines(log)}  # each request's latest line
    return {key for rid, (kind, key) in last.items() if rid in open_ids and kind != "fail"}


def failed_keys(folder: Path) -> list[str]:
    out = []
    for path in folder.glob("*.json") if folder.exists() else []:
        payload = json.loads(path.read_text())["requestPayload"]
        out.append("s3:" + payload["Records"][0]["s3"]["object"]["key"] if "Records" in payload
                   else "invoke:" + payload["id"])  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--flaky", type=float, default=0.2, help="share of attempts that fail (0.2)")
    parser.add_argument("--rate", type=float, default=20, help="files and invokes per second, each (20)")
    parser.add_argument("--drain", type=float, default=120, help="seconds the last daemon may take to finish")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="router-chaos-"))
    log, daemon_log = tmp / "deliveries.log", tmp / "daemon.log"
    (tmp / "drop").mkdir()
    (tmp / "work.py").write_text(HANDLER)
    aws_port = free_port()
    (tmp / "triggers.yaml").write_text(CONFIG.format(aws_port=aws_port, log=log, flaky=args.flaky))
    print(f"chaos: {args.kills} kills, seed {seed}, flaky {args.flaky}, {args.rate:g} files/s and "
          f"{args.rate:g} Invoke(Event)/s, catch_up false; folder {tmp}", flush=True)  # fmt: skip
    running_at_kill: set[str] = set()
    t0 = time.monotonic()
    daemon = start(tmp, daemon_log, 0)
    daemon.wait_ready()
    load = Load(tmp / "drop", f"http://127.0.0.1:{aws_port}", 1 / args.rate)
    threads = load.start()
    try:
        for n in range(1, args.kills + 1):
            time.sleep(rng.uniform(0.5, 3.0))
            daemon.kill()
            running = in_flight(tmp, log) - running_at_kill
            running_at_kill |= running
            print(f"  kill {n:2d} at {time.monotonic() - t0:5.1f} s: {len(running)} event(s) in flight", flush=True)
            daemon = start(tmp, daemon_log, n)
            daemon.wait_ready()
    finally:
        load.stop.set()
        for t in threads:
            t.join()
    accepted = {"s3:" + k for k in load.files} | {"invoke:" + i for i in load.invokes}
    failed = failed_keys(tmp / "failed")
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline:
        done = _done(log)
        if accepted <= set(done) | set(failed):
            break
        time.sleep(0.5)
        failed = failed_keys(tmp / "failed")
    time.sleep(2)  # anything still arriving (a duplicate) is counted too
    code = daemon.stop()
    done, failed = _done(log), failed_keys(tmp / "failed")
    report(accepted, done, failed, running_at_kill, load, time.monotonic() - t0, code)
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _done(log: Path) -> Counter[str]:
    return Counter(key for kind, key, _ in _lines(log) if kind == "done")


def report(accepted: set[str], done: Counter[str], failed: list[str], running_at_kill: set[str], load: Load,
           elapsed: float, code: int) -> None:  # fmt: skip
    delivered = set(done)
    ended = delivered | set(failed)
    lost = accepted - ended
    dup = {k for k, n in done.items() if n > 1} | {k for k, n in Counter(failed).items() if n > 1}
    dup |= delivered & set(failed)
    extra = ended - accepted
    cut_delivered = {k for k in extra if k.startswith("invoke:")}
    print(f"\naccepted     {len(accepted):6d}  ({len(load.files)} files, {len(load.invokes)} Invoke(Event) 202s; "
          f"{len(load.cut)} calls refused or cut by a kill)")  # fmt: skip
    print(f"delivered    {len(delivered & accepted):6d}")
    print(f"failed       {len(set(failed) & accepted):6d}  (to the on-failure destination after 3 attempts)")
    print(f"lost         {len(lost):6d}  {'(must be 0) ' + ', '.join(sorted(lost)[:20]) if lost else ''}")
    print(f"duplicated   {len(dup):6d}  ({len(dup & running_at_kill)} in flight at a kill, "
          f"{len(dup - running_at_kill)} not: must be 0 {', '.join(sorted(dup - running_at_kill)[:10])})")
    print(f"also ended   {len(extra):6d}  (Invoke calls cut by a kill after the event was committed: "
          f"{len(cut_delivered)}; other: {len(extra - cut_delivered)})")
    print(f"elapsed      {elapsed:6.1f} s; last daemon exit code {code}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
