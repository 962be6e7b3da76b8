"""A JWT authorizer's JWKS may be a URL (issue 26: "jwks: path-or-url"): fetched once, on the
first token; a failed fetch is refused (401) and not retried on every request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from router.config import AuthorizerConfig
from router.sources.jwt_auth import JwtRejected, JwtVerifier

from .test_authorizers import _b64, _token


@pytest.fixture
def served() -> Iterator[tuple[str, rsa.RSAPrivateKey, list[int]]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    body = json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": _b64(numbers.n.to_bytes(256, "big")),
                                 "e": _b64(numbers.e.to_bytes(3, "big"))}]}).encode()  # fmt: skip
    hits: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.append(1)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", key, hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_jwks_url_is_fetched_once(served: tuple[str, rsa.RSAPrivateKey, list[int]], tmp_path: Path) -> None:
    url, key, hits = served
    verifier = JwtVerifier(AuthorizerConfig(jwt={"issuer": "i", "audience": ["app"], "jwks": url}), tmp_path)
    now = time.time()
    token = _token(key, iss="i", aud="app", exp=int(now) + 60)
    assert verifier.claims(f"Bearer {token}", now)["aud"] == "app"
    assert verifier.claims(f"Bearer {token}", now)["iss"] == "i"
    assert hits == [1]


def test_an_unreachable_jwks_url_is_refused_and_not_fetched_again_at_once(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    verifier = JwtVerifier(AuthorizerConfig(jwt={"issuer": "i", "audience": ["a"], "jwks": f"http://127.0.0.1:{port}/"}),
                           tmp_path)  # fmt: skip
    with pytest.raises(JwtRejected, match="cannot be read"):
        verifier.keys()
    with pytest.raises(JwtRejected, match="could not be fetched"):
        verifier.keys()
