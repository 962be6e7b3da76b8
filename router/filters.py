"""Lambda event filtering (``FilterCriteria``) over stream records, in EventBridge pattern syntax.

Lambda developer guide, "Control which events Lambda sends to your function": up to five
patterns, ORed; a record that matches none is dropped (never delivered, but its sequence
number still counts as processed). Within one pattern every key must match (AND); a leaf is
a list of matchers of which one must match (OR)::

    {"eventName": ["INSERT", "MODIFY"],
     "dynamodb": {"NewImage": {"status": {"S": [{"prefix": "pay"}]},
                               "note": {"S": [{"exists": false}]}}}}

Matchers: a literal (string, number, true/false, null), ``{"prefix": s}``, ``{"suffix": s}``,
``{"equals-ignore-case": s}``, ``{"anything-but": literal | [literals] | {"prefix"|"suffix": s}}``,
``{"numeric": ["<", 10]}`` / ``{"numeric": [">=", 0, "<", 10]}`` and ``{"exists": bool}``.
A list value in the record matches when one of its elements matches. ``numeric`` matches
JSON numbers only: DynamoDB writes numbers in images as strings (``{"N": "42"}``), so as in
AWS a ``numeric`` filter on an ``N`` attribute matches nothing; it works on
``SizeBytes`` and ``ApproximateCreationDateTime``. ``exists`` applies to leaves only (the
attribute's type key: ``{"total": {"N": [{"exists": true}]}}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MAX_PATTERNS = 5
_MISSING = object()
_NUMERIC_OPS = ("<", "<=", "=", ">", ">=")
_STRING_OPS = ("prefix", "suffix", "equals-ignore-case")


class FilterError(ValueError):
    """A pattern that Lambda would refuse; the message names where."""


def check_patterns(patterns: Sequence[Any], where: str = "filter") -> None:
    """Raise :class:`FilterError` naming the first problem (``filter[1].dynamodb.Keys.pk.S``)."""
    if len(patterns) > MAX_PATTERNS:
        raise FilterError(f"{where}: at most {MAX_PATTERNS} patterns (Lambda's default quota), got {len(patterns)}")
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, Mapping) or not pattern:
            raise FilterError(f"{where}[{i}]: a pattern is a non-empty mapping of record keys")
        _check_object(pattern, f"{where}[{i}]")


def _check_object(pattern: Mapping[Any, Any], path: str) -> None:
    for key, value in pattern.items():
        here = f"{path}.{key}"
        if not isinstance(key, str):
            raise FilterError(f"{here}: keys are strings")
        if isinstance(value, Mapping):
            if not value:
                raise FilterError(f"{here}: an empty mapping matches nothing; remove it")
            _check_object(value, here)
        elif isinstance(value, list):
            if not value:
                raise FilterError(f"{here}: a list of values to match must not be empty")
            for n, matcher in enumerate(value):
                _check_matcher(matcher, f"{here}[{n}]")
        else:
            raise FilterError(f"{here}: expected a list of values to match (e.g. [{value!r}]) or a nested mapping")


def _check_matcher(matcher: Any, path: str) -> None:
    if matcher is None or isinstance(matcher, str | int | float | bool):
        return
    if not isinstance(matcher, Mapping) or len(matcher) != 1:
        raise FilterError(f"{path}: expected a literal or a one-key rule such as {{'prefix': 'a'}}, got {matcher!r}")
    ((op, arg),) = matcher.items()
    if op in _STRING_OPS:
        if not isinstance(arg, str):
            raise FilterError(f"{path}.{op}: expected a string, got {arg!r}")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise FilterError(f"{path}.exists: expected true or false, got {arg!r}")
    elif op == "numeric":
        _check_numeric(arg, f"{path}.numeric")
    elif op == "anything-but":
        _check_anything_but(arg, f"{path}.anything-but")
    else:
        raise FilterError(
            f"{path}: unknown rule {op!r}; Lambda supports prefix, suffix, equals-ignore-case, "
            "anything-but, numeric and exists"
        )


def _check_numeric(arg: Any, path: str) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise FilterError(f"{path}: expected [op, number] or [op, number, op, number], got {arg!r}")
    ops, numbers = arg[0::2], arg[1::2]
    for op in ops:
        if op not in _NUMERIC_OPS:
            raise FilterError(f"{path}: unknown operator {op!r}; expected one of {', '.join(_NUMERIC_OPS)}")
    for number in numbers:
        if not _is_number(number):
            raise FilterError(f"{path}: {number!r} is not a number")
    if len(arg) == 4 and not (ops[0] in (">", ">=") and ops[1] in ("<", "<=") and numbers[0] <= numbers[1]):
        raise FilterError(f"{path}: a range is ['>' or '>=', low, '<' or '<=', high] with low <= high")


def _check_anything_but(arg: Any, path: str) -> None:
    if isinstance(arg, Mapping):
        if len(arg) != 1 or next(iter(arg)) not in _STRING_OPS or not isinstance(next(iter(arg.values())), str):
            raise FilterError(f"{path}: expected {{'prefix': s}}, {{'suffix': s}} or {{'equals-ignore-case': s}}")
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

    def __init__(self, patterns: Sequence[Mapping[str, Any]] = (), where: str = "filter") -> None:
        check_patterns(patterns, where)
        self.patterns = [dict(p) for p in patterns]

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, record: Mapping[str, Any]) -> bool:
        return not self.patterns or any(_match_object(p, record) for p in self.patterns)


def matches(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether one (checked) pattern matches a record."""
    return _match_object(pattern, record)


def _match_object(pattern: Mapping[str, Any], data: Any) -> bool:
    for key, expected in pattern.items():
        value = data.get(key, _MISSING) if isinstance(data, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            # a nested pattern over a missing or non-object value sees an empty object:
            # only "exists": false leaves can match there
            if not _match_object(expected, value if isinstance(value, Mapping) else {}):
                return False
        elif not any(_match_leaf(m, value) for m in expected):
            return False
    return True


def _match_leaf(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, Mapping) and "exists" in matcher:
        present = value is not _MISSING and not isinstance(value, Mapping)  # leaves only
        return present is matcher["exists"]
    if value is _MISSING or isinstance(value, Mapping):
        return False
    if isinstance(value, list):
        return any(_match_value(matcher, v) for v in value if not isinstance(v, Mapping | list))
    return _match_value(matcher, value)


def _match_value(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return _equal(matcher, value)
    ((op, arg),) = matcher.items()
    if op == "numeric":
        return _is_number(value) and _numeric(arg, value)
    if op == "anything-but":
        return not _anything_but_hit(arg, value)
    return isinstance(value, str) and _string_op(op, arg, value)


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return bool(expected == value)  # 5 matches 5.0, as numbers
    if isinstance(expected, bool) or isinstance(value, bool) or expected is None or value is None:
        return expected is value
    return type(expected) is type(value) and bool(expected == value)


def _string_op(op: str, arg: str, value: str) -> bool:
    if op == "prefix":
        return value.startswith(arg)
    if op == "suffix":
        return value.endswith(arg)
    return value.casefold() == arg.casefold()


def _anything_but_hit(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        ((op, text),) = arg.items()
        return isinstance(value, str) and _string_op(op, text, value)
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
