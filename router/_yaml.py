"""Load YAML keeping where every value came from, and substitute ``${env:...}``.

``load(text, file)`` returns ``(data, positions)`` where ``positions`` maps a key path
tuple (``("triggers", 2, "s3", "prefix")``) to the (line, column) of that value, both
1-based. Duplicate keys, anchors aside, are errors (YAML allows them; we refuse them
because the later one silently wins).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from .errors import ConfigError, ConfigIssue

Path_ = tuple[str | int, ...]
Positions = dict[Path_, tuple[int, int]]
EnvFiles = Callable[[str], Mapping[str, str]]  # an env_file value -> its variables (raises ConfigError)

# ${env:NAME} or ${env:NAME, default}; the default may be empty and may contain spaces.
_ENV = re.compile(r"\$\{env:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*([^}]*?))?\s*\}")


def format_path(path: Path_) -> str:
    """('triggers', 2, 's3', 'prefix') -> 'triggers[2].s3.prefix'"""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Walker:
    def __init__(self, file: str, environ: Mapping[str, str], env_files: EnvFiles | None = None) -> None:
        self.file = file
        self.environ = environ
        self.env_files = env_files
        self.scopes: list[Mapping[str, str]] = []  # env files in force, innermost last
        self.positions: Positions = {}
        self.issues: list[ConfigIssue] = []
        self.loader = yaml.SafeLoader("")

    def issue(self, node: yaml.Node, path: Path_, message: str) -> None:
        mark = node.start_mark
        self.issues.append(
            ConfigIssue(message, format_path(path), self.file, mark.line + 1, mark.column + 1)
        )

    def walk(self, node: yaml.Node, path: Path_) -> Any:
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # resolves << merge keys
            scoped = self.enter(node, path)
            try:
                return self.walk_mapping(node, path)
            finally:
                if scoped:
                    self.scopes.pop()
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(child, (*path, i)) for i, child in enumerate(node.value)]
        value = self.loader.construct_object(node)
        if isinstance(value, str) and "${" in value:
            value = self.substitute(value, node, path)
        return value

    def enter(self, node: yaml.MappingNode, path: Path_) -> bool:
        """Push the env file a mapping brings into scope: ``settings.env_file`` for the whole
        document, ``functions.X.env_file`` for function X's own values."""
        if self.env_files is None or not (path == () or (len(path) == 2 and path[0] == "functions")):
            return False
        where: yaml.Node | None = node
        if path == ():
            where = _child(node, "settings")
        found = _child(where, "env_file") if isinstance(where, yaml.MappingNode) else None
        if not isinstance(found, yaml.ScalarNode):
            return False
        loc = ("settings", "env_file") if path == () else (*path, "env_file")
        value = self.substitute(str(found.value), found, loc) if "${" in found.value else str(found.value)
        try:
            self.scopes.append(self.env_files(value))
        except ConfigError as exc:
            for problem in exc.issues:  # a file that cannot be read: said at the key naming it
                if problem.line:
                    self.issues.append(problem)
                else:
                    self.issue(found, loc, f"{problem.message}: {problem.file}")
            return False
        return True

    def walk_mapping(self, node: yaml.MappingNode, path: Path_) -> Any:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                self.issue(key_node, path, f"a key must be a plain scalar, not {key!r}")
                continue
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                self.issue(key_node, (*path, key), "duplicate key")
                continue
            self.positions[(*path, key, "<key>")] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[key] = self.walk(value_node, (*path, key))
        return out

    def substitute(self, value: str, node: yaml.Node, path: Path_) -> str:
        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.environ:
                return self.environ[name]
            for scope in reversed(self.scopes):  # the process environment first, then the env files
                if name in scope:
                    return scope[name]
            if default is not None:
                return default
            self.issue(node, path, f"environment variable {name} is not set and has no default")
            return ""

        return _ENV.sub(repl, value)


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node  # type: ignore[no-any-return]
    return None


def load(
    text: str, file: str, environ: Mapping[str, str] | None = None, env_files: EnvFiles | None = None
) -> tuple[Any, Positions]:
    """Parse YAML text; raise ConfigError (with positions) on syntax errors or duplicate keys.
    ``env_files`` reads an ``env_file`` value: its variables serve ``${env:...}`` after the
    process environment's (a function's own before the settings' one)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise ConfigError(
            [ConfigIssue(f"invalid YAML: {exc.problem or exc}", "", file, line, col)]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(f"invalid YAML: {exc}", "", file)]) from None
    if node is None:
        return None, {}
    walker = _Walker(file, os.environ if environ is None else environ, env_files)
    data = walker.walk(node, ())
    if "${ssm:" in text or "${secret:" in text:
        from .params import resolve_references

        def report(path: Path_, message: str) -> None:
            line, col = walker.positions.get(path, (0, 0))
            walker.issues.append(ConfigIssue(message, format_path(path), file, line, col))

        data = resolve_references(data, report)
    if walker.issues:
        raise ConfigError(walker.issues)
    return data, walker.positions
