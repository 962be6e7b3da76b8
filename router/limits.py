"""Process limits router raises for itself at start (standard library only).

- :func:`raise_fd_limit`: the soft ``RLIMIT_NOFILE`` up to the hard limit. A daemon holding many
  HTTP connections, worker pipes and watched folders otherwise hits "Too many open files" at
  the common soft default of 1024 while the hard limit allows far more.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def raise_fd_limit() -> tuple[int, int] | None:
    """Raise the soft open-file limit to the hard limit. Returns ``(old_soft, new_soft)``,
    or None where there is no ``resource`` module (Windows) or the limit cannot be read.
    Never raises: a limit that cannot be changed is logged and left as it is."""
    try:
        import resource
    except ImportError:  # Windows: no rlimits
        log.debug("no resource module: the open-file limit is left as it is")
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError) as exc:
        log.debug("cannot read the open-file limit: %s", exc)
        return None
    target = hard
    if target == resource.RLIM_INFINITY:
        target = _macos_cap(soft)
    if soft != resource.RLIM_INFINITY and target != resource.RLIM_INFINITY and soft >= target:
        log.debug("open-file limit already %d (hard %s)", soft, _show(hard))
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError) as exc:
        log.debug("cannot raise the open-file limit from %d to %s: %s", soft, _show(target), exc)
        return soft, soft
    log.debug("open-file limit raised from %d to %s (hard %s)", soft, _show(target), _show(hard))
    return soft, target


def _macos_cap(soft: int) -> int:
    """An unlimited hard limit: Linux accepts it as the soft limit; macOS refuses anything over
    ``kern.maxfilesperproc`` (setrlimit(2) on macOS: EINVAL above OPEN_MAX), so cap it there."""
    import resource
    import sys

    if sys.platform != "darwin":
        return resource.RLIM_INFINITY
    try:
        import subprocess

        out = subprocess.run(["sysctl", "-n", "kern.maxfilesperproc"], capture_output=True, text=True, timeout=2)
        return max(soft, int(out.stdout.strip()))
    except (OSError, ValueError, subprocess.SubprocessError):
        return max(soft, 10240)  # OPEN_MAX on macOS


def _show(value: int) -> str:
    import resource

    return "unlimited" if value == resource.RLIM_INFINITY else str(value)
