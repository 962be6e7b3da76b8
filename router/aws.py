"""The AWS that handlers and sources talk to.

``settings.aws.endpoint``:
- ``embedded`` (default): a moto server in this process, on 127.0.0.1:``settings.aws.port``
  (0 = any free port), served by werkzeug on its own thread. It answers as account
  ``settings.account`` (moto's ``x-moto-account-id``), so ARNs match the config. The path
  ``/2015-03-31/functions/{name}/invocations`` is answered by router (``lambda_api``), the rest
  of the Lambda API from the config (``aws_lambda``), every other request reaches moto. Every
  request first passes ``aws_guard`` (loopback Host, allowed origins, signed requests only).
  Only dummy credentials are used for it: a missing ``AWS_PROFILE`` does not matter.
- a URL: an external moto or LocalStack; router creates only what does not exist yet.
- ``aws``: real AWS with the standard credential chain (nothing is created).

This is the one module that imports moto, boto3 and werkzeug, lazily.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from . import aws_notify, lineage
from .aws_guard import Guard, error
from .aws_lambda import is_lambda, safe_answer
from .aws_resources import ConfigResources
from .config import Config
from .errors import StartupError

log = logging.getLogger(__name__)

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

S3Listener = Callable[[aws_notify.S3Write, "lineage.Cause | None"], None]
# the answer's body: bytes, or an iterator of them (InvokeWithResponseStream's event stream, as it comes)
LambdaApi = Callable[[str, str, dict[str, str], bytes], "tuple[int, dict[str, str], bytes | Iterable[bytes]] | None"]

# moto keeps its state per process: routers embedded in one process share it. Count the
# running embedded servers so the last one to stop resets moto for the next.
_embedded_lock = threading.Lock()
_embedded_running = 0
# one boto3 session for every embedded/URL endpoint of the process: its loader caches the
# service models, so a client costs ~2 ms instead of ~40 ms (sessions are not thread-safe:
# clients and resources are made under the lock)
_session_lock = threading.Lock()
_dummy_session: Any = None


def safe_environment() -> None:
    """Make sure nothing in this process probes the EC2 metadata address or real credentials.

    Called by everything that starts router parts in-process (the daemon, the Python API)."""
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


class Aws(ConfigResources):
    """The AWS endpoint of one router: start it, get clients, give workers their env."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = config.settings
        self.mode = self.settings.aws.endpoint if self.settings.aws.endpoint in ("embedded", "aws") else "url"
        self.endpoint_url: str | None = None if self.mode != "url" else self.settings.aws.endpoint
        self.lambda_api: LambdaApi | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.lineage = lineage.of(config)  # who wrote what (shared with the dispatcher)
        self._s3_listeners: list[S3Listener] = []
        self._stream_listeners: list[Callable[[str], None]] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self, stack: AsyncExitStack) -> None:
        safe_environment()
        if self.mode == "embedded":
            await asyncio.to_thread(self._start_embedded)
            stack.push_async_callback(self._stop_async)
        try:
            await asyncio.to_thread(self.create_resources)
        except StartupError:
            raise
        except Exception as exc:  # botocore: unreachable endpoint, refused credentials, ...
            where = self.endpoint_url or "AWS"
            raise StartupError(f"cannot create the config's resources at {where}: {exc}") from None

    def _start_embedded(self) -> None:
        global _embedded_running
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from . import aws_sqs
        from .aws_server import KeepAliveHandler

        aws_sqs.install()  # the embedded SQS as SQS behaves (FIFO order, sequence numbers)

        aws_notify.install()  # S3 writes through this server notify (on_s3_write)
        guard: list[Guard] = []  # bound once the port is known
        app = self._wsgi_app(_remember_backends(DomainDispatcherApplication(create_backend_app)), guard)
        host = "127.0.0.1"
        # bind here: werkzeug's make_server prints and calls sys.exit() on a taken port
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self.settings.aws.port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise StartupError(
                f"cannot start the embedded AWS on {host}:{self.settings.aws.port}: {exc.strerror or exc}"
                " (settings.aws.port; 0 picks a free port)"
            ) from None
        try:
            self._server = make_server(
                host, sock.getsockname()[1], app, threaded=True, request_handler=KeepAliveHandler, fd=sock.fileno()
            )
        finally:
            sock.close()  # the server holds its own duplicate of the socket
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        guard.append(Guard(port, self.settings.aws.cors, self.settings.aws.admin))
        self.endpoint_url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="router-aws", daemon=True)
        self._thread.start()
        with _embedded_lock:
            _embedded_running += 1
        log.info("embedded AWS (moto) listening on %s", self.endpoint_url)

    def _wsgi_app(self, moto_app: Any, guard: list[Guard]) -> Callable[..., Iterable[bytes]]:
        """The embedded server's WSGI app: the guard, then the Lambda API, then moto (its CORS
        headers replaced by the guard's)."""
        account = self.settings.account

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            refused = guard[0].refuse(environ)  # a refusal, or a preflight answered: as it is
            answer = refused or self._serve_lambda(environ)
            if answer is not None:
                status, headers, body = answer
                pairs = list(headers.items())
                if not refused:
                    pairs = guard[0].response_headers(environ, pairs)
                start_response(f"{status} {_reason(status)}", pairs)
                return [body] if isinstance(body, bytes) else body  # (werkzeug writes each piece as it comes)

            def filtered(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
                return start_response(status, guard[0].response_headers(environ, headers), *exc)

            environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
            if (bad_key := aws_notify.s3_key_problem(environ)) is not None:
                status, headers, body = bad_key
                start_response(f"{status} {_reason(status)}", guard[0].response_headers(environ, list(headers.items())))
                return [body]
            signed = str(environ.get("HTTP_AUTHORIZATION", ""))
            key = lineage.request_key_id(signed, str(environ.get("QUERY_STRING", "")))
            with aws_notify.serving(aws_notify.Request(self._s3_written, self._stream_written, key)):
                result: Iterable[bytes] = moto_app(environ, filtered)
            return result

        return app

    def on_s3_write(self, listener: S3Listener) -> Callable[[], None]:
        """Call ``listener(write, cause)`` for every object written or removed through this
        embedded server (any client; never router's own mirror writes), on the request's thread
        before the response is sent. ``cause``: the function whose workers signed the request
        (and its running invocation, when it is alone), None for any other client. Returns the
        function that removes the listener."""
        self._s3_listeners.append(listener)

        def remove() -> None:
            if listener in self._s3_listeners:
                self._s3_listeners.remove(listener)

        return remove

    def _s3_written(self, write: aws_notify.S3Write, key: str | None) -> None:
        if self._s3_listeners:
            cause = self.lineage.cause(key)
            for listener in list(self._s3_listeners):
                listener(write, cause)

    def on_stream_write(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(table)`` whenever a DynamoDB stream record is written through this
        embedded server (on the request's thread), so stream pollers wake at once instead of
        polling an idle shard several times a second. Returns the function that removes it."""
        self._stream_listeners.append(listener)

        def remove() -> None:
            if listener in self._stream_listeners:
                self._stream_listeners.remove(listener)

        return remove

    def _stream_written(self, table: str, sequence_number: str, key: str | None) -> None:
        for listener in list(self._stream_listeners):
            listener(table)
        cause = self.lineage.cause(key)
        if cause is not None:
            self.lineage.note_stream(table, sequence_number, cause)

    def _serve_lambda(self, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes | Iterable[bytes]] | None:
        """Lambda API requests: Invoke through router's dispatch (``lambda_api``), the control
        plane from the config (``aws_lambda``); None for every other service (moto's)."""
        path = environ.get("PATH_INFO", "")
        if not is_lambda(path, str(environ.get("HTTP_AUTHORIZATION", ""))):
            return None
        method = environ.get("REQUEST_METHOD", "GET")
        if (path.startswith("/2015-03-31/functions/") and path.rstrip("/").endswith("/invocations")) or (
            path.startswith("/2021-11-15/functions/") and path.rstrip("/").endswith("/response-streaming-invocations")
        ):  # Invoke, InvokeWithResponseStream
            if self.lambda_api is None:
                return error(503, "ServiceException", "router's Invoke API is not serving yet (it starts with the "
                             "dispatcher) or has stopped")  # fmt: skip
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            headers = {
                key[5:].replace("_", "-").lower(): str(value)
                for key, value in environ.items()
                if key.startswith("HTTP_")
            }
            if environ.get("CONTENT_TYPE"):
                headers["content-type"] = environ["CONTENT_TYPE"]
            answer = self.lambda_api(method, path, headers, body)
            if answer is not None:
                return answer
        return safe_answer(self.config, method, path, str(environ.get("QUERY_STRING", "")))

    async def _stop_async(self) -> None:
        await asyncio.to_thread(self.stop)

    def stop(self) -> None:
        global _embedded_running
        if self._server is None:
            return
        _shutdown_promptly(self._server)
        self._server.server_close()
        from .aws_server import close_connections

        close_connections(self._server)  # the kept-alive ones (router/aws_server.py)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        if getattr(self, "_queues_kept", False):
            from . import aws_sqs

            aws_sqs.release(self.config.state_dir / "sqs-messages.jsonl")
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        with _embedded_lock:
            _embedded_running -= 1
            last = _embedded_running == 0
        if last:
            _reset_moto()

    # ------------------------------------------------------------------ clients

    def _client_kwargs(self) -> dict[str, Any]:
        from botocore.config import Config as BotoConfig

        kwargs: dict[str, Any] = {
            "region_name": self.settings.region,
            "config": BotoConfig(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5,
                                 read_timeout=60, max_pool_connections=32),
        }  # fmt: skip
        if self.mode != "aws":
            kwargs["endpoint_url"] = self.endpoint_url
            kwargs["aws_access_key_id"] = DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"]
            kwargs["aws_secret_access_key"] = DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
            kwargs["aws_session_token"] = DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"]
        return kwargs

    def client(self, service: str) -> Any:
        """A boto3 client bound to this endpoint (cached: botocore clients are thread-safe)."""
        with self._clients_lock:
            if service not in self._clients:
                kwargs = self._client_kwargs()
                with _session_lock:
                    self._clients[service] = self._session().client(service, **kwargs)
            return self._clients[service]

    def queue_client(self) -> Any:
        """What an SQS mapping receives and deletes with (boto3's ``receive_message``,
        ``delete_message_batch``, ``change_message_visibility_batch``): the embedded moto's SQS
        backend called directly (no HTTP round trip), else the SQS client."""
        if self.mode == "embedded":
            from .aws_sqs import EmbeddedSqs

            return EmbeddedSqs(self.settings.account, self.settings.region)
        return self.client("sqs")

    def streams_client(self) -> Any:
        """What a DynamoDB stream mapping reads with (``describe_table``, ``describe_stream``,
        ``get_shard_iterator``, ``get_records``): the embedded moto's backends called directly
        (no HTTP round trip), else the boto3 clients (router/aws_streams.py)."""
        from . import aws_streams

        if self.mode == "embedded":
            return aws_streams.EmbeddedStreams(self.settings.account, self.settings.region)
        return aws_streams.BotoStreams(self.client)

    def object_writer(self) -> Any:
        """Something with boto3's ``put_object(Bucket=, Key=, Body=)`` and
        ``delete_object(Bucket=, Key=)``: the embedded moto's S3 backend called directly (no
        HTTP round trip: a burst of dropped files is CPU-bound on that), else the S3 client."""
        if self.mode == "embedded":
            return _EmbeddedS3(self.settings.account)
        return self.client("s3")

    def resource(self, service: str) -> Any:
        """A boto3 resource bound to this endpoint (a new one each call: resources are not thread-safe)."""
        kwargs = self._client_kwargs()
        with _session_lock:
            return self._session().resource(service, **kwargs)

    def _session(self) -> Any:
        """A boto3 session. For real AWS, the standard chain (``AWS_PROFILE`` and all). For the
        embedded or a URL endpoint only the dummy credentials count: the user's ``AWS_PROFILE``
        (which may name a profile this machine does not have: boto3 raises ProfileNotFound) and
        config files are not read."""
        import boto3
        import botocore.session

        global _dummy_session
        if self.mode == "aws":
            return boto3.session.Session()
        if _dummy_session is None:
            core = botocore.session.Session()
            # an override in the config store (Session.set_config_variable only reaches custom lookups):
            # AWS_PROFILE / AWS_DEFAULT_PROFILE are not looked at
            core.get_component("config_store").set_config_variable("profile", None)
            _dummy_session = boto3.session.Session(botocore_session=core)
        return _dummy_session

    def worker_env(self) -> dict[str, str]:
        """What a worker needs to talk to this AWS with boto3 / the JS SDK, unchanged."""
        env = {
            "AWS_REGION": self.settings.region,
            "AWS_DEFAULT_REGION": self.settings.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if self.mode == "aws":
            for key, value in os.environ.items():  # the standard credential chain, as configured
                if key.startswith("AWS_") and key not in env:
                    env[key] = value
            return env
        assert self.endpoint_url is not None, "start() first"
        env.update(DUMMY_CREDENTIALS)
        env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    # ------------------------------------------------------------------ resources

    def bucket_names(self) -> list[str]:
        names = list(self.config.resources.buckets)
        for t in self.config.triggers:
            if t.s3 is not None and t.enabled:
                names.append(t.s3.bucket or Path(t.s3.dir or "").name)
        return list(dict.fromkeys(names))

    def reset_resources(self) -> None:
        """Back to what :meth:`create_resources` made (``Router.reset``): the config's tables
        re-created with their seed data (new streams), its buckets empty. In the embedded AWS
        when no other router of this process shares it, everything handlers created in this
        account and region goes too (queues, topics, other tables ...). Real AWS: nothing."""
        if self.mode == "aws":
            return
        if self.mode == "embedded" and _embedded_alone():
            _reset_account(self.settings.account, self.settings.region)
        elif not (self.mode == "embedded" and self._empty_embedded()):
            for kind, delete in (("table", self._delete_tables), ("bucket", self._empty_buckets)):
                try:
                    delete()
                except Exception as exc:
                    where = self.endpoint_url
                    raise StartupError(f"reset: cannot empty the config's {kind}s at {where}: {exc}") from None
        self.create_resources()

class _EmbeddedS3:
    """put/delete objects in the in-process moto backend, as a PutObject request would."""

    def __init__(self, account: str) -> None:
        from moto.s3.models import s3_backends

        self._backend = s3_backends[account]["aws"]

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> None:  # noqa: N803 (boto3's names)
        self._backend.put_object(Bucket, Key, Body)

    def delete_object(self, *, Bucket: str, Key: str) -> None:  # noqa: N803
        self._backend.delete_object(Bucket, Key)


def _remember_backends(dispatcher: Any) -> Any:
    """moto's dispatcher finds a request's service by listing moto's package folder and trying
    its URL patterns, on every request (5 to 15 ms a request, most of a PutEvents call); a
    host's service never changes: remember it."""
    lookup = dispatcher.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(host: str | None) -> Any:
        if host not in known:
            if len(known) > 1024:
                known.clear()
            known[host] = lookup(host)
        return known[host]

    dispatcher.get_backend_for_host = get_backend_for_host
    return dispatcher


def _embedded_alone() -> bool:
    with _embedded_lock:
        return _embedded_running <= 1


def _reset_account(account: str, region: str) -> None:
    """Forget what moto holds for one account in ``region`` (and the global partition: S3,
    IAM), in every service used so far: resets only the backends this process created."""
    from moto.core.base_backend import BackendDict

    instances: list[Any] = list(getattr(BackendDict, "_instances", []))
    for backends in instances:
        per_account = backends.get(account)
        if per_account is None:
            continue
        for name in (region, "aws"):
            backend = dict.get(per_account, name)
            if backend is not None:
                backend.reset()


def _reset_moto() -> None:
    """Forget every resource the embedded moto holds (the last embedded router stopped)."""
    try:
        from moto.backends import get_backend

        for service in ("dynamodb", "dynamodbstreams", "s3", "sqs"):
            for account in list(get_backend(service).keys()):
                for region_backend in get_backend(service)[account].values():
                    region_backend.reset()
    except Exception:  # pragma: no cover - a reset problem must not break a stop
        log.debug("moto reset failed", exc_info=True)


def _shutdown_promptly(server: Any) -> None:
    """``server.shutdown()`` without waiting for the serving loop's 0.5 s poll: a connection
    wakes its select() so that it sees the request at once."""
    host, port = server.server_address[:2]
    stopper = threading.Thread(target=server.shutdown, name="router-aws-stop", daemon=True)
    stopper.start()
    while stopper.is_alive():
        try:
            socket.create_connection((host, port), timeout=0.2).close()
        except OSError:
            pass
        stopper.join(0.01)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"
