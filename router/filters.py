"""One pattern engine for Lambda's ``FilterCriteria``, EventBridge rules and SNS filter policies.

The three share EventBridge's pattern syntax; each accepts a subset of its rules (a
:class:`Dialect`). Within one pattern every key must match (AND); a leaf is a list of
matchers of which one must match (OR); a list value in the event matches when one of its
elements matches::

    {"eventName": ["INSERT", "MODIFY"],
     "dynamodb": {"NewImage": {"status": {"S": [{"prefix": "pay"}]},
                               "note": {"S": [{"exists": false}]}}}}

Matchers: a literal (string, number, true/false, null), ``{"prefix": s}``, ``{"suffix": s}``,
``{"equals-ignore-case": s}``, ``{"anything-but": literal | [literals] | {"prefix"|"suffix": s}}``,
``{"numeric": ["<", 10]}`` / ``{"numeric": [">=", 0, "<", 10]}`` and ``{"exists": bool}``
everywhere; EventBridge adds ``{"wildcard": "a*b"}``, ``{"cidr": "10.0.0.0/24"}``, prefix and
suffix ignoring case (``{"prefix": {"equals-ignore-case": s}}``), ``anything-but`` of
``equals-ignore-case`` and ``wildcard`` (a value or a list) and ``"$or": [pattern, ...]``;
SNS adds ``cidr`` and ``$or`` (EventBridge user guide, "Content filtering in Amazon
EventBridge event patterns"; SNS developer guide, "Amazon SNS subscription filter policies";
Lambda developer guide, "Control which events Lambda sends to your function").

``numeric`` matches JSON numbers only: DynamoDB writes numbers in images as strings
(``{"N": "42"}``), so as in AWS a ``numeric`` filter on an ``N`` attribute matches nothing.
``exists`` applies to leaves only (EventBridge: "Exists matching only works on leaf nodes").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_PATTERNS = 5
_MISSING = object()
_NUMERIC_OPS = ("<", "<=", "=", ">", ">=")
_STRING_OPS = ("prefix", "suffix", "equals-ignore-case")


class FilterError(ValueError):
    """A pattern that AWS would refuse; the message names where and the rule broken."""


@dataclass(frozen=True)
class Dialect:
    """What one AWS service accepts of the pattern syntax."""

    service: str
    rules: tuple[str, ...]
    or_key: bool = False  # "$or"
    ignore_case_affix: bool = False  # {"prefix": {"equals-ignore-case": s}}
    anything_but: tuple[str, ...] = ("prefix", "suffix", "equals-ignore-case")
    numeric_bound: float | None = None

    def unknown(self, path: str, op: Any) -> FilterError:
        names = ", ".join(self.rules[:-1]) + " and " + self.rules[-1]
        return FilterError(f"{path}: unknown rule {op!r}; {self.service} supports {names}")


_BASE = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists")
# Lambda's filter rule syntax has no wildcard, cidr or $or (Lambda developer guide, "Filter rule syntax")
LAMBDA = Dialect("Lambda", _BASE)
EVENTBRIDGE = Dialect("EventBridge", _BASE + ("wildcard", "cidr"), or_key=True, ignore_case_affix=True,
                      anything_but=("prefix", "suffix", "equals-ignore-case", "wildcard"))  # fmt: skip
# SNS: "the value can range from -10^9 to 10^9" (SNS developer guide, "Filter policy constraints")
SNS = Dialect("SNS", _BASE + ("cidr",), or_key=True, numeric_bound=1e9)


def check_patterns(patterns: Sequence[Any], where: str = "filter", dialect: Dialect = LAMBDA) -> None:
    """Raise :class:`FilterError` naming the first problem (``filter[1].dynamodb.Keys.pk.S``)."""
    if len(patterns) > MAX_PATTERNS:
        raise FilterError(f"{where}: at most {MAX_PATTERNS} patterns (Lambda's default quota), got {len(patterns)}")
    for i, pattern in enumerate(patterns):
        check_pattern(pattern, f"{where}[{i}]", dialect)


def check_pattern(pattern: Any, where: str, dialect: Dialect) -> None:
    """One pattern (an EventBridge rule's, an SNS filter policy, a FilterCriteria pattern)."""
    if not isinstance(pattern, Mapping) or not pattern:
        raise FilterError(f"{where}: a pattern is a non-empty mapping of keys")
    _check_object(pattern, where, dialect)


def check_sns_policy(policy: Any, where: str, scope: str = "MessageAttributes") -> None:
    """An SNS subscription filter policy: the syntax, then SNS's limits (SNS developer guide,
    "Filter policy constraints": at most five keys; "The total combination of values ... must
    not exceed 150"; attribute-scope policies are flat: "nested keys" are for MessageBody)."""
    check_pattern(policy, where, SNS)
    if scope == "MessageAttributes":
        for key, value in _branches_items(policy):
            if isinstance(value, Mapping):
                raise FilterError(f"{where}.{key}: a MessageAttributes policy is flat (nested keys need "
                                  "filter_policy_scope: MessageBody)")  # fmt: skip
    for branch in _or_branches(policy):
        leaves = _leaves(branch)
        if len(leaves) > 5:
            raise FilterError(f"{where}: an SNS filter policy has at most 5 keys, got {len(leaves)}")
    combinations = sum(_product(_leaves(b)) for b in _or_branches(policy))
    if combinations > 150:
        raise FilterError(f"{where}: too complex: {combinations} combinations of values (SNS allows 150)")


def _branches_items(pattern: Mapping[str, Any]) -> list[tuple[str, Any]]:
    items = [(k, v) for k, v in pattern.items() if k != "$or"]
    for sub in pattern.get("$or", ()):
        items.extend(_branches_items(sub))
    return items


def _or_branches(pattern: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A pattern with ``$or`` as the plain patterns it stands for (each branch's keys added)."""
    base = {k: v for k, v in pattern.items() if k != "$or"}
    nested = [(k, _or_branches(v)) for k, v in base.items() if isinstance(v, Mapping)]
    out = [base]
    for key, subs in nested:
        out = [{**o, key: s} for o in out for s in subs]
    if "$or" in pattern:
        out = [{**o, **b} for o in out for sub in pattern["$or"] for b in _or_branches(sub)]
    return out


def _leaves(pattern: Mapping[str, Any]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for value in pattern.values():
        out.extend(_leaves(value) if isinstance(value, Mapping) else [value])
    return out


def _product(leaves: list[list[Any]]) -> int:
    n = 1
    for leaf in leaves:
        n *= len(leaf)
    return n


def _check_object(pattern: Mapping[Any, Any], path: str, dialect: Dialect) -> None:
    for key, value in pattern.items():
        here = f"{path}.{key}"
        if not isinstance(key, str):
            raise FilterError(f"{here}: keys are strings")
        if key == "$or" and not dialect.or_key:
            raise FilterError(f"{here}: {dialect.service} patterns have no $or (list the values of one key instead)")
        if key == "$or":
            _check_or(value, here, dialect)
        elif isinstance(value, Mapping):
            if not value:
                raise FilterError(f"{here}: an empty mapping matches nothing; remove it")
            _check_object(value, here, dialect)
        elif isinstance(value, list):
            if not value:
                raise FilterError(f"{here}: a list of values to match must not be empty")
            for n, matcher in enumerate(value):
                _check_matcher(matcher, f"{here}[{n}]", dialect)
        else:
            raise FilterError(f"{here}: expected a list of values to match (e.g. [{value!r}]) or a nested mapping")


def _check_or(value: Any, path: str, dialect: Dialect) -> None:
    # "$or": an array of at least two patterns (EventBridge user guide, "Or matching")
    if not isinstance(value, list) or len(value) < 2:
        raise FilterError(f"{path}: expected a list of at least two patterns")
    for n, sub in enumerate(value):
        check_pattern(sub, f"{path}[{n}]", dialect)


def _check_matcher(matcher: Any, path: str, dialect: Dialect) -> None:
    if matcher is None or isinstance(matcher, str | int | float | bool):
        return
    if not isinstance(matcher, Mapping) or len(matcher) != 1:
        raise FilterError(f"{path}: expected a literal or a one-key rule such as {{'prefix': 'a'}}, got {matcher!r}")
    ((op, arg),) = matcher.items()
    if op not in dialect.rules:
        raise dialect.unknown(path, op)
    if op in ("prefix", "suffix") and dialect.ignore_case_affix and isinstance(arg, Mapping):
        if list(arg) != ["equals-ignore-case"] or not isinstance(arg["equals-ignore-case"], str):
            raise FilterError(f"{path}.{op}: expected a string or {{'equals-ignore-case': string}}")
    elif op in _STRING_OPS:
        if not isinstance(arg, str):
            raise FilterError(f"{path}.{op}: expected a string, got {arg!r}")
    elif op == "wildcard":
        _check_wildcard(arg, f"{path}.wildcard")
    elif op == "cidr":
        _check_cidr(arg, f"{path}.cidr")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise FilterError(f"{path}.exists: expected true or false, got {arg!r}")
    elif op == "numeric":
        _check_numeric(arg, f"{path}.numeric", dialect)
    else:
        _check_anything_but(arg, f"{path}.anything-but", dialect)


def _check_wildcard(arg: Any, path: str) -> None:
    if not isinstance(arg, str):
        raise FilterError(f"{path}: expected a string, got {arg!r}")
    # "EventBridge doesn't support consecutive wildcard characters" (user guide, "Wildcard matching")
    if "**" in arg.replace("\\*", ""):
        raise FilterError(f"{path}: consecutive wildcard characters ('**') are not allowed")


def _check_cidr(arg: Any, path: str) -> None:
    try:
        if not isinstance(arg, str) or "/" not in arg:
            raise ValueError
        ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise FilterError(f"{path}: expected an IPv4 or IPv6 prefix such as '10.0.0.0/24', got {arg!r}") from None


def _check_numeric(arg: Any, path: str, dialect: Dialect) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise FilterError(f"{path}: expected [op, number] or [op, number, op, number], got {arg!r}")
    ops, numbers = arg[0::2], arg[1::2]
    for op in ops:
        if op not in _NUMERIC_OPS:
            raise FilterError(f"{path}: unknown operator {op!r}; expected one of {', '.join(_NUMERIC_OPS)}")
    for number in numbers:
        if not _is_number(number):
            raise FilterError(f"{path}: {number!r} is not a number")
        if dialect.numeric_bound is not None and abs(number) > dialect.numeric_bound:
            raise FilterError(f"{path}: {number!r} is out of {dialect.service}'s range "
                              f"(-{dialect.numeric_bound:g} to {dialect.numeric_bound:g})")  # fmt: skip
    if len(arg) == 4 and not (ops[0] in (">", ">=") and ops[1] in ("<", "<=") and numbers[0] <= numbers[1]):
        raise FilterError(f"{path}: a range is ['>' or '>=', low, '<' or '<=', high] with low <= high")


def _check_anything_but(arg: Any, path: str, dialect: Dialect) -> None:
    if isinstance(arg, Mapping):
        ops = dialect.anything_but
        op = next(iter(arg)) if len(arg) == 1 else None
        value = arg.get(op) if op is not None else None
        texts = value if isinstance(value, list) and op in ("equals-ignore-case", "wildcard") else [value]
        if op not in ops or not texts or not all(isinstance(t, str) for t in texts):
            raise FilterError(f"{path}: expected " + ", ".join(f"{{{o!r}: s}}" for o in ops) + " or literal values")
        if op == "wildcard":
            for t in texts:
                _check_wildcard(t, f"{path}.wildcard")
        return
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise FilterError(f"{path}: expected a value or a non-empty list of values")
    for value in values:
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise FilterError(f"{path}: expected literal values, got {value!r}")


# ---------------------------------------------------------------------------- matching


class RecordFilter:
    """Compiled ``FilterCriteria``: ``matches(record)`` is true when any pattern matches.

    No patterns at all means no filtering: every record matches."""

    def __init__(self, patterns: Sequence[Mapping[str, Any]] = (), where: str = "filter",
                 dialect: Dialect = LAMBDA) -> None:  # fmt: skip
        check_patterns(patterns, where, dialect)
        self.patterns = [_plain(p) for p in patterns]
        self._compiled = [compile_pattern(p) for p in self.patterns]

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, record: Mapping[str, Any]) -> bool:
        return not self._compiled or any(match(record) for match in self._compiled)


def matches(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether one (checked) pattern matches a record (both of plain dicts and lists, as JSON
    and YAML give them: matching checks ``dict``, not ``Mapping``, which is 5 times slower)."""
    return _match_object(pattern, record)


Matcher = Callable[[Any], bool]


def compile_pattern(pattern: Mapping[str, Any]) -> Matcher:
    """A (checked) pattern as a function of the record, as :func:`matches` decides but faster
    (a rule is checked against every event on its bus): a leaf of plain strings is a set lookup."""
    items: list[tuple[str, str, Any]] = []
    for key, expected in _plain(pattern).items():
        if key == "$or" and isinstance(expected, list):
            items.append((key, "or", [compile_pattern(sub) for sub in expected]))
        elif isinstance(expected, dict):
            items.append((key, "object", compile_pattern(expected)))
        else:
            items.append((key, "leaf", _compile_leaf(expected)))

    def match(data: Any) -> bool:
        for key, kind, test in items:
            if kind == "or":
                if not any(sub(data) for sub in test):
                    return False
                continue
            value = data.get(key, _MISSING) if type(data) is dict else _MISSING
            if kind == "object":
                if not test(value if type(value) is dict else {}):
                    return False
            elif not test(value):
                return False
        return True

    return match


def _compile_leaf(matchers: list[Any]) -> Matcher:
    if all(type(m) is str for m in matchers):  # exact strings: a str value in the set (or a list's element)
        strings = frozenset(matchers)

        def literal(value: Any) -> bool:
            if type(value) is str:
                return value in strings
            return type(value) is list and any(type(v) is str and v in strings for v in value)

        return literal
    return lambda value: any(_match_leaf(m, value) for m in matchers)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _match_object(pattern: Mapping[str, Any], data: Any) -> bool:
    for key, expected in pattern.items():
        if key == "$or" and isinstance(expected, list):
            if not any(_match_object(sub, data) for sub in expected):
                return False
            continue
        value = data.get(key, _MISSING) if isinstance(data, dict) else _MISSING
        if isinstance(expected, dict):
            # a nested pattern over a missing or non-object value sees an empty object:
            # only "exists": false leaves can match there
            if not _match_object(expected, value if isinstance(value, dict) else {}):
                return False
        elif not any(_match_leaf(m, value) for m in expected):
            return False
    return True


def _match_leaf(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, dict) and "exists" in matcher:
        present = value is not _MISSING and not isinstance(value, dict)  # leaves only
        return present is matcher["exists"]
    if value is _MISSING or isinstance(value, dict):
        return False
    if isinstance(value, list):
        return any(_match_value(matcher, v) for v in value if not isinstance(v, dict | list))
    return _match_value(matcher, value)


def _match_value(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return _equal(matcher, value)
    ((op, arg),) = matcher.items()
    if op == "numeric":
        return _is_number(value) and _numeric(arg, value)
    if op == "anything-but":
        return not _anything_but_hit(arg, value)
    if op == "cidr":
        return isinstance(value, str) and _in_network(arg, value)
    return isinstance(value, str) and _string_op(op, arg, value)


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return bool(expected == value)  # 5 matches 5.0, as numbers
    if isinstance(expected, bool) or isinstance(value, bool) or expected is None or value is None:
        return expected is value
    return type(expected) is type(value) and bool(expected == value)


def _string_op(op: str, arg: Any, value: str) -> bool:
    if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": s}}
        arg, value = arg["equals-ignore-case"].casefold(), value.casefold()
    if op == "prefix":
        return value.startswith(arg)
    if op == "suffix":
        return value.endswith(arg)
    if op == "wildcard":
        return _wildcard(arg).fullmatch(value) is not None
    return bool(value.casefold() == arg.casefold())


@lru_cache(maxsize=1024)
def _wildcard(text: str) -> re.Pattern[str]:
    """``*`` is any run of characters; ``\\*`` a literal star (EventBridge user guide, "Wildcard matching")."""
    parts = re.split(r"(\\\*|\*)", text)
    return re.compile("".join(".*" if p == "*" else re.escape("*" if p == "\\*" else p) for p in parts), re.DOTALL)


@lru_cache(maxsize=256)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text, strict=False)


def _in_network(network: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in _network(network)
    except ValueError:
        return False


def _anything_but_hit(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        ((op, text),) = arg.items()
        texts = text if isinstance(text, list) else [text]
        return isinstance(value, str) and any(_string_op(op, t, value) for t in texts)
    values = arg if isinstance(arg, list) else [arg]
    return any(_equal(v, value) for v in values)


def _numeric(arg: list[Any], value: float) -> bool:
    for op, bound in zip(arg[0::2], arg[1::2], strict=True):
        ok = {
            "<": value < bound, "<=": value <= bound, "=": value == bound,
            ">": value > bound, ">=": value >= bound,
        }[op]  # fmt: skip
        if not ok:
            return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
