"""router: run AWS Lambda style handlers locally, fired by simulated event sources with
payloads shaped exactly as AWS shapes them. ``from router import Router``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .invocation import Invocation

if TYPE_CHECKING:
    from .api import Router, WaitTimeout

__all__ = ["Invocation", "Router", "WaitTimeout"]


def __getattr__(name: str) -> Any:
    # lazy: `router validate` and `router event` must not pay for the app's imports
    if name in ("Router", "WaitTimeout"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
