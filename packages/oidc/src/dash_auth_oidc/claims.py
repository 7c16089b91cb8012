"""From verified claims to the core :class:`~dash_auth_core.Identity` (framework-neutral)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dash_auth_core import Identity
from dash_auth_core.user_code import arity

from .errors import TokenValidationError

#: Claims about the token rather than the user: not kept in the session.
PROTOCOL_CLAIMS = frozenset({"aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti", "typ"})

#: Claims kept in ``Identity.claims`` (and so in the session) unless ``session_claims`` says otherwise.
DEFAULT_SESSION_CLAIMS = (
    "iss", "sub", "preferred_username", "given_name", "family_name", "email_verified", "locale", "sid",
)

UserGroups = Mapping[str, Iterable[str]] | Callable[..., Iterable[str] | None]


def merge_userinfo(id_claims: Mapping[str, Any], userinfo: Mapping[str, Any] | None) -> dict[str, Any]:
    """ID-token claims with the userinfo claims added (userinfo wins, except for protocol claims).

    OpenID Connect Core 5.3.2: the userinfo ``sub`` must be the ID token's.
    """
    user = dict(id_claims)
    if not userinfo:
        return user
    if userinfo.get("sub") != id_claims.get("sub"):
        raise TokenValidationError(
            "The sign-in provider described another user.",
            reason=f"userinfo sub {userinfo.get('sub')!r} differs from the ID token's {id_claims.get('sub')!r}",
        )
    for key, value in userinfo.items():
        if key not in PROTOCOL_CLAIMS and key != "iss":
            user[key] = value
    return user


def lookup(claims: Mapping[str, Any], path: str) -> Any:
    """``claims[path]``, following dots into nested objects (``realm_access.roles``)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _as_groups(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [g for g in value if isinstance(g, str) and g]
    return []


def extra_groups(user: Mapping[str, Any], idp: str, user_groups: UserGroups | None) -> list[str]:
    """Groups from ``user_groups``: a function, or a mapping keyed by a verified email or the ``sub``.

    A key may also be ``(provider name, email or sub)``, to hold for one
    provider only. An email counts only with ``email_verified`` true (an
    unverified one proves nothing), and ``preferred_username`` never does
    (providers let users choose it).
    """
    if user_groups is None:
        return []
    if callable(user_groups):
        result = user_groups(user, idp) if arity(user_groups) >= 2 else user_groups(user)
        return _as_groups(result if not isinstance(result, str) else [result])
    email, sub = user.get("email"), user.get("sub")
    verified = user.get("email_verified")
    verified = verified is True or (isinstance(verified, str) and verified.lower() == "true")  # some send "true"
    for value in (email if verified else None, sub):
        if isinstance(value, str) and value:
            for key in ((idp, value), value):
                if key in user_groups:
                    return _as_groups(user_groups[key])  # type: ignore[index]
    return []


def build_identity(
    user: Mapping[str, Any],
    idp: str,
    *,
    groups_claim: str | None = "groups",
    user_groups: UserGroups | None = None,
    session_claims: Iterable[str] | None = DEFAULT_SESSION_CLAIMS,
    auth_time: float | None = None,
) -> Identity:
    """The identity for ``user`` (merged claims) signed in through provider ``idp``.

    ``groups`` is the union of the ``groups_claim`` (a list or a string, dotted
    paths allowed) and ``user_groups``. ``session_claims`` chooses the claims
    kept in ``identity.claims``; ``None`` keeps every non-protocol claim.
    """
    sub = user.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenValidationError("The sign-in token names no user.", reason="claims have no 'sub'")
    groups = _as_groups(lookup(user, groups_claim)) if groups_claim else []
    groups += extra_groups(user, idp, user_groups)
    name = user.get("name") or user.get("preferred_username")
    email = user.get("email")
    if session_claims is None:
        kept = {k: v for k, v in user.items() if k not in PROTOCOL_CLAIMS}
    else:
        wanted = set(session_claims)
        if groups_claim:
            wanted.add(groups_claim.split(".")[0])
        if groups_claim == "groups":
            # ``identity.groups`` holds them already: a second copy would only grow the cookie.
            wanted.discard("groups")
        kept = {k: v for k, v in user.items() if k in wanted}
    return Identity(
        id=sub,
        name=name if isinstance(name, str) else None,
        email=email if isinstance(email, str) else None,
        groups=tuple(dict.fromkeys(groups)),
        provider=f"oidc:{idp}",
        claims=kept,
        auth_time=auth_time if auth_time is not None else time.time(),
    )
