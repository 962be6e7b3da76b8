"""Which invocation caused which: the lineage of writes through the embedded AWS.

Every function's workers get their own dummy access key id (:func:`key_id`), so a request to
the embedded AWS names the function that made it (``Authorization: AWS4-HMAC-SHA256
Credential=AKIAROUTER.../...``). When that function has exactly one invocation running, the
write is that invocation's; otherwise only the function is known.

A *chain* counts, per function, the invocations caused by one first event (an HTTP request, a
file dropped, a test's ``put_object``). Lambda stops a chain that invokes one function more
than :data:`RECURSION_LIMIT` times ("If a function is invoked by the same triggering event more
than 16 times, Lambda will stop the next invocation and sends the event to a Dead-Letter Queue
or on-failure destination": AWS What's New, 2023-07-13; Lambda developer guide, "Lambda
recursive loop detection", which lists Amazon S3 among the supported services).

One :class:`Lineage` per config file and account in the process (:func:`of`): the embedded
AWS (which sees the writes) and the dispatcher (which runs the invocations) share it.
Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections import OrderedDict
from typing import Any

KEY_PREFIX = "AKIAROUTER"  # + 10 characters: 20, the length of an AWS access key id
RECURSION_LIMIT = 16
_STREAM_NOTES = 100_000  # stream records whose writer is remembered (oldest forgotten first)
_CREDENTIAL = re.compile(r"Credential=(?P<key>[A-Z0-9]+)/")

Cause = dict[str, Any]  # {"function": F, "request_id": R (when known), "chain": {function: n}}

_registry: dict[tuple[str, str], Lineage] = {}
_registry_lock = threading.Lock()


def key_id(function: str) -> str:
    """The dummy access key id of ``function``'s workers: stable across runs and machines."""
    digest = hashlib.sha256(function.encode()).digest()
    return KEY_PREFIX + base64.b32encode(digest).decode()[:10]


def request_key_id(authorization: str, query: str = "") -> str | None:
    """The access key id a request was signed with (header or presigned query), if any."""
    m = _CREDENTIAL.search(authorization) or re.search(r"X-Amz-Credential=(?P<key>[A-Z0-9]+)(?:/|%2F)", query)
    return m["key"] if m else None


def of(config: Any) -> Lineage:
    """The lineage of ``config``'s router(s) in this process."""
    key = (str(config.path), str(config.settings.account))
    with _registry_lock:
        found = _registry.get(key)
        if found is None:
            found = _registry[key] = Lineage()
        found.functions(config.functions)
        return found


class Lineage:
    """Running invocations per function, and who wrote the stream records not yet read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, str] = {}
        self._running: dict[str, dict[str, dict[str, int]]] = {}  # function -> request id -> chain
        self._stream: OrderedDict[tuple[str, str], Cause] = OrderedDict()
        self._warned: set[str] = set()

    def functions(self, names: Any) -> None:
        with self._lock:
            self._by_key = {key_id(name): name for name in names}

    def function_of(self, key: str | None) -> str | None:
        return None if key is None else self._by_key.get(key)

    # ------------------------------------------------------------------ invocations

    def begin(self, function: str, request_id: str, cause: Cause | None) -> dict[str, int]:
        """An invocation starts: its chain (its cause's, with this function counted once more)."""
        chain = dict(cause.get("chain", {})) if cause else {}
        chain[function] = chain.get(function, 0) + 1
        with self._lock:
            self._running.setdefault(function, {})[request_id] = chain
        return chain

    def end(self, function: str, request_id: str) -> None:
        with self._lock:
            running = self._running.get(function)
            if running is not None:
                running.pop(request_id, None)

    def cause(self, key: str | None) -> Cause | None:
        """Who made a request signed with ``key``: the function, and the request id and chain of
        its invocation when it is the only one running; None for a key no function has."""
        function = self.function_of(key)
        if function is None:
            return None
        with self._lock:
            running = list(self._running.get(function, {}).items())
        if len(running) == 1:
            request_id, chain = running[0]
            return {"function": function, "request_id": request_id, "chain": dict(chain)}
        # several running (or none left): the writer is unknown, its chain is taken as the longest
        # of theirs, so a loop cannot escape the limit by running in parallel
        merged: dict[str, int] = {}
        for _, chain in running:
            for name, n in chain.items():
                merged[name] = max(merged.get(name, 0), n)
        return {"function": function, "chain": merged} if merged else {"function": function}

    def first_loop_warning(self, function: str) -> bool:
        """True once per function: the first time a chain of it goes over the limit."""
        with self._lock:
            if function in self._warned:
                return False
            self._warned.add(function)
            return True

    # ------------------------------------------------------------------ stream records

    def note_stream(self, table: str, sequence_number: str, cause: Cause) -> None:
        with self._lock:
            self._stream[(table, sequence_number)] = cause
            while len(self._stream) > _STREAM_NOTES:
                self._stream.popitem(last=False)

    def stream_cause(self, event: Any) -> Cause | None:
        """The writer of the first record of a DynamoDB Streams event that has one."""
        records = event.get("Records") if isinstance(event, dict) else None
        for record in records if isinstance(records, list) else ():
            try:
                table = str(record["eventSourceARN"]).split(":table/", 1)[1].split("/", 1)[0]
                seq = str(record["dynamodb"]["SequenceNumber"])
            except (KeyError, IndexError, TypeError):
                continue
            with self._lock:
                found = self._stream.get((table, seq))
            if found is not None:
                return found
        return None


def loop_count(cause: Cause | None, function: str) -> int:
    """How many times ``function`` would have run in its cause's chain with this event."""
    return int((cause or {}).get("chain", {}).get(function, 0)) + 1


def loop_message(function: str, event: Any, count: int, prefix: str) -> str:
    """The warning for a chain stopped at the limit, naming the bucket and prefix written (or
    the SNS topic published to)."""
    bucket, where = "?", ""
    try:
        bucket = event["Records"][0]["s3"]["bucket"]["name"]
    except (KeyError, IndexError, TypeError):
        try:
            where = f"publishes to topic {str(event['Records'][0]['Sns']['TopicArn']).rsplit(':', 1)[-1]}"
        except (KeyError, IndexError, TypeError):
            pass
    where = where or f"writes to s3://{bucket}/{prefix}"
    return (f"{function}: recursive loop: its own {where} have triggered it {count - 1} times "
            f"in one chain; stopped as Lambda stops such loops after {RECURSION_LIMIT} (recursive loop detection): "
            "this event goes to the on-failure destination (or the dead letters), the next loops are stopped quietly")


def journal_cause(cause: Cause) -> dict[str, str]:
    """What the journal keeps of a cause (``Invocation.extra["cause"]``): function, request id."""
    return {k: cause[k] for k in ("function", "request_id") if k in cause}
