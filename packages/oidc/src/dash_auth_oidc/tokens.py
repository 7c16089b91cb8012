"""JWT validation for ID tokens and bearer tokens (framework-neutral).

Everything a relying party must check is checked here, in this order, each
failure with its own reason: the token's shape, the algorithm against an
allow-list (``none`` and HMAC algorithms are never on it), the signature
against the provider's published keys (fetched again once when a token names
an unknown key), then issuer, audience and authorized party, expiry, issue
and not-before times, nonce and ``at_hash``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Callable, Collection
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from .errors import TokenValidationError

#: Asymmetric algorithms a provider may sign with. ``none`` and the HMAC family
#: (``HS256``, keyed with the client secret) are never accepted.
SAFE_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

#: Largest token accepted (bytes); real ID tokens are a few kilobytes.
MAX_TOKEN_LENGTH = 16 * 1024

KeysFunc = Callable[[bool], KeySet]


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, **unverified**; raises :class:`TokenValidationError`."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenValidationError("The token is missing or too large.")
    parts = token.split(".")
    if len(parts) == 5:
        raise TokenValidationError("Encrypted tokens are not supported.", reason="encrypted (JWE) token")
    if len(parts) != 3:
        raise TokenValidationError("The token is malformed.", reason="token is not a compact JWS")
    try:
        header = _b64json(parts[0])
        claims = _b64json(parts[1])
    except (ValueError, UnicodeError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise TokenValidationError("The token is malformed.", reason=f"undecodable token: {type(exc).__name__}") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenValidationError("The token is malformed.", reason="token header or payload is not an object")
    return header, claims


def at_hash(access_token: str, alg: str) -> str:
    """The ``at_hash`` of ``access_token`` for a token signed with ``alg`` (OIDC Core 3.1.3.6)."""
    bits = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
    digest_func = hashlib.sha512 if alg == "EdDSA" else bits.get(alg[-3:], hashlib.sha256)
    digest = digest_func(access_token.encode("ascii", "replace")).digest()
    half = digest[: len(digest) // 2]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


def _number(claims: dict[str, Any], name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise TokenValidationError("The token is incomplete.", reason=f"token has no {name!r} claim")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenValidationError("The token is malformed.", reason=f"{name!r} claim is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):  # NaN and infinity compare false or never expire
        raise TokenValidationError("The token is malformed.", reason=f"{name!r} claim is not a finite number")
    return number


def _decode(token: str, keyset: KeySet, alg: str, header: dict[str, Any]) -> Any:
    """Verify with the key the header names; without a ``kid``, with each key that fits the algorithm."""
    if header.get("kid") is not None or len(keyset.keys) <= 1:
        return jwt.decode(token, keyset, algorithms=[alg])
    family = {"R": "RSA", "P": "RSA", "E": "EC"}.get(alg[0], "OKP")
    candidates = [k for k in keyset.keys if k.key_type == family and k.get("alg") in (None, alg)]
    if not candidates:
        raise InvalidKeyIdError("no key fits the token's algorithm")
    for key in candidates:
        try:
            return jwt.decode(token, key, algorithms=[alg])
        except BadSignatureError:
            continue
    raise BadSignatureError()


def validate_jwt(
    token: str,
    keys: KeysFunc,
    *,
    issuer: str,
    audience: str | Collection[str],
    algorithms: Collection[str],
    now: float,
    leeway: float = 60.0,
    client_id: str | None = None,
    nonce: str | None = None,
    require_iat: bool = True,
    access_token: str | None = None,
    kind: str = "ID token",
) -> dict[str, Any]:
    """Verify ``token`` and return its claims; raise :class:`TokenValidationError` with the reason.

    ``keys(force)`` returns the provider's key set (``force=True`` fetches it
    again, for a key id the cached set does not know). ``audience`` is one
    accepted audience or several; ``nonce``, when given, must match exactly.
    """
    header, _unverified = peek(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in SAFE_ALGORITHMS:
        raise TokenValidationError(
            "The sign-in token uses a signing algorithm this app does not accept.",
            reason=f"{kind} algorithm {alg!r} is not allowed (allowed: {sorted(set(algorithms) & SAFE_ALGORITHMS)})",
        )
    try:
        try:
            verified = _decode(token, keys(False), alg, header)
        except InvalidKeyIdError:
            verified = _decode(token, keys(True), alg, header)  # the provider may have rotated keys
    except InvalidKeyIdError as exc:
        raise TokenValidationError(
            "The sign-in token was not signed by the provider.",
            reason=f"{kind} is signed with a key the provider does not publish (kid {header.get('kid')!r})",
        ) from exc
    except BadSignatureError as exc:
        raise TokenValidationError(
            "The sign-in token was not signed by the provider.", reason=f"{kind} has a bad signature"
        ) from exc
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise TokenValidationError(
            "The sign-in token could not be verified.", reason=f"{kind} could not be verified: {exc!r}"
        ) from exc
    claims = dict(verified.claims)

    if claims.get("iss") != issuer:
        raise TokenValidationError(
            "The sign-in token comes from an unexpected issuer.",
            reason=f"{kind} issuer {claims.get('iss')!r} is not {issuer!r}",
        )
    accepted = {audience} if isinstance(audience, str) else set(audience)
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else None
    if not auds or not all(isinstance(a, str) for a in auds) or not accepted.intersection(auds):
        raise TokenValidationError(
            "The sign-in token was issued for another application.",
            reason=f"{kind} audience {aud!r} does not include {sorted(accepted)}",
        )
    azp = claims.get("azp")
    if client_id is not None and azp is not None and azp != client_id:
        raise TokenValidationError(
            "The sign-in token was issued for another application.",
            reason=f"{kind} authorized party {azp!r} is not {client_id!r}",
        )
    if client_id is not None and len(auds) > 1 and azp is None and kind == "ID token":
        raise TokenValidationError(
            "The sign-in token was issued for another application.",
            reason="ID token has several audiences and no 'azp' claim",
        )
    exp = _number(claims, "exp", True)
    assert exp is not None
    if now > exp + leeway:
        raise TokenValidationError(
            "The sign-in token has expired. Sign in again.", reason=f"{kind} expired {int(now - exp)} s ago"
        )
    iat = _number(claims, "iat", require_iat)
    if iat is not None and iat > now + leeway:
        raise TokenValidationError(
            "The sign-in token is not valid yet.", reason=f"{kind} issued {int(iat - now)} s in the future"
        )
    nbf = _number(claims, "nbf", False)
    if nbf is not None and nbf > now + leeway:
        raise TokenValidationError("The sign-in token is not valid yet.", reason=f"{kind} not valid before {nbf}")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenValidationError("The sign-in token names no user.", reason=f"{kind} has no 'sub' claim")
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
            raise TokenValidationError(
                "The sign-in token does not belong to this sign-in.", reason=f"{kind} nonce does not match"
            )
    if access_token is not None and "at_hash" in claims:
        expected = at_hash(access_token, alg)
        got = claims["at_hash"]
        if not isinstance(got, str) or not hmac.compare_digest(got.encode(), expected.encode()):
            raise TokenValidationError(
                "The sign-in token does not match its access token.", reason=f"{kind} at_hash does not match"
            )
    return claims
