"""Clerk session tokens: where a request carries one, and how it is verified.

Verification is the SDK's (``clerk_backend_api.security.authenticate_request``
with ``accepts_token=["session_token"]``): RS256 signature, expiry and
not-before with a small clock skew, and the authorized parties (``azp``) when
the app names them. Always with a key in hand (``jwt_key``), so the SDK never
goes to the network itself (without one it fetches Clerk's keys with retries
for minutes, and from Clerk's cloud whatever ``CLERK_API_URL`` says): the key
is ``CLERK_JWT_KEY`` (networkless), or the instance's JWKS fetched here
through the SDK's ``jwks.get_jwks`` against ``CLERK_API_URL``, kept for
:data:`JWKS_TTL` and fetched again for a key id it does not know (at most
once every :data:`JWKS_MIN_REFETCH` seconds, so forged key ids cannot make
this app hammer Clerk).

Around the SDK: a size limit, the JWT's shape and ``alg`` checked before any
work, and the claims the SDK does not insist on (``sub``, ``sid``, ``exp``).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from clerk_backend_api.security import authenticate_request
from clerk_backend_api.security.types import AuthenticateRequestOptions

from dash_auth_core import Request

from .api import BackendAPI
from .errors import ClerkUnavailable, TokenRejected

#: Longest token accepted (Clerk's session tokens are 1-2 KB; a cookie holds 4 KB).
MAX_TOKEN_LENGTH = 8192
#: How long fetched signing keys are used before they are fetched again (seconds).
JWKS_TTL = 3600.0
#: Fewest seconds between two fetches caused by key ids the cached set does not know.
JWKS_MIN_REFETCH = 30.0
#: The cookie clerk-js keeps the current session token in (newer versions add ``__session_<suffix>``).
SESSION_COOKIE = "__session"

_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class _Headers:
    """The SDK reads a request through ``.headers``: hand it just the token, as a Bearer header."""

    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": "Bearer " + token}


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (``""`` for a Bearer header without one)."""
    value = request.header("Authorization")
    if not value or value[:7].lower() != "bearer ":
        return None
    return value[7:].strip()


def session_cookie(cookies: Mapping[str, str]) -> str | None:
    """The ``__session`` cookie clerk-js sets, else a suffixed ``__session_...`` one."""
    value = cookies.get(SESSION_COOKIE)
    if value:
        return value
    for name, value in cookies.items():
        if name.startswith(SESSION_COOKIE + "_") and value:
            return value
    return None


def _b64json(segment: str) -> Any:
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return json.loads(raw)


def split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a compact JWT, unverified; :class:`TokenRejected` when it is none."""
    if not isinstance(token, str) or not token:
        raise TokenRejected("No session token.", reason="empty token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("The session token is too large.", reason=f"token of {len(token)} characters")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]) or not all(set(p) <= _B64URL for p in parts):
        raise TokenRejected("The session token is not a JWT.", reason="not a compact JWT")
    try:
        header, payload = _b64json(parts[0]), _b64json(parts[1])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenRejected("The session token is not a JWT.", reason="undecodable JWT segments") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TokenRejected("The session token is not a JWT.", reason="JWT segments are not objects")
    return header, payload


def peek(token: str) -> dict[str, Any] | None:
    """The payload of ``token`` without verifying anything (``None`` when it is not a JWT).

    Only for decisions that can never let anyone in: which provider a Bearer
    token is meant for, whether a browser's Clerk session is still the one
    its app login came from.
    """
    try:
        return split(token)[1]
    except TokenRejected:
        return None


def _pem(jwk: Mapping[str, Any]) -> str | None:
    """An RSA JWK as a PEM public key (``None`` for anything else)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    if jwk.get("kty") != "RSA" or not isinstance(jwk.get("n"), str) or not isinstance(jwk.get("e"), str):
        return None
    try:
        n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
        e = int.from_bytes(base64.urlsafe_b64decode(jwk["e"] + "=" * (-len(jwk["e"]) % 4)), "big")
        key = RSAPublicNumbers(e, n).public_key()
    except (binascii.Error, ValueError):
        return None
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class KeySet:
    """The instance's signing keys by key id, fetched through the SDK and kept for a while."""

    def __init__(self, api: BackendAPI, clock: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.clock = clock
        self._keys: dict[str, str] = {}
        self._fetched: float | None = None
        self._lock = threading.Lock()

    def _fresh(self) -> bool:
        return self._fetched is not None and self.clock() - self._fetched < JWKS_TTL

    def needs_fetch(self, kid: str) -> bool:
        """Whether finding ``kid`` would call Clerk (the caller moves off the event loop first)."""
        if self._fresh() and kid in self._keys:
            return False
        return self._fetched is None or self.clock() - self._fetched >= JWKS_MIN_REFETCH

    def key(self, kid: str) -> str | None:
        """The PEM key for ``kid``, fetching the set when it is stale or lacks ``kid`` (rate-limited)."""
        if self._fresh() and kid in self._keys:
            return self._keys[kid]
        with self._lock:
            if self.needs_fetch(kid):
                fetched = self.api.jwks()  # ClerkUnavailable propagates: nothing cached changes
                keys = {k["kid"]: pem for k in fetched if isinstance(k.get("kid"), str) and (pem := _pem(k))}
                if not keys:
                    raise ClerkUnavailable(
                        "Clerk's signing keys could not be read. Try again later.",
                        reason="the instance's JWKS holds no RSA key",
                    )
                self._keys, self._fetched = keys, self.clock()
            return self._keys.get(kid)


class Verifier:
    """Checks session tokens with the SDK, with ``CLERK_JWT_KEY`` or the instance's fetched keys."""

    def __init__(
        self,
        *,
        jwt_key: str | None,
        keys: KeySet | None,
        allowed_parties: tuple[str, ...] | None,
        clock_skew: float = 5.0,
    ) -> None:
        if jwt_key is None and keys is None:
            raise ValueError("a Verifier needs jwt_key or a KeySet")
        self.jwt_key = jwt_key
        self.keys = keys
        self.clock_skew = clock_skew
        self.options = AuthenticateRequestOptions(
            authorized_parties=list(allowed_parties) if allowed_parties else None,
            clock_skew_in_ms=int(clock_skew * 1000),
            accepts_token=["session_token"],
        )

    def needs_network(self, token: str) -> bool:
        """Whether verifying ``token`` would fetch keys (call ``request.allow_blocking()`` first)."""
        if self.jwt_key is not None or self.keys is None:
            return False
        try:
            kid = split(token)[0].get("kid")
        except TokenRejected:
            return False
        return isinstance(kid, str) and self.keys.needs_fetch(kid)

    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; :class:`TokenRejected` (or ``ClerkUnavailable`` while
        fetching keys) otherwise."""
        header, _ = split(token)
        if header.get("alg") != "RS256":
            raise TokenRejected("The session token is not signed the way Clerk signs.",
                                reason=f"alg {str(header.get('alg'))[:20]!r} refused")
        pem = self.jwt_key
        if pem is None:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid or len(kid) > 200:
                raise TokenRejected("The session token names no signing key.", reason="no kid")
            assert self.keys is not None
            pem = self.keys.key(kid)
            if pem is None:
                raise TokenRejected("The session token was signed with an unknown key.",
                                    reason=f"kid {kid[:40]!r} is not in the instance's JWKS")
        options = AuthenticateRequestOptions(
            jwt_key=pem,
            authorized_parties=self.options.authorized_parties,
            clock_skew_in_ms=self.options.clock_skew_in_ms,
            accepts_token=self.options.accepts_token,
        )
        try:
            state = authenticate_request(_Headers(token), options)
        except Exception as exc:  # the SDK's own failures (a key it cannot load): refused, not a 500
            raise TokenRejected("The session token could not be verified.",
                                reason=f"SDK error {type(exc).__name__}") from None
        if not state.is_signed_in or not isinstance(state.payload, dict):
            reason = getattr(state.reason, "value", ("unknown",))[0]
            raise TokenRejected("The session token was not accepted.", reason=f"SDK: {reason}")
        claims = state.payload
        for name in ("sub", "sid"):
            value = claims.get(name)
            if not isinstance(value, str) or not value or len(value) > 256:
                raise TokenRejected("The session token names no user or session.", reason=f"no {name!r} claim")
        if isinstance(claims.get("exp"), bool) or not isinstance(claims.get("exp"), (int, float)):
            raise TokenRejected("The session token never expires.", reason="no 'exp' claim")
        return claims
