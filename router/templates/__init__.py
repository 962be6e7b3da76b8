"""SAM and CloudFormation templates as configs (import), and configs as SAM templates (export).

:func:`read` turns a template's text into triggers.yaml data that :mod:`router.config`
validates like any other; :func:`overlay` does the same for a triggers.yaml that says
``import: template.yaml``. See docs/sam.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import _yaml
from ..errors import ConfigIssue
from .template import Translation, looks_like_template, translate

__all__ = ["IMPORT_KEYS", "Translation", "looks_like_template", "overlay", "translate"]

IMPORT_KEYS = ("import", "parameters", "stack_name")


def _settings(data: dict[str, Any]) -> dict[str, str]:
    s = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    return {k: str(s[k]) for k in ("region", "account") if isinstance(s, dict) and k in s}


def options(data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(parameters, stack name) given with the config (``parameters:``, ``stack_name:``)."""
    params = data.get("parameters")
    stack = data.get("stack_name")
    return (params if isinstance(params, dict) else {}), (str(stack) if stack else None)


def overlay(data: dict[str, Any], positions: _yaml.Positions, file: str,
            root: Path) -> tuple[dict[str, Any], list[str], list[ConfigIssue]]:  # fmt: skip
    """A triggers.yaml with ``import: template.yaml``: the template's functions, resources and
    triggers, then this file's additions (which may name the template's resources by logical id)."""
    target = data.get("import")
    line, col = positions.get(("import",), (0, 0))
    if not isinstance(target, str) or not target:
        return data, [], [ConfigIssue("expected the path of a SAM or CloudFormation template", "import", file,
                                      line, col)]  # fmt: skip
    path = (root / target).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return data, [], [ConfigIssue(f"cannot read the template: {exc}", "import", file, line, col)]
    params, stack = options(data)
    found = translate(text, str(root / target), path.parent, parameters=params, stack=stack,
                      **_settings(data))  # fmt: skip
    local = {k: v for k, v in data.items() if k not in IMPORT_KEYS}
    merged, issues = _merge(found, local, path.parent, root, file, positions), list(found.issues)
    return merged, found.notes, issues + merged.pop("_issues", [])


def _merge(found: Translation, local: dict[str, Any], template_root: Path, root: Path, file: str,
           positions: _yaml.Positions) -> dict[str, Any]:  # fmt: skip
    import os

    out: dict[str, Any] = dict(local)
    issues: list[ConfigIssue] = []
    functions = dict(local.get("functions") or {})
    for name, f in (found.data.get("functions") or {}).items():
        if name in functions:
            where = positions.get(("functions", name, "<key>"), positions.get(("functions", name), (0, 0)))
            issues.append(ConfigIssue(f"{name!r} is a function of the imported template too", f"functions.{name}",
                                      file, *where))  # fmt: skip
            continue
        code = os.path.relpath((template_root / f.get("code", ".")).resolve(), root)
        functions[name] = {**f, "code": code}
    out["functions"] = functions
    resources = dict(local.get("resources") or {})
    for section, entries in (found.data.get("resources") or {}).items():
        mine = resources.get(section)
        if isinstance(entries, list):
            resources[section] = [*(mine or []), *(e for e in entries if e not in (mine or []))]
        else:
            resources[section] = {**entries, **(mine or {})}
    out["resources"] = resources
    out["triggers"] = [_by_logical_id(t, found.names) for t in (local.get("triggers") or [])]
    out["triggers"] += found.data.get("triggers") or []  # after this file's: their positions stay right
    out["_issues"] = issues
    return out


def _by_logical_id(trigger: Any, names: dict[str, str]) -> Any:
    """A local trigger naming an imported bucket, table, queue, topic or bus by its logical id."""
    if not isinstance(trigger, dict):
        return trigger
    out = dict(trigger)
    for kind, key in (("s3", "bucket"), ("dynamodb", "table"), ("sqs", "queue"), ("sns", "topic"),
                      ("eventbridge", "bus")):  # fmt: skip
        source = out.get(kind)
        if isinstance(source, dict) and source.get(key) in names:
            out[kind] = {**source, key: names[source[key]]}
        elif isinstance(source, str) and source in names and kind != "s3":
            out[kind] = names[source]
    return out
