"""The import contract (DESIGN.md "Imports run one way"), read from the source with ``ast``.

- ``router.events`` and ``router.types`` import nothing of router but themselves (and
  ``router.types`` only the standard library at run time);
- sources never import dispatch or runtimes (they are handed ``ctx.dispatch``);
- runtimes never import sources, events or dispatch;
- each heavy library is imported in its one module (or its small family), and none of them
  is loaded by importing the config, the builders or the command line.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "router"

# package -> packages of router it must not import (at run time or for types)
FORBIDDEN = {
    "router.events": ("router.",),  # except router.events itself: see _imports_of
    "router.sources": ("router.dispatch", "router.runtimes"),
    "router.runtimes": ("router.sources", "router.events", "router.dispatch"),
    "router.types": ("router.",),  # at run time (its annotations name config's models)
}
TYPING_ONLY_OK = {"router.types"}
# heavy library -> the modules that may import it
HEAVY = {
    "moto": ("router.aws", "router.aws_"),
    "boto3": ("router.aws", "router.aws_"),
    "botocore": ("router.aws", "router.aws_"),
    "werkzeug": ("router.aws", "router.aws_"),
    "watchdog": ("router.sources.s3_watch", "router.runtimes.reload"),  # folders; hot reload
    "apscheduler": ("router.sources.schedule",),  # and its driver module schedule_trigger
    "httptools": ("router.sources.http_server",),
    "psutil": ("router.runtimes.memory",),
    "cryptography": ("router.sources.jwt_auth",),  # JWT authorizers' signatures
    "uvloop": ("router.loops",),
    "yaml": ("router._yaml", "router.serverless.loader",  # a serverless.yml's CloudFormation tags
             "router.templates.export"),  # router export sam writes YAML
}
LAZY = sorted(set(HEAVY) - {"uvloop", "yaml"})  # loaded only by the parts that run them


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "child" in path.parts:  # the worker scripts run alone and import nothing of router
            continue
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts)
        yield (name[: -len(".__init__")] if name.endswith(".__init__") else name), path


def _imports_of(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at run time) for every import in the file, relative ones resolved.
    Imports under ``if TYPE_CHECKING:`` are not at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                for inner in ast.walk(sub):
                    typing_only.add(id(inner))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) not in typing_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] if node.module or not node.level else [f"{module}.{a.name}" for a in node.names]
            out += [(t, node.lineno, id(node) not in typing_only) for t in targets]
    return out


def test_layers_import_one_way() -> None:
    broken = []
    for name, path in modules():
        for layer, banned in FORBIDDEN.items():
            if name != layer and not name.startswith(layer + "."):
                continue
            for imported, line, runtime in _imports_of(name, path):
                own = imported == layer or imported.startswith(layer + ".")
                if layer in TYPING_ONLY_OK and not runtime:
                    continue
                if not own and imported.startswith(banned):
                    broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported} ({layer} must not)")
    assert broken == []


def test_types_uses_the_standard_library_only_at_run_time() -> None:
    path = PACKAGE / "types.py"
    third_party = [(m, line) for m, line, runtime in _imports_of("router.types", path)
                   if runtime and m.split(".")[0] not in sys.stdlib_module_names]  # fmt: skip
    assert third_party == []


def test_events_use_the_standard_library_only() -> None:
    broken = []
    for name, path in modules():
        if name.startswith("router.events"):
            for imported, line, _ in _imports_of(name, path):
                top = imported.split(".")[0]
                if top not in sys.stdlib_module_names and not imported.startswith("router.events"):
                    broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert broken == []


def test_heavy_libraries_stay_in_their_module() -> None:
    broken = []
    for name, path in modules():
        for imported, line, runtime in _imports_of(name, path):
            allowed = HEAVY.get(imported.split(".")[0])
            if allowed is None or not runtime:
                continue
            if not any(name == a or name.startswith(a) for a in allowed) and name != "router.sources.schedule_trigger":
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert broken == []


@pytest.mark.parametrize("entry", ["router.cli", "router.config", "router.events", "router.app", "router.api"])
def test_heavy_libraries_load_only_when_used(entry: str) -> None:
    """``router validate`` and ``router event`` start fast: importing the command line, the
    config, the builders or even the composition root loads none of the heavy libraries."""
    code = (f"import sys, {entry}\n"
            f"heavy = {LAZY!r}\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(eval(out.stdout))  # noqa: S307 - our own print of a list of names
    assert loaded == set(), f"importing {entry} loads {sorted(loaded)}"


def test_the_contract_sees_a_violation(tmp_path: Path) -> None:
    """The reader catches what it is for (a source importing dispatch, relative or absolute)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from ..dispatch.dispatcher import Dispatcher\nimport router.runtimes\n")
    found = [m for m, _, _ in _imports_of("router.sources.bad", bad)]
    assert found == ["router.dispatch.dispatcher", "router.runtimes"]
