"""TypeScript handlers (.ts / .mts) without a build step: through the project's own tsx
(installed from npm into a temp project once per session), else a clear init error and a
``router validate`` error naming what to install. Real node workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.api import Router
from router.check import node_version
from router.cli import main
from router.runtimes.typescript import strips_types

CONFIG = """
functions:
  cjs: {handler: src/app.handler}
  esm: {handler: src/mod.handler}
  fails: {handler: src/app.fails}
"""

APP_TS = """interface Order {
  id: string;
  items: number[];
}

type Total = { id: string; total: number };

export const handler = async (event: Order): Promise<Total> => {
  const total: number = event.items.reduce((a: number, b: number) => a + b, 0);
  return { id: event.id, total };
};

export async function fails(event: Order): Promise<never> {
  const reason: string = `order ${event.id} refused`;
  throw new Error(reason); // line 15
}
"""

MOD_MTS = """import { basename } from 'node:path';

enum Kind { Small = 'small', Large = 'large' }

export const handler = async (event: { n: number }): Promise<string> =>
  `${basename('/x/mod.mts')}:${event.n > 10 ? Kind.Large : Kind.Small}`;
"""


def _until(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _node_strips_types() -> bool:
    version = node_version("node") or ""
    return strips_types(tuple(int(p) for p in version.lstrip("v").split(".")[:3] if p.isdigit()))


@pytest.fixture(scope="session")
def tsx_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """node_modules with tsx, installed from npm once per session."""
    npm = shutil.which("npm")
    assert npm is not None, "these tests need npm (to install tsx)"
    project = tmp_path_factory.mktemp("tsx")
    (project / "package.json").write_text('{"name": "tsx-cache", "private": true}\n')
    subprocess.run([npm, "install", "tsx", "--no-audit", "--no-fund", "--loglevel=error"], cwd=project,
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    return project / "node_modules"


def _project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.ts").write_text(APP_TS)
    (root / "src" / "mod.mts").write_text(MOD_MTS)
    (root / "triggers.yaml").write_text(CONFIG)
    return root


@pytest.fixture
def no_tsx_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """PATH holding node only (a global tsx would be found otherwise)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    found = shutil.which("node")
    assert found is not None
    (bin_dir / "node").symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    yield


@pytest.mark.slow
def test_ts_and_mts_handlers_run_through_the_projects_tsx(tmp_path: Path, tsx_modules: Path) -> None:
    root = _project(tmp_path / "proj")
    (root / "node_modules").symlink_to(tsx_modules)
    with Router.from_text(CONFIG, root) as router:
        assert router.invoke("cjs", {"id": "o-1", "items": [1, 2, 3]}).result == {"id": "o-1", "total": 6}
        assert router.invoke("esm", {"n": 42}).result == "mod.mts:large"  # an enum: tsx compiles it
        out = router.invoke("fails", {"id": "o-2", "items": []})
        # hot reload follows the .mts file the worker imported (tsx's loader, router's load hook)
        (root / "src" / "mod.mts").write_text(MOD_MTS.replace("Kind.Large", "'edited'"))
        assert _until(lambda: router.invoke("esm", {"n": 42}).result == "mod.mts:edited")
    assert out.error is not None and out.error["errorMessage"] == "order o-2 refused"
    # source maps: the stack names the .ts file's own line
    assert f"{root / 'src' / 'app.ts'}:15:" in "\n".join(out.error["trace"])


def test_without_tsx_the_init_error_and_validate_say_what_to_install(tmp_path: Path, no_tsx_on_path: None) -> None:
    if _node_strips_types():
        pytest.skip("this Node.js strips types itself: a .ts handler needs no tsx")
    root = _project(tmp_path / "proj")
    with Router.from_text(CONFIG, root) as router:
        out = router.invoke("cjs", {"id": "o-1", "items": []})
    assert out.error is not None and out.error["errorType"] == "Runtime.ImportModuleError"
    assert f"Cannot load the TypeScript handler {root / 'src' / 'app.ts'}" in out.error["errorMessage"]
    assert "npm install --save-dev tsx" in out.error["errorMessage"]
    result = CliRunner().invoke(main, ["validate", str(root / "triggers.yaml")], env={"PATH": os.environ["PATH"]})
    assert result.exit_code == 2, result.output
    assert "functions.esm.handler: the handler mod.mts is TypeScript, but no tsx was found" in result.output
    assert "npm install --save-dev tsx" in result.output
