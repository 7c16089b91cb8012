"""``Authorization: Bearer <JWT>`` for scripts, validated against the provider's published keys.

A script that obtained an access token (a JWT, RFC 9068) or an ID token from
one of the registered providers sends it as a bearer token; the plugin
verifies signature (algorithm allow-list, ``none`` never), issuer, audience
and expiry, maps the claims to an identity exactly like a browser login,
and answers a bad token with ``401`` and ``WWW-Authenticate: Bearer``. It
never writes a session. Verified tokens are cached (by their SHA-256) until
they expire, so a script's requests cost one hash and a dict look-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from dash_auth_core import REJECT, AuthResult, Identity, Request, Resource, Response, hookimpl

from .base import allow_blocking
from .errors import LoginError, TokenValidationError
from .provider import Provider
from .tokens import peek

log = logging.getLogger("dash_auth.oidc")

#: How long a verified token's identity is reused at most (it is never reused past its ``exp``).
CACHE_SECONDS = 300.0


def _bearer(request: Request) -> str | None:
    header = request.header("Authorization")
    if not header or header[:7].lower() != "bearer ":
        return None
    return header[7:].strip()


class BearerTokenPlugin:
    """Authenticates bearer JWTs issued by any of ``providers()``."""

    requires_sessions = False

    def __init__(
        self,
        providers: Callable[[], Iterable[Provider]],
        to_identity: Callable[[dict[str, Any], Provider], Identity],
        cache_size: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._providers = providers
        self._to_identity = to_identity
        self._cache_size = cache_size
        self._cache: OrderedDict[bytes, tuple[Identity, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.clock = clock

    def _providers_for(self, issuer: Any) -> list[Provider]:
        """The providers whose issuer is ``issuer``; those known without a network call first."""
        if not isinstance(issuer, str):
            return []
        providers = list(self._providers())
        found = [p for p in providers if p.known_issuer == issuer]
        # Then ask providers not discovered yet (a provider that just failed answers
        # at once, so a flood of made-up issuers costs no timeouts).
        for provider in providers:
            if provider.known_issuer is None:
                try:
                    if provider.issuer == issuer:
                        found.append(provider)
                except LoginError:
                    continue  # an unreachable provider cannot have issued a token we can check
        return found

    @hookimpl(tryfirst=True)
    def authenticate(self, request: Request) -> AuthResult:
        token = _bearer(request)
        if token is None:
            return None
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        now = self.clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            stack = request.auth
            if stack is None or not stack.shared_state.marks or not stack.is_revoked(cached[0]):
                return cached[0]
        allow_blocking(request)  # the key set may have to be fetched: off the event loop on async backends
        try:
            _header, claims = peek(token)
            providers = self._providers_for(claims.get("iss"))
            if not providers:
                raise TokenValidationError(
                    "unknown issuer", reason=f"bearer token from unknown issuer {str(claims.get('iss'))[:100]!r}"
                )
            verified, provider = _first_valid(token, claims, providers)
            identity = self._to_identity(verified, provider)
        except LoginError as exc:
            log.info("bearer token refused on %s %s: %s", request.method, request.path, exc.reason)
            return REJECT
        stack = request.auth
        if stack is not None and stack.is_revoked(identity):
            log.info("bearer token refused on %s %s: issued before %r's logins were revoked",
                     request.method, request.path, identity.id)
            return REJECT
        until = min(float(verified["exp"]), now + CACHE_SECONDS)
        with self._lock:
            self._cache[digest] = (identity, until)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return identity

    @hookimpl(tryfirst=True)
    def challenge(self, request: Request, resource: Resource, reason: str, refused_by: Any) -> Response | None:
        # RFC 6750 §3: a refused bearer token is answered with WWW-Authenticate: Bearer, on
        # callbacks too (a JSON body either way).
        if reason != "unauthenticated" or (refused_by is not self and _bearer(request) is None):
            return None
        return Response(
            401,
            json.dumps({"error": "invalid_token", "message": "the bearer token was not accepted"}),
            "application/json",
            {"WWW-Authenticate": 'Bearer error="invalid_token"', "Cache-Control": "no-store"},
        )


def _first_valid(token: str, claims: dict[str, Any], providers: list[Provider]) -> tuple[dict[str, Any], Provider]:
    """The verified claims and provider of the first registration (of one issuer) that accepts ``token``.

    The registrations whose audience the token names (``claims`` are its unverified
    claims) are tried first, so a token that fails only costs their checks, and the
    reason logged is theirs: the other registrations refuse it for its audience,
    which says nothing about what is wrong with it.
    """
    aud = claims.get("aud")
    named = {aud} if isinstance(aud, str) else {a for a in aud if isinstance(a, str)} if isinstance(aud, list) else set()
    if len(providers) > 1 and named:
        providers = sorted(providers, key=lambda p: not (p.bearer_audiences & named))  # stable: order kept otherwise
    error: LoginError | None = None
    for provider in providers:
        try:
            return provider.validate_bearer(token), provider
        except LoginError as exc:
            error = error or exc
    assert error is not None
    raise error
