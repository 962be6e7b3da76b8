"""The keeper between router and one worker process (Linux), so that nothing a worker started
outlives router, even after ``kill -9`` of router, even while the handler spins.

Run as ``python -I -S reaper.py PARENT_PID FD,FD`` (the FDs are the worker's, closed here)
with the worker's argv in ``ROUTER_WORKER_ARGV`` (joined by ``\x1f``) and its LC_CTYPE in
``ROUTER_WORKER_LC_CTYPE`` (``-`` for none), both removed from the worker's environment (as is a
LC_CTYPE this Python coerced into its own). Few imports: it adds to every cold start. It:

- marks itself a child subreaper (``PR_SET_CHILD_SUBREAPER``): any process the worker's
  handler orphans (a double fork, ``setsid``) is re-parented to it, not to init;
- asks for SIGTERM when router dies (``PR_SET_PDEATHSIG``; prctl(2)), and SIGTERM is also how
  router ends a worker (a timeout, over memory, shutdown);
- forks the worker (its own process group, ``PR_SET_PDEATHSIG`` SIGKILL towards this keeper,
  the ``SCHED_BATCH`` policy: :func:`batch`) and waits;
- on SIGTERM, or once the worker has exited, SIGKILLs every child it has left (orphans
  included, again as killing one re-parents its children here) until it has none, and ends as
  the worker ended (the same exit status or signal; SIGKILL after a SIGTERM).

Standard library only; it imports nothing from router (it starts with ``-S``, no site).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
ARGV_SEP = "\x1f"  # the ASCII unit separator: in no argv router builds
_libc = ctypes.CDLL(None, use_errno=True)


def children() -> list[int]:
    """This process's children, from /proc (zombies included)."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(name))
    return found


def sweep() -> None:
    """SIGKILL and reap every child until none is left."""
    while True:
        for pid in children():
            for kill in (os.killpg, os.kill):  # the worker leads its own group
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.005)


def _terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sweep()
    os.kill(os.getpid(), signal.SIGKILL)


def batch() -> None:
    """Mark the worker (and what its handler starts) SCHED_BATCH: a worker woken by router's
    frame then does not preempt router's event loop on that core (sched(7): "this policy will
    cause the scheduler to always assume that the thread is CPU-intensive ... apply a small
    scheduling penalty with respect to wakeup behavior"). With every core busy, the loop that
    feeds the workers, times them out and answers HTTP keeps its turn: on two cores at 16
    concurrent requests, 11 % more requests a second (bench/RESULTS.md). An idle core still
    takes a woken worker at once. Where the policy is missing, nothing changes."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def _exec_worker(argv: list[str], env: dict[str, str]) -> None:
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for name in ("SIGPIPE", "SIGXFSZ"):  # as subprocess's restore_signals
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        os.setpgid(0, 0)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        batch()
        if os.getppid() == 1:
            os._exit(137)
        os.execvpe(argv[0], argv, env)
    except BaseException as exc:  # noqa: BLE001 - tell the parent's log why, then go
        os.write(2, f"router: cannot start the worker {argv[0]!r}: {exc}\n".encode())
    os._exit(127)


def main() -> None:
    parent, fds = int(sys.argv[1]), [int(fd) for fd in sys.argv[2].split(",") if fd]
    env = dict(os.environ)
    argv = env.pop("ROUTER_WORKER_ARGV").split(ARGV_SEP)
    env["LC_CTYPE"] = env.pop("ROUTER_WORKER_LC_CTYPE")
    if env["LC_CTYPE"] == "-":
        del env["LC_CTYPE"]
    signal.signal(signal.SIGTERM, _terminated)
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # router died before the line above
        os._exit(137)
    worker = os.fork()
    if worker == 0:
        _exec_worker(argv, env)
    for fd in fds:  # the worker's channel and output are the worker's alone
        try:
            os.close(fd)
        except OSError:
            pass
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == worker:
            break
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sweep()
    if os.WIFSIGNALED(status):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the worker's SIGSEGV, not a core of ours
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
