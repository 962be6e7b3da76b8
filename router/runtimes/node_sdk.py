"""The AWS SDK for JavaScript v3 for Node.js workers, as Lambda's Node.js runtimes include it.

Lambda's nodejs18.x and later runtimes ship the SDK v3 in the runtime's own node_modules ("The
AWS SDK for JavaScript (v3) is included by default in AWS Lambda Node.js 18 runtime", AWS
Developer Tools Blog, "Why and how you should use AWS SDK for JavaScript (v3) on Node.js 18"),
so a handler that requires or imports ``@aws-sdk/client-s3`` runs without bundling it. Router
gives workers the same, in this order:

1. the project's own ``node_modules`` (Node's resolution walks up from the handler's file);
2. else a copy in a per-user cache, ``$XDG_CACHE_HOME/router/node-aws-sdk`` (default
   ``~/.cache/router/...``; ``ROUTER_CACHE_DIR`` replaces ``…/router``), on the worker's
   ``NODE_PATH`` (CommonJS), and for ES modules through a resolve hook that retries a bare
   specifier from there (``child/node_loader.js``).

The cache is filled on demand: when a worker's init fails with ``Cannot find module
'@aws-sdk/x'`` (or ``Cannot find package``), router installs that package (``@aws-sdk/x@3``)
there with ``npm`` once, says so on the console, and starts the worker again; when a handler
requires it while it runs, that invocation fails as it did and the next one, in a new worker
(Node remembers a package it did not find), finds it. A failed install
(offline, no npm) is logged with what to do and the invocation keeps its ImportModuleError; it
is not tried again until router restarts. The SDK's clients read ``AWS_ENDPOINT_URL`` (the AWS
SDKs and Tools Reference Guide, "Service-specific endpoints"; checked by
tests/runtimes/test_node_sdk.py against the embedded S3), which every worker has, so they talk
to the embedded AWS unchanged. The version is the newest 3.x at install time, not the one a
Lambda runtime pins.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NPM_TIMEOUT_S = 600.0
# a missing package as Node words it: CommonJS "Cannot find module '@aws-sdk/client-s3'",
# ES modules "Cannot find package '@aws-sdk/client-s3' imported from …"
_MISSING = re.compile(r"Cannot find (?:module|package) '(@aws-sdk/[a-z0-9][a-z0-9._-]*)(?:/[^']*)?'")


def cache_dir() -> Path:
    """The folder whose ``node_modules`` holds router's copy of the SDK (not created here)."""
    base = os.environ.get("ROUTER_CACHE_DIR")
    if base:
        return Path(base) / "node-aws-sdk"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "router" / "node-aws-sdk"


def node_path() -> str:
    """``NODE_PATH`` of a Node.js worker: router's SDK copy, after the project's own modules
    (Node reads NODE_PATH only when the handler's own node_modules folders lack a package)."""
    return str(cache_dir() / "node_modules")


def missing_package(error: dict[str, Any]) -> str | None:
    """The ``@aws-sdk/…`` package an init error says is missing, or None."""
    if error.get("errorType") not in ("Runtime.ImportModuleError", "Error"):
        return None
    match = _MISSING.search(str(error.get("errorMessage", "")))
    return match.group(1) if match else None


class SdkInstaller:
    """Installs SDK packages into :func:`cache_dir`, one npm at a time (across processes too:
    a lock file), each package at most once per router process."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._lock = asyncio.Lock()
        self._installs: dict[str, asyncio.Task[bool]] = {}  # one per package: its outcome, shared

    async def provide(self, package: str, function: str) -> bool:
        """True when ``package`` is in router's copy (installed now, by an invocation before,
        or by another process meanwhile): start the worker again; False when the install
        failed (logged once; not tried again in this process)."""
        install = self._installs.get(package)
        if install is None:
            install = self._installs[package] = asyncio.ensure_future(self._serialized(package, function))
        return await asyncio.shield(install)

    async def _serialized(self, package: str, function: str) -> bool:
        async with self._lock:
            return await asyncio.to_thread(self._install, package, function)

    def _install(self, package: str, function: str) -> bool:
        folder = cache_dir()
        if (folder / "node_modules" / package / "package.json").is_file():
            return True  # installed by another router process since the worker failed
        npm = _npm(self.node)
        if npm is None:
            log.error("%s needs %s (the AWS SDK for JavaScript v3, which Lambda's Node.js runtimes include), "
                      "but npm is not found next to node or on PATH: install it in the project "
                      "(npm install %s)", function, package, package)  # fmt: skip
            return False
        log.warning("%s needs %s, which Lambda's Node.js runtimes include: installing it once with npm into %s "
                    "(the project's own node_modules would be used first)", function, package, folder)  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / "package.json"
        if not manifest.exists():
            manifest.write_text(json.dumps({"name": "router-node-aws-sdk", "private": True}) + "\n")
        with open(folder / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                done = subprocess.run(
                    [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--loglevel=error",
                     f"{package}@3"], capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False,
                )  # fmt: skip
            except (OSError, subprocess.TimeoutExpired) as exc:
                return _failed(function, package, str(exc))
        if done.returncode != 0:
            return _failed(function, package, (done.stderr or done.stdout).strip()[-600:])
        log.warning("%s: %s installed into %s", function, package, folder)
        return True


def _npm(node: str) -> str | None:
    found = shutil.which(node)
    if found is not None:
        beside = Path(found).resolve().parent / "npm"
        if beside.is_file():
            return str(beside)
    return shutil.which("npm")


def _failed(function: str, package: str, why: str) -> bool:
    log.error("%s: could not install %s with npm (offline, or the registry unreachable?): %s -- install it in "
              "the project (npm install %s), or retry once online (router tries again after a restart)",
              function, package, why or "no output", package)  # fmt: skip
    return False
