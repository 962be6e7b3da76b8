"""S3 writes made through the embedded AWS, as facts for notifications (and stream lineage).

moto already calls ``moto.s3.notifications.send_event`` for PutObject (``ObjectCreated:Put``,
``:Post`` for a POST upload), CopyObject (``:Copy``), CompleteMultipartUpload and the delete of
an object of an unversioned bucket; its own delivery to Lambda runs Docker and swallows errors.
Here that function is wrapped (moto still does what it did) and ``S3Backend`` is wrapped where
moto says nothing or too much:

- ``delete_object``: every successful delete is reported here, after it: on a versioned bucket
  a delete without a version id creates a delete marker (``ObjectRemoved:DeleteMarkerCreated``,
  with the marker's version id), a delete of one version removes it for good
  (``ObjectRemoved:Delete``) (Amazon S3 user guide, "Supported event types": "Delete ... a
  versioned object is permanently deleted"; "DeleteMarkerCreated ... a delete marker is created
  for a versioned object"); DeleteObjects deletes key by key through it;
- ``complete_multipart_upload``: moto's inner PutObject event is dropped (S3 sends only
  ``ObjectCreated:CompleteMultipartUpload``).

Only writes made while serving a request of the embedded server count (:func:`serving` marks
the request's thread): router's own mirror writes call the backend directly and fire nothing.
DynamoDB stream records written while serving a request are handed to the same sink, for
lineage (who wrote the record that a stream invocation reads).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# what S3 can notify of a write (Amazon S3 user guide, "Supported event types")
_NOTIFIED = frozenset({"ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:Copy",
                       "ObjectCreated:CompleteMultipartUpload"})  # fmt: skip

MAX_KEY_BYTES = 1024
_local = threading.local()
_install_lock = threading.Lock()
_installed = False


@dataclass(frozen=True)
class S3Write:
    """One object written or removed, as S3 would notify it."""

    event: str  # the record's eventName, e.g. ObjectCreated:Put
    bucket: str
    key: str
    size: int | None  # None for a removal
    etag: str | None
    version_id: str | None  # only on a versioning-enabled bucket
    read: Callable[[], bytes] | None = None  # the object's bytes (a creation)


@dataclass
class Request:
    """The request the current thread serves: where its writes go."""

    on_s3: Callable[[S3Write, str | None], None]  # (the write, the request's access key id)
    on_stream: Callable[[str, str, str | None], None]  # (table, sequence number, key id) of a stream record
    key: str | None = None  # the access key id the request was signed with
    in_delete: int = 0
    in_multipart: int = 0


@contextmanager
def serving(request: Request) -> Iterator[None]:
    """Mark this thread as serving ``request`` while moto handles it."""
    previous = getattr(_local, "request", None)
    _local.request = request
    try:
        yield
    finally:
        _local.request = previous


def s3_key_problem(environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
    """S3's refusal of a request whose object key is over 1,024 bytes of UTF-8 or not UTF-8 at
    all (Amazon S3 user guide, "Naming Amazon S3 objects": a key is a sequence of Unicode
    characters whose UTF-8 encoding is at most 1,024 bytes; S3 API reference, "Error
    responses": KeyTooLongError "Your key is too long", InvalidURI "Couldn't parse the
    specified URI.", both 400). None for any other request."""
    scope = re.search(r"Credential=[^/,\s]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request",
                      str(environ.get("HTTP_AUTHORIZATION", "")))  # fmt: skip
    if scope is None or scope["service"] != "s3":
        return None
    raw = str(environ.get("PATH_INFO", "")).encode("latin-1", "replace")  # WSGI: the path's bytes
    host = str(environ.get("HTTP_HOST", "")).split(":")[0]
    virtual = host.endswith(".localhost")  # bucket.localhost: the path is the key
    key = raw[1:] if virtual else (raw[1:].split(b"/", 1) + [b""])[1]
    if len(key) > MAX_KEY_BYTES:
        return _s3_error("KeyTooLongError", "Your key is too long", len(key))
    try:
        key.decode("utf-8")
    except UnicodeDecodeError:
        return _s3_error("InvalidURI", "Couldn't parse the specified URI.", None)
    return None


def _s3_error(code: str, message: str, size: int | None) -> tuple[int, dict[str, str], bytes]:
    detail = f"<Size>{size}</Size><MaxSizeAllowed>{MAX_KEY_BYTES}</MaxSizeAllowed>" if size is not None else ""
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"{detail}<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>").encode()  # fmt: skip
    return 400, {"Content-Type": "application/xml", "Content-Length": str(len(body))}, body


def _current() -> Request | None:
    return getattr(_local, "request", None)


def install() -> None:
    """Wrap moto's notification and backend functions once per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.dynamodb.models.table import StreamShard
        from moto.s3 import models as s3_models
        from moto.s3 import notifications

        notifications.send_event = _wrap_send_event(notifications.send_event)
        backend = s3_models.S3Backend
        backend.delete_object = _wrap_delete(backend.delete_object)  # type: ignore[method-assign]
        backend.complete_multipart_upload = _wrap_multipart(backend.complete_multipart_upload)  # type: ignore[method-assign]
        StreamShard.add = _wrap_stream_add(StreamShard.add)  # type: ignore[method-assign]
        _installed = True


def _emit(request: Request, event: str, bucket: Any, key: Any, *, removed: bool = False,
          version_id: str | None = None) -> None:  # fmt: skip
    versioned = bool(getattr(bucket, "is_versioned", False))
    if version_id is None and versioned and key is not None:
        version_id = str(key.version_id)
    write = S3Write(
        event=event, bucket=str(bucket.name), key=str(getattr(key, "name", "")),
        size=None if removed else int(key.size), etag=None if removed else str(key.etag).strip('"'),
        version_id=version_id if versioned else None, read=None if removed else functools.partial(_value, key),
    )  # fmt: skip
    try:
        request.on_s3(write, request.key)
    except Exception:  # a notification problem must not fail the client's request
        log.exception("s3: could not notify %s of s3://%s/%s", event, write.bucket, write.key)


def _value(key: Any) -> bytes:
    return bytes(key.value)


def _wrap_send_event(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        original(account_id, event_name, bucket, key)
        request = _current()
        name = str(getattr(event_name, "value", event_name)).removeprefix("s3:")
        if request is None or key is None or name not in _NOTIFIED | {"ObjectRemoved:Delete"}:
            return
        if name == "ObjectRemoved:Delete" and request.in_delete:
            return  # reported by the delete_object wrapper, with what moto leaves out
        if name == "ObjectCreated:Put" and request.in_multipart:
            return  # CompleteMultipartUpload's inner put
        _emit(request, name, bucket, key, removed=name.startswith("ObjectRemoved"))

    return send_event


def _wrap_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_object(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        request = _current()
        if request is None:
            return original(self, bucket_name, key_name, *args, **kwargs)
        version_id = kwargs.get("version_id", args[0] if args else None)
        bucket = self.get_bucket(bucket_name)
        gone = bucket.keys.get(key_name)
        request.in_delete += 1
        try:
            result = original(self, bucket_name, key_name, *args, **kwargs)
        finally:
            request.in_delete -= 1
        ok, meta = result
        if not ok:
            return result

        class _Key:  # what a removal record needs of the key
            name = key_name

        if bucket.is_versioned and version_id is None:
            _emit(request, "ObjectRemoved:DeleteMarkerCreated", bucket, _Key, removed=True,
                  version_id=str(meta.get("version-id")))  # fmt: skip
        elif gone is not None or version_id is not None:
            _emit(request, "ObjectRemoved:Delete", bucket, _Key, removed=True,
                  version_id=None if version_id is None else str(version_id))  # fmt: skip
        return result

    return delete_object


def _wrap_multipart(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def complete_multipart_upload(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = _current()
        if request is None:
            return original(self, *args, **kwargs)
        request.in_multipart += 1
        try:
            return original(self, *args, **kwargs)
        finally:
            request.in_multipart -= 1

    return complete_multipart_upload


def _wrap_stream_add(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def add(self: Any, old: Any, new: Any) -> None:
        request = _current()
        seq = len(self.items) + self.starting_sequence_number
        original(self, old, new)
        if request is not None:
            try:
                request.on_stream(str(self.table.name), str(seq), request.key)
            except Exception:
                log.debug("stream lineage failed", exc_info=True)

    return add
