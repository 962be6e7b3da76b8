"""The dashboard ``router run`` serves on ``settings.ui`` (docs/dashboard.md).

Its own port (never a path of the HTTP source, so it cannot collide with the user's routes),
loopback unless configured otherwise. The page is plain ES modules and CSS shipped in this
package (``static/``): no build step, nothing fetched at run time. See :mod:`.server` for the
server and who may call it, :mod:`.api` for the JSON API, :mod:`.queries` for the journal's
queries and :mod:`.live` for the live table's server-sent events.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from importlib.resources import files
from typing import Any

from .api import Api
from .queries import Reader
from .server import Server

log = logging.getLogger(__name__)

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}  # fmt: skip


def assets() -> dict[str, tuple[str, bytes]]:
    """The page's files by name: (content type, bytes)."""
    out = {}
    for item in files(__name__).joinpath("static").iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if item.is_file() and suffix in TYPES:
            out[item.name] = (TYPES[suffix], item.read_bytes())
    return out


async def serve(app: Any, stack: AsyncExitStack, *, host: str | None = None, port: int | None = None) -> Server | None:
    """Serve the dashboard of a started ``app`` until ``stack`` closes. None (and a warning)
    when its port is taken: the daemon runs on without it."""
    ui = app.config.settings.ui
    host = ui.host if host is None else host
    port = ui.port if port is None else port
    reader = Reader(app.store)
    holder: list[Server] = []
    api = Api(app, reader, assets(), token=lambda: holder[0].gate.token if holder[0].gate else "")
    server = Server(api.handle, host, port)
    holder.append(server)
    try:
        await server.start()
    except OSError as exc:
        reader.close()
        log.warning("dashboard: cannot listen on %s:%d (%s): running without it (set settings.ui.port, "
                    "or `router run --no-ui`)", host, port, exc.strerror or exc)  # fmt: skip
        return None
    stack.callback(reader.close)
    stack.callback(api.feed.close)
    stack.push_async_callback(server.stop)
    return server
