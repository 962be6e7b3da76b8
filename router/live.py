"""Live edits of triggers.yaml while ``router run`` runs.

The file's (mtime, size) is looked at every :data:`POLL_S` (one ``stat``; no file watcher for
one file). When it changed, it is loaded and checked as at start:

- an invalid edit is reported with the usual ``file:line:col`` errors and the running config
  stays in force;
- a valid one is applied: functions added, removed or changed (a changed function gets fresh
  workers after its in-flight invocations; the others keep their warm workers and every
  function keeps its queued events), the sources of the kinds whose triggers changed are
  restarted (HTTP routes are swapped on the same server and port), new tables and buckets are
  created. ``settings`` take effect only at the next start (ports, state folder, endpoint):
  the edit says so and applies the rest.

Each applied edit prints one line that says what changed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .config import SOURCE_KINDS, Config, load_config
from .errors import ConfigError

log = logging.getLogger(__name__)

POLL_S = 0.5

Apply = Callable[[Config], Awaitable[list[str]]]


class ConfigWatcher:
    """Polls one config file; hands a valid new config to ``apply``; reports the rest."""

    def __init__(self, path: Path, apply: Apply, load: Callable[[Path], Config] = load_config) -> None:
        self.path = path
        self._apply = apply
        self._load = load
        self._seen = _signature(path)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            now = _signature(self.path)
            if now == self._seen:
                continue
            self._seen = now
            await self.reload()

    async def reload(self) -> None:
        try:
            config = await asyncio.to_thread(self._load, self.path)
        except ConfigError as exc:
            log.warning("%s changed but is not valid; the running config stays in force:\n%s", self.path.name, exc)
            return
        except Exception as exc:  # unreadable mid-write, ...: the next change is tried again
            log.warning("%s changed but cannot be read (%s); the running config stays in force", self.path.name, exc)
            return
        try:
            changes = await self._apply(config)
        except Exception as exc:
            log.exception("applying the edit of %s failed", self.path)
            log.error("%s: the edit could not be applied in full (%s: %s)", self.path.name, type(exc).__name__, exc)
            return
        log.info("%s reloaded: %s", self.path.name, "; ".join(changes) if changes else "nothing to change")


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


async def apply(app: Any, new: Config) -> list[str]:
    """Reconfigure a running :class:`router.app.App` to ``new``; what changed, in words."""
    old: Config = app.config
    changes: list[str] = []
    if new.settings != old.settings:
        changes.append("settings changed: restart router to apply them (kept as they were)")
        new = new.model_copy(update={"settings": old.settings, "state_dir": old.state_dir})
    added, removed, changed = app.runtimes.update(new)
    changes += [f"+function {n}" for n in added] + [f"-function {n}" for n in removed]
    changes += [f"~function {n} (new workers)" for n in changed]
    app.dispatcher.update(new)
    if new.resources != old.resources and app.aws is not None:
        app.aws.config = new
        await asyncio.to_thread(app.aws.create_resources)
        changes.append("resources created")
    app.config = new
    for kind in SOURCE_KINDS:
        before = [t for t in old.triggers if t.kind == kind and t.enabled]
        after = [t for t in new.triggers if t.kind == kind and t.enabled]
        if before == after:
            continue
        names_before, names_after = {t.name for t in before}, {t.name for t in after}
        what = [f"+{kind} {n}" for n in sorted(names_after - names_before)]
        what += [f"-{kind} {n}" for n in sorted(names_before - names_after)]
        what += [f"~{kind} {t.name}" for t in after if t.name in names_before and t not in before]
        await app.restart_source(kind, after)
        changes += what or [f"{kind} triggers restarted"]
    return changes
