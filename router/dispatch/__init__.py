"""Dispatch: policy over the runtimes. Sync invocation, the durable async queue (retries,
max event age, destinations), the journal, replay and the Lambda Invoke API."""

from __future__ import annotations

from .dispatcher import Dispatcher
from .journal import UnknownInvocation

__all__ = ["Dispatcher", "UnknownInvocation"]
