"""TypeScript handlers (docs/runtimes.md "TypeScript"): a Node.js function whose handler file is
``.ts`` or ``.mts`` runs without a build step, through the project's own ``tsx`` (the nearest
``node_modules/.bin/tsx`` from the function's code folder up, else ``tsx`` on PATH), loaded into
the worker with ``--import`` (tsx's loader registers its ESM and CommonJS hooks), or through
Node.js's own type stripping (on by default from 22.18 and 23.6). Source maps are on, so an
error's stack names the ``.ts`` lines. With neither, the worker's init fails with an error
saying what to install, and ``router validate`` says it first.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ..config import FunctionConfig

TS_EXTENSIONS = (".ts", ".mts")
INSTALL_HINT = "npm install --save-dev tsx in the project (or use Node.js 22.18+ / 23.6+, which strip types)"


def is_typescript(fn: FunctionConfig) -> bool:
    return fn.is_node and fn.handler_file.suffix in TS_EXTENSIONS


def strips_types(version: tuple[int, ...]) -> bool:
    """Node.js runs .ts files unflagged: 23.6.0 and, backported, 22.18.0 (Node.js changelogs,
    "Type stripping is enabled by default")."""
    return version >= (23, 6) or (22, 18) <= version < (23,)


def find_tsx(code_dir: Path) -> Path | None:
    """tsx's loader module (its package's ``"."`` export, ``dist/loader.mjs`` in tsx 4): from
    the nearest ``node_modules/.bin/tsx`` at or above ``code_dir``, else ``tsx`` on PATH."""
    for folder in (code_dir, *code_dir.parents):
        candidate = folder / "node_modules" / ".bin" / "tsx"
        if candidate.exists():
            return _loader(candidate)
    on_path = shutil.which("tsx")
    return _loader(Path(on_path)) if on_path else None


def _loader(bin_path: Path) -> Path | None:
    """The bin is a link to ``<package>/dist/cli.mjs``: the package is the first folder up with
    tsx's package.json."""
    for folder in bin_path.resolve().parents:
        manifest = folder / "package.json"
        if not manifest.is_file():
            continue
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("name") != "tsx":
            return None
        entry = data.get("exports", {}).get(".") if isinstance(data.get("exports"), dict) else None
        if isinstance(entry, dict):
            entry = entry.get("import") or entry.get("default")
        loader = folder / (entry if isinstance(entry, str) else "dist/loader.mjs")
        return loader if loader.is_file() else None
    return None


def node_flags(fn: FunctionConfig) -> list[str]:
    """The worker's extra Node.js flags for a TypeScript handler: source maps, and tsx's loader
    when the project has tsx (preferred: it also compiles enums, namespaces and tsconfig paths,
    which type stripping refuses). None for a JavaScript handler."""
    if not is_typescript(fn):
        return []
    loader = find_tsx(fn.code_dir)
    if loader is not None:
        return ["--enable-source-maps", f"--import={loader.as_uri()}"]
    return ["--enable-source-maps"]


def problem(fn: FunctionConfig, version_text: str) -> str | None:
    """Why ``fn``'s TypeScript handler cannot load on this Node.js, or None."""
    if not is_typescript(fn) or find_tsx(fn.code_dir) is not None:
        return None
    version = tuple(int(p) for p in re.findall(r"\d+", version_text)[:3])
    if strips_types(version):
        return None
    return (
        f"the handler {fn.handler_file.name} is TypeScript, but no tsx was found (node_modules/.bin "
        f"from {fn.code_dir} up, or PATH) and Node.js {version_text} does not strip types: {INSTALL_HINT}"
    )
