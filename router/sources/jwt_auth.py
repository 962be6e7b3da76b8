"""An HTTP API JWT authorizer: a Bearer token's RS256 signature checked against a local JWKS
file, then its issuer, audience and expiry ("Control access to HTTP APIs with JWT authorizers",
API Gateway developer guide: iss must match, aud or client_id must match an audience, exp must
be in the future and nbf / iat in the past; kid names the key in the JWKS)."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from ..config import AuthorizerConfig

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0  # a JWKS URL is fetched once, on the first token (an issuer's .well-known/jwks.json)
FETCH_RETRY_S = 30.0
MAX_JWKS = 1024 * 1024


def is_url(jwks: str) -> bool:
    return jwks.startswith(("http://", "https://"))


class JwtRejected(Exception):
    """The token is missing or not valid (API Gateway: 401)."""


class JwtVerifier:
    """One JWT authorizer; its JWKS file read once, on first use."""

    def __init__(self, config: AuthorizerConfig, root: Path) -> None:
        assert config.jwt is not None
        self.jwt = config.jwt
        self.url = config.jwt.jwks if is_url(config.jwt.jwks) else None
        self.path = root / config.jwt.jwks
        self._keys: dict[str, RSAPublicKey] | None = None
        self._failed_at = -FETCH_RETRY_S

    def keys(self) -> dict[str, RSAPublicKey]:
        """The JWKS's RSA keys by kid: a file read, or a URL fetched, once (a failed fetch is
        tried again after :data:`FETCH_RETRY_S`, not on every request)."""
        if self._keys is None:
            where = self.url or str(self.path)
            if self.url is not None and time.monotonic() - self._failed_at < FETCH_RETRY_S:
                raise JwtRejected(f"JWKS {where} could not be fetched (tried again after {FETCH_RETRY_S:g} s)")
            try:
                document = json.loads(self._read())
                self._keys = {str(k.get("kid", "")): _rsa_key(k) for k in document["keys"] if k.get("kty") == "RSA"}
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                self._failed_at = time.monotonic()
                log.warning("JWT authorizer: JWKS %s cannot be read: %s", where, e)
                raise JwtRejected(f"JWKS {where} cannot be read: {e}") from None
        return self._keys

    def _read(self) -> bytes:
        if self.url is None:
            return self.path.read_bytes()
        with urllib.request.urlopen(self.url, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310 - the user's URL
            data: bytes = answer.read(MAX_JWKS)
            return data

    def claims(self, authorization: str | None, now: float) -> dict[str, Any]:
        """The claims of the token in ``authorization`` ("Bearer TOKEN" or the token), once verified."""
        if not authorization:
            raise JwtRejected("no token")
        token = authorization.split(" ", 1)[1].strip() if authorization.lower().startswith("bearer ") else authorization
        parts = token.split(".")
        if len(parts) != 3:
            raise JwtRejected("not a JWT (three dot-separated parts)")
        header, claims = _json_part(parts[0]), _json_part(parts[1])
        if header.get("alg") != "RS256":
            raise JwtRejected(f"alg {header.get('alg')!r} (only RS256 is verified)")
        key = self.keys().get(str(header.get("kid", "")))
        if key is None:
            raise JwtRejected(f"no key {header.get('kid')!r} in the JWKS")
        try:
            key.verify(_b64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise JwtRejected("bad signature") from None
        self._check(claims, now)
        return claims

    def _check(self, claims: dict[str, Any], now: float) -> None:
        if claims.get("iss") != self.jwt.issuer:
            raise JwtRejected(f"issuer {claims.get('iss')!r} is not {self.jwt.issuer!r}")
        aud = claims.get("aud", claims.get("client_id"))
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not set(auds) & set(self.jwt.audience):
            raise JwtRejected(f"audience {aud!r} is not one of {list(self.jwt.audience)}")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            raise JwtRejected("the token has expired" if isinstance(exp, int | float) else "no exp claim")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if isinstance(value, int | float) and value > now:
                raise JwtRejected(f"{name} is in the future")


def _b64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JwtRejected("not base64url") from None


def _json_part(text: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(text))
    except ValueError:
        raise JwtRejected("a part is not JSON") from None
    if not isinstance(value, dict):
        raise JwtRejected("a part is not a JSON object")
    return value


def _rsa_key(jwk: dict[str, Any]) -> RSAPublicKey:
    n = int.from_bytes(_b64(str(jwk["n"])), "big")
    e = int.from_bytes(_b64(str(jwk["e"])), "big")
    return RSAPublicNumbers(e, n).public_key()
