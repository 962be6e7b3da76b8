"""The dashboard's JSON API (docs/dashboard.md): what the page reads and the actions it takes.

Reads go through :class:`.queries.Reader` (a read connection of its own); actions through the
running app's own parts: the dispatcher (replay, invoke, enqueue, dead letters), the control
channel's handler (``fire``, as ``router fire``), the s3 source (``drop``), the embedded AWS's
clients (send, publish, put-event), and ``router event``'s builders for a trigger's sample
event.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import RouterError
from . import queries, resources
from .live import LiveFeed
from .server import BadRequest, Request, Response, error_response, json_response

log = logging.getLogger(__name__)

Route = Callable[[Request], Awaitable[Response]]


class Api:
    """The routes of one running :class:`router.app.App`."""

    def __init__(self, app: Any, reader: queries.Reader, assets: dict[str, tuple[str, bytes]],
                 token: Callable[[], str]) -> None:  # fmt: skip
        self.app = app
        self.reader = reader
        self.assets = assets
        self.token = token
        self.feed = LiveFeed(app.dispatcher.subscribe)
        self.get: dict[str, Route] = {
            "/api/overview": self.overview, "/api/invocations": self.invocations, "/api/invocation": self.invocation,
            "/api/events": self.events, "/api/queue": self.queue, "/api/sample": self.sample,
            "/api/session": self.session,
        }  # fmt: skip
        self.post: dict[str, Route] = {
            "/api/replay": self.replay, "/api/fire": self.fire, "/api/invoke": self.invoke, "/api/drop": self.drop,
            "/api/queue/retry": self.retry_queued, "/api/dead-letters/retry": self.retry_dead_letter,
            "/api/dead-letters/discard": self.discard_dead_letter,
            "/api/send": self.send, "/api/publish": self.publish, "/api/put-event": self.put_event,
        }  # fmt: skip

    async def handle(self, req: Request) -> Response:
        table = self.get if req.method in ("GET", "HEAD") else self.post if req.method == "POST" else None
        if table is None:
            return error_response(405, f"{req.method} is not served here (GET and POST)")
        route = table.get(req.path)
        if route is not None:
            return await route(req)
        if req.method == "GET" and (asset := self._asset(req.path)) is not None:
            return asset
        other = self.post if table is self.get else self.get
        if req.path in other:
            return error_response(405, f"{req.path} takes {'POST' if other is self.post else 'GET'}")
        return error_response(404, f"no such page or API: {req.path}")

    def _asset(self, path: str) -> Response | None:
        name = "index.html" if path in ("/", "/index.html") else path.removeprefix("/static/")
        found = self.assets.get(name)
        if found is None:
            return None
        content_type, body = found
        if name == "index.html":
            body = body.replace(b"{{TOKEN}}", self.token().encode())
        return Response(200, body, content_type)

    # ------------------------------------------------------------------ reads

    async def session(self, req: Request) -> Response:
        return json_response({"token": self.token(), "config": str(self.app.config.path)})

    async def overview(self, req: Request) -> Response:
        app = self.app
        await self._synced()
        stats, counts = await self.reader.run(lambda c: (queries.stats(c), queries.counts(c)))
        functions = []
        for name, f in app.config.functions.items():
            s = stats.get(name, {})
            functions.append({"name": name, "runtime": f.runtime, "handler": f.handler, "timeout": f.timeout,
                              "memory": f.memory, "concurrency": f.concurrency, **_workers(app, name),
                              "invocations": s.get("invocations", 0), "errors": s.get("errors", 0),
                              "p50_ms": s.get("p50_ms"), "p99_ms": s.get("p99_ms"), "last": s.get("last")})  # fmt: skip
        aws = await asyncio.to_thread(resources.aws_resources, app)
        return json_response({"config": str(app.config.path), "functions": functions,
                              "triggers": resources.triggers(app), "aws": aws,
                              "queue": {**counts, "pending": app.dispatcher.pending()},
                              "now": time.time()})  # fmt: skip

    async def invocations(self, req: Request) -> Response:
        q = req.query
        await self._synced()
        result = await self.reader.run(lambda c: queries.page(
            c, function=q.get("function") or None, source=q.get("source") or None, status=q.get("status") or None,
            before=_int(q.get("before"), "before"), limit=_int(q.get("limit"), "limit") or 100))  # fmt: skip
        return json_response(result)

    async def invocation(self, req: Request) -> Response:
        seq, invocation_id = _int(req.query.get("seq"), "seq"), req.query.get("id")
        if seq is None and not invocation_id:
            raise BadRequest("give seq=N or id=REQUEST_ID")
        await self._synced()
        found = await self.reader.run(lambda c: queries.one(c, seq=seq, invocation_id=invocation_id))
        if found is None:
            raise BadRequest(f"no journaled invocation {seq if seq is not None else invocation_id}", 404)
        return json_response(found)

    async def events(self, req: Request) -> Response:
        return Response(200, content_type="text/event-stream", stream=self.feed.stream())

    async def queue(self, req: Request) -> Response:
        queued, dead = await self.reader.run(lambda c: (queries.queued(c), queries.dead_letters(c)))
        return json_response({"queued": queued, "dead_letters": dead, "now": time.time()})

    async def sample(self, req: Request) -> Response:
        trigger = self._trigger(req.query.get("trigger"))
        return json_response({"trigger": trigger.name, "kind": trigger.kind, "function": trigger.function,
                              "event": sample_event(self.app.config, trigger)})  # fmt: skip

    # ------------------------------------------------------------------ actions

    async def replay(self, req: Request) -> Response:
        invocation_id = _field(req.json(), "id", str)
        from ..dispatch.journal import UnknownInvocation

        try:
            inv = await self.app.dispatcher.replay(invocation_id)
        except UnknownInvocation as exc:
            raise BadRequest(str(exc), 404) from None
        except RouterError as exc:
            raise BadRequest(str(exc)) from None
        return json_response(queries.summary(inv))

    async def fire(self, req: Request) -> Response:
        from ..control import app_handler

        body = req.json()
        try:
            answer = await app_handler(self.app)({"op": "fire", "trigger": _field(body, "trigger", str),
                                                  "input": body.get("input")})  # fmt: skip
        except RouterError as exc:
            raise BadRequest(str(exc)) from None
        return json_response(answer)

    async def invoke(self, req: Request) -> Response:
        body = req.json()
        function = _field(body, "function", str)
        trigger = body.get("trigger") if isinstance(body.get("trigger"), str) else None
        if "event" not in body:
            raise BadRequest("invoke needs an 'event' (any JSON value)")
        d = self.app.dispatcher
        try:
            d.check_function(function)
            if body.get("async"):
                return json_response({"event_id": await d.enqueue(function, body["event"], trigger=trigger)})
            inv = await d.invoke(function, body["event"], trigger=trigger, extra={"via": "dashboard"})
        except RouterError as exc:
            raise BadRequest(str(exc)) from None
        return json_response(queries.summary(inv))

    async def drop(self, req: Request) -> Response:
        body = req.json()
        trigger, key = _field(body, "trigger", str), _field(body, "key", str)
        try:
            data = base64.b64decode(_field(body, "data_base64", str), validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("'data_base64' is not base64") from None
        source = self.app.sources.get("s3")
        if source is None:
            raise BadRequest("no s3 trigger is running")
        try:
            path = await asyncio.to_thread(source.drop, trigger, key, data)
        except RouterError as exc:
            raise BadRequest(str(exc)) from None
        return json_response({"trigger": trigger, "key": key, "path": str(path), "size": len(data)})

    async def retry_queued(self, req: Request) -> Response:
        """A queued event waiting for its retry delay (or a backoff) runs as soon as a worker is free."""
        event_id = _field(req.json(), "id", str)
        due = self.app.dispatcher.queue.due_now(event_id)
        if due is None:
            raise BadRequest(f"event {event_id} is not waiting in the async queue (running, ended or unknown)", 409)
        return json_response({"id": event_id, "due_at": due})

    async def retry_dead_letter(self, req: Request) -> Response:
        """Queue a dead letter's event again as a new async event (its attempts start over),
        and remove the dead letter."""
        dead_id = _field(req.json(), "id", str)
        row = await self.reader.run(lambda c: c.execute(
            "SELECT function, trigger, record FROM dead_letters WHERE id = ?", (dead_id,)).fetchone())  # fmt: skip
        if row is None:
            raise BadRequest(f"no dead letter {dead_id!r}", 404)
        event = json.loads(row[2]).get("requestPayload")
        try:
            event_id = await self.app.dispatcher.enqueue(row[0], event, trigger=row[1], source="replay")
        except RouterError as exc:
            raise BadRequest(str(exc)) from None
        await self._delete_dead_letter(dead_id)
        return json_response({"event_id": event_id, "function": row[0]})

    async def discard_dead_letter(self, req: Request) -> Response:
        dead_id = _field(req.json(), "id", str)
        if not await self._delete_dead_letter(dead_id):
            raise BadRequest(f"no dead letter {dead_id!r}", 404)
        return json_response({"discarded": dead_id})

    async def _delete_dead_letter(self, dead_id: str) -> bool:
        def op(conn: Any) -> bool:
            return int(conn.execute("DELETE FROM dead_letters WHERE id = ?", (dead_id,)).rowcount) > 0

        return bool(await asyncio.wrap_future(self.app.dispatcher.writer.submit(op)))

    async def send(self, req: Request) -> Response:
        body = req.json()
        return json_response(await self._aws(resources.send_message, _field(body, "queue", str),
                                             _field(body, "body", str)))  # fmt: skip

    async def publish(self, req: Request) -> Response:
        body = req.json()
        return json_response(await self._aws(resources.publish, _field(body, "topic", str),
                                             _field(body, "message", str)))  # fmt: skip

    async def put_event(self, req: Request) -> Response:
        body = req.json()
        detail = body.get("detail", {})
        return json_response(await self._aws(resources.put_event, str(body.get("bus") or "default"),
                                             _field(body, "source", str), _field(body, "detail_type", str),
                                             detail if isinstance(detail, str) else json.dumps(detail)))  # fmt: skip

    async def _aws(self, fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(fn, self.app, *args)
        except RouterError as exc:
            raise BadRequest(str(exc)) from None

    # ------------------------------------------------------------------ helpers

    def _trigger(self, name: Any) -> Any:
        config = self.app.config
        for t in config.triggers:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in config.triggers) or "none"
        raise BadRequest(f"no trigger {name!r} in {config.path.name} (triggers: {known})", 404)

    async def _synced(self) -> None:
        """Until every invocation finished so far is in the journal."""
        journal = self.app.dispatcher.journal
        if journal.running:
            await asyncio.wrap_future(journal.sync())


def _workers(app: Any, function: str) -> dict[str, int | None]:
    try:
        return {"workers": app.runtimes.workers(function), "busy": app.runtimes.busy(function)}
    except Exception:  # a function a live edit has just added or removed
        return {"workers": None, "busy": None}


def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r}: expected an integer") from None


def _field(body: Any, name: str, kind: type) -> Any:
    if not isinstance(body, dict):
        raise BadRequest("the request body is a JSON object")
    value = body.get(name)
    if not isinstance(value, kind) or value == "":
        raise BadRequest(f"{name!r} is required ({kind.__name__})")
    return value


EVENT_KINDS = {"s3": "s3", "schedule": "schedule", "dynamodb": "dynamodb", "sqs": "sqs", "sns": "sns",
               "eventbridge": "eventbridge"}  # fmt: skip


def sample_event(config: Any, trigger: Any) -> Any:
    """The event ``router event KIND -c CONFIG --trigger NAME`` prints: router's own builder
    for the trigger's kind, with the trigger's settings."""
    from ..cli.event import event_command

    kind = EVENT_KINDS.get(trigger.kind)
    if trigger.kind == "http":
        kind = "apigw" if trigger.http.payload == "1.0" else "http-api"
    commands = getattr(event_command, "commands", {})
    if kind is None or kind not in commands:
        raise BadRequest(f"`router event` has no builder for {trigger.kind} triggers yet: write the event by hand")
    out = io.StringIO()
    import click

    try:
        with contextlib.redirect_stdout(out):
            event_command.main([kind, "-c", str(config.path), "--trigger", trigger.name], prog_name="router event",
                               standalone_mode=False)  # fmt: skip
    except click.ClickException as exc:
        raise BadRequest(f"router event {kind} --trigger {trigger.name}: {exc.format_message()}") from None
    return json.loads(out.getvalue())
