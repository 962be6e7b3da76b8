"""Shared helpers for the payload tests: the AWS documentation's example events, and a
key-for-key comparison that reports every difference by its path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> dict[str, Any]:
    """A fixture file: ``{"source": URL, "event": {...}, ...}``."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert data["source"].startswith("https://docs.aws.amazon.com/")
    return data


def key_differences(ours: Any, theirs: Any, path: str = "$") -> list[str]:
    """Where the two payloads differ in their keys (recursively through objects and lists)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = [f"{path}.{k}: only in ours" for k in ours.keys() - theirs.keys()]
        out += [f"{path}.{k}: only in the AWS example" for k in theirs.keys() - ours.keys()]
        for k in ours.keys() & theirs.keys():
            out += key_differences(ours[k], theirs[k], f"{path}.{k}")
        return sorted(out)
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [
            d for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for d in key_differences(a, b, f"{path}[{i}]")
        ]
    if type(ours) is not type(theirs) and not (ours is None or theirs is None):
        return [f"{path}: {type(ours).__name__} in ours, {type(theirs).__name__} in the AWS example"]
    return []


@pytest.fixture
def fixture() -> Any:
    return load_fixture
