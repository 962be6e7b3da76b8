"""One worker process: its private channel, its output pipe, its memory and its exit.

- Frames travel on a socketpair passed to the child as an extra fd (``!IB`` length and type,
  then the payload), never on stdout/stderr. Those two share one pipe (so their relative
  order is kept) whose lines become the invocation's log.
- The child writes its output before it sends a reply frame, so when the reply arrives the
  parent drains the pipe (a non-blocking read until EAGAIN): every line the handler printed
  is in this invocation's log, however the two fds were scheduled.
- The worker runs in its own session: killing it kills what its handler started, too.
- On Linux a keeper (``reaper.py``) stands between router and the worker: a child subreaper that
  gets SIGTERM when router dies (``PR_SET_PDEATHSIG``), so the worker and everything its
  handler started (a double fork and ``setsid`` included) die with router, even after
  ``kill -9`` of router and while the handler spins. Router ends such a worker by SIGTERM to
  the keeper, which SIGKILLs the lot. Its memory is read from the worker, the keeper's child.
- Its exit is seen through a pidfd (Linux); elsewhere by polling once the channel closes.
- While invocations run, one timer per function (:class:`Watchdog`) wakes every ``SAMPLE_S``
  and at the earliest deadline to check the deadlines and the resident memory of its busy
  workers (not a timer per invocation, set and cancelled each time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from ..errors import StartupError
from .logs import LogSink
from .memory import MemoryProbe

log = logging.getLogger(__name__)

HEADER = struct.Struct("!IB")
INVOKE = ord("I")
MEMORY = ord("M")  # the worker's peak resident memory (kB), sent just before its reply
LOADED = ord("L")  # files of user modules the worker loaded since it last said (a JSON list)
OPENED = ord("P")  # a streaming handler's response opened: its content type (child/node_stream.js)
PIECE = ord("C")  # a piece of it, as written; the reply E (or F) ends it
SAMPLE_S = 0.05  # memory/deadline check interval while an invocation runs
HOLD_RECHECK_S = 1.0  # a call held past its deadline by an attached debugger: looked at again this often
EXIT_POLL_S = 0.01  # where no pidfd: how often to look for the exit once the channel closed
DRAIN_READS = 64  # at most 4 MB of output read at once when a reply arrives
REAPER = Path(__file__).with_name("reaper.py")
KEEPER = sys.platform == "linux" and REAPER.is_file()  # prctl: PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER


class Reply(NamedTuple):
    """A frame from the worker (kind R, N, O, B, E, F), or what happened instead:
    ``timeout``, ``oom`` (killed over its memory cap) or ``exit`` (with ``returncode``)."""

    kind: str
    payload: bytes = b""
    returncode: int | None = None


def invoke_frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload), INVOKE) + payload


class Watchdog:
    """Deadlines and memory caps of the busy workers of one function, on one timer. The
    timer fires at the earliest deadline, and at least every ``SAMPLE_S`` while a worker
    is busy; starting an invocation only moves it when its deadline comes earlier."""

    def __init__(self) -> None:
        self._busy: set[Worker] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._at = 0.0

    def add(self, worker: Worker) -> None:
        self._busy.add(worker)
        if self._timer is None:
            self._schedule(worker, min(worker.deadline, worker.loop.time() + SAMPLE_S))
        elif worker.deadline < self._at:
            self._timer.cancel()
            self._schedule(worker, worker.deadline)

    def discard(self, worker: Worker) -> None:
        self._busy.discard(worker)  # the timer, if no one is left, fires once more and stops

    def _schedule(self, worker: Worker, at: float) -> None:
        self._at = at
        self._timer = worker.loop.call_at(at, self._tick, worker.loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        for worker in [w for w in self._busy if w.check(now)]:
            self._busy.discard(worker)  # its invocation has ended: timed out or over memory
        if self._busy:
            at = min(min(w.deadline for w in self._busy), now + SAMPLE_S)
            self._at = at
            self._timer = loop.call_at(at, self._tick, loop)


class _Channel(asyncio.Protocol):
    def __init__(self, on_frame: Callable[[int, bytes], None], on_lost: Callable[[], None]) -> None:
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._buf = bytearray()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        start = 0
        while len(buf) - start >= 5:
            length, kind = HEADER.unpack_from(buf, start)
            end = start + 5 + length
            if len(buf) < end:
                break
            self._on_frame(kind, bytes(buf[start + 5 : end]))
            start = end
        del buf[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost()


class Worker:
    """A worker process of one function. ``start`` spawns it and waits for its init;
    ``call`` sends one invocation and waits for the reply, the deadline or the exit."""

    def __init__(
        self, *, name: str, argv: Callable[[int], list[str]], env: Mapping[str, str], cwd: Path,
        cap_kb: int, sink: LogSink, on_exit: Callable[[Worker], None],
        watchdog: Watchdog | None = None, on_loaded: Callable[[list[str]], None] | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self._on_loaded = on_loaded
        self.sink = sink
        self.cap_kb = cap_kb
        self.generation = 0
        self.init_ms = 0.0  # spawn to ready, measured by the pool
        self.last_used = 0.0
        self.returncode: int | None = None
        self.killed = False
        self._argv, self._env, self._cwd, self._on_exit = argv, env, cwd, on_exit
        self.loop = self._loop = asyncio.get_running_loop()
        self._watchdog = watchdog or Watchdog()
        self.deadline = 0.0  # of the call in progress (loop time)
        # a debugged function's: True while a debugger is attached (the deadline is then not enforced)
        self.hold: Callable[[], bool] | None = None
        self.held = False  # the call in progress went past its deadline with a debugger attached
        # the call in progress's streamed response: (kind, payload) of each P and C frame, as they arrive
        self.on_stream: Callable[[int, bytes], None] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._transport: asyncio.Transport | None = None
        self._probe: MemoryProbe | None = None
        self._pidfd: int | None = None
        self._log_fd: int | None = None
        self._reply: asyncio.Future[Reply] | None = None
        self._reported_kb: int | None = None  # the peak memory the worker sent with its reply
        self._exited: asyncio.Future[None] = self._loop.create_future()

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc is not None else 0

    @property
    def alive(self) -> bool:
        return self.returncode is None and not self.killed

    # -------------------------------------------------------------------------- spawning

    async def start(self, limit_s: float) -> Reply:
        """Spawn the process and wait for its first frame: R (ready) or N (init failed)."""
        deadline = self._loop.time() + limit_s
        parent, child = socket.socketpair()
        read_fd, write_fd = os.pipe()
        try:
            argv, env = self._argv(child.fileno()), dict(self._env)
            if KEEPER:
                # LC_CTYPE as given: the keeper's Python may coerce a C locale into its environment
                env["ROUTER_WORKER_ARGV"] = "\x1f".join(argv)
                env["ROUTER_WORKER_LC_CTYPE"] = env.get("LC_CTYPE", "-")
                argv = [sys.executable, "-I", "-S", str(REAPER), str(os.getpid()), str(child.fileno())]
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                pass_fds=(child.fileno(),), env=env, cwd=self._cwd, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            parent.close()
            os.close(read_fd)
            raise StartupError(f"cannot start a worker for function {self.name!r}: {exc}") from None
        finally:
            child.close()
            os.close(write_fd)
        os.set_blocking(read_fd, False)
        self._log_fd = read_fd
        self._loop.add_reader(read_fd, self._read_output)
        self._probe = MemoryProbe(self._proc.pid, keeper=KEEPER)
        self._watch_exit()
        channel = _Channel(self._frame, self._channel_lost)
        parent.setblocking(False)
        # the reply is awaited before the channel reads: a loop may deliver the R frame before
        # connect_accepted_socket returns (uvloop does, when the child is quick), and a frame
        # with no one waiting for it is dropped
        ready: asyncio.Future[Reply] = self._loop.create_future()
        self._reply = ready
        transport, _ = await self._loop.connect_accepted_socket(lambda: channel, parent)
        self._transport = transport
        return await self.call(None, deadline, ready)

    def _watch_exit(self) -> None:
        assert self._proc is not None
        try:
            self._pidfd = os.pidfd_open(self._proc.pid)
        except (AttributeError, OSError):  # not Linux: poll once the channel closes
            return
        self._loop.add_reader(self._pidfd, self._exit_seen)

    # -------------------------------------------------------------------------- calling

    async def call(self, frame: bytes | None, deadline: float,
                   fut: asyncio.Future[Reply] | None = None) -> Reply:  # fmt: skip
        """Send ``frame`` (None: just wait, for init) and wait for the reply (into ``fut``
        when the caller installed it already); a timeout or going over the memory cap kills
        the worker. Cancelling the caller kills it too."""
        if not self.alive:
            return Reply("exit", returncode=self.returncode)
        if fut is None:
            fut = self._loop.create_future()
        self._reply = fut
        self._reported_kb = None
        self.deadline = deadline
        self.held = False
        if frame is not None:
            assert self._transport is not None
            self._transport.write(frame)
        self._watchdog.add(self)
        try:
            return await fut
        except asyncio.CancelledError:
            self.kill()
            raise
        finally:
            self._watchdog.discard(self)
            self._reply = None
            self.drain()
            self.sink.flush()

    def _frame(self, kind: int, payload: bytes) -> None:
        if kind == MEMORY:
            try:  # (not contextlib.suppress: once per invocation, it costs a microsecond)
                self._reported_kb = int(payload)
            except ValueError:
                pass
            return
        if kind == LOADED:
            self._loaded(payload)
            return
        if kind == PIECE or kind == OPENED:
            if self.on_stream is not None and self._reply is not None and not self._reply.done():
                self.on_stream(kind, payload)
            return
        fut = self._reply
        if fut is not None and not fut.done():
            fut.set_result(Reply(chr(kind), payload))
        else:
            log.debug("worker %s of %s: unexpected frame %r", self.pid, self.name, chr(kind))

    def _loaded(self, payload: bytes) -> None:
        if self._on_loaded is None:
            return
        try:
            paths = json.loads(payload)
        except ValueError:
            log.debug("worker %s of %s: unreadable list of loaded files", self.pid, self.name)
            return
        if isinstance(paths, list):
            self._on_loaded([p for p in paths if isinstance(p, str)])

    def _resolve(self, reply: Reply) -> None:
        fut = self._reply
        if fut is not None and not fut.done():
            fut.set_result(reply)

    def check(self, now: float) -> bool:
        """The watchdog's look at the call in progress: past its deadline or over the memory
        cap, the worker is killed and the call answered; True when that happened."""
        if self._reply is None or self._reply.done():
            return True
        if now >= self.deadline and self.hold is not None and self.hold():
            self.held = True  # paused in a debugger: not killed; looked at again a little later
            self.deadline = now + HOLD_RECHECK_S
        elif now >= self.deadline:
            self._resolve(Reply("timeout"))
            self.kill()
            return True
        assert self._probe is not None
        if self._probe.sample() > self.cap_kb:
            self._resolve(Reply("oom"))
            self.kill()
            return True
        return False

    def peak_kb(self) -> int:
        """The worker's peak resident memory so far (kernel's high-water mark): as the worker
        read it just before its reply, else from /proc here."""
        probe = self._probe
        assert probe is not None
        reported, self._reported_kb = self._reported_kb, None
        if reported is not None:
            probe.peak_kb = max(probe.peak_kb, reported)
        else:
            probe.sample()
        return probe.peak_kb

    # -------------------------------------------------------------------------- output

    def _read_output(self) -> bool:
        """One non-blocking read of the output pipe into the sink; False when there is
        nothing more to read for now (or ever: the pipe closed)."""
        fd = self._log_fd
        if fd is None:
            return False
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:  # every writer closed the pipe
            self._close_output()
            return False
        self.sink.feed(data)
        return True

    def drain(self) -> None:
        """Read what the worker already wrote (called when its reply arrives). Bounded, so
        that a process that never stops writing cannot hold the event loop."""
        for _ in range(DRAIN_READS):
            if not self._read_output():
                return

    def _close_output(self) -> None:
        if self._log_fd is not None:
            self._loop.remove_reader(self._log_fd)
            os.close(self._log_fd)
            self._log_fd = None
            self.sink.flush()

    # -------------------------------------------------------------------------- ending

    def kill(self) -> None:
        """SIGKILL the worker and its process group (what its handler started); under a
        keeper, SIGTERM the keeper, which SIGKILLs the worker and every descendant."""
        if self._proc is None or self.returncode is not None or self.killed:
            return
        self.killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if KEEPER:
                os.kill(self._proc.pid, signal.SIGTERM)
            else:
                os.killpg(self._proc.pid, signal.SIGKILL)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._exited)

    def _channel_lost(self) -> None:
        if self._pidfd is None and self.returncode is None:
            self._loop.call_later(EXIT_POLL_S, self._poll_exit)

    def _poll_exit(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is None:
            self._loop.call_later(EXIT_POLL_S, self._poll_exit)
        else:
            self._ended()

    def _exit_seen(self) -> None:
        assert self._proc is not None and self._pidfd is not None
        # the worker is a zombie still holding its group id: take what it started along
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        if self._proc.poll() is None:
            return
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = None
        self._ended()

    def _ended(self) -> None:
        assert self._proc is not None
        self.returncode = self._proc.returncode
        self.drain()
        self._close_output()
        self._resolve(Reply("exit", returncode=self.returncode))
        if self._transport is not None:
            self._transport.close()
        if self._probe is not None:
            self._probe.sample()
            self._probe.close()
        if not self._exited.done():
            self._exited.set_result(None)
        self._on_exit(self)
