"""From Clerk's user record and session claims to the core :class:`~dash_auth_core.Identity`.

The user record (``users.get``) gives the id, the primary e-mail address
(with whether Clerk verified it) and the name; the groups come from the
app's ``user_groups`` (a mapping keyed by verified e-mail or user id, or a
callable given the e-mail), and, when asked for, from the organization
active in the session (``"<org slug>:<role>"``) and a list in the user's
``public_metadata``. Framework-neutral.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dash_auth_core import Identity
from dash_auth_core.user_code import arity

PROVIDER = "clerk"

UserGroups = Mapping[str, Iterable[str]] | Callable[..., Iterable[str] | str | None]


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


def user_fields(user: Any) -> dict[str, Any]:
    """What the app keeps of a ``clerk_backend_api.models.User`` (or a dict of the same JSON)."""
    get = user.get if isinstance(user, Mapping) else lambda name, default=None: getattr(user, name, default)
    primary = get("primary_email_address_id")
    email = verified = None
    for address in get("email_addresses") or ():
        aget = address.get if isinstance(address, Mapping) else lambda n, d=None, a=address: getattr(a, n, d)
        if email is None or aget("id") == primary:
            verification = aget("verification")
            status = verification.get("status") if isinstance(verification, Mapping) else getattr(verification, "status", None)
            email, verified = aget("email_address"), _value(status) == "verified"
            if aget("id") == primary:
                break
    first, last, username = get("first_name"), get("last_name"), get("username")
    name = " ".join(p for p in (first, last) if isinstance(p, str) and p) or username
    metadata = get("public_metadata")
    return {
        "id": get("id"),
        "email": email if isinstance(email, str) else None,
        "email_verified": bool(verified),
        "name": name if isinstance(name, str) and name else None,
        "username": username if isinstance(username, str) else None,
        "first_name": first if isinstance(first, str) else None,
        "last_name": last if isinstance(last, str) else None,
        "public_metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
        "banned": bool(get("banned")),
        "locked": bool(get("locked")),
    }


def organization(claims: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """The session's active organization (id, slug, role) from a v2 (``o``) or v1 session token."""
    org = claims.get("o")
    if isinstance(org, Mapping):
        found = org.get("id"), org.get("slg"), org.get("rol")
    else:
        found = claims.get("org_id"), claims.get("org_slug"), claims.get("org_role")
    if all(isinstance(v, str) and v for v in found):
        return found  # type: ignore[return-value]
    return None


def _as_groups(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [g for g in value if isinstance(g, str) and g]
    return []


def app_groups(fields: Mapping[str, Any], user_groups: UserGroups | None) -> list[str]:
    """Groups from ``user_groups``: keyed by the verified e-mail (as in the seed) or the user id.

    A callable gets the verified e-mail (``None`` without one), and the user
    record's fields too when it takes two arguments.
    """
    if user_groups is None:
        return []
    email = fields.get("email") if fields.get("email_verified") else None
    if callable(user_groups):
        found = user_groups(email, dict(fields)) if arity(user_groups) >= 2 else user_groups(email)
        return _as_groups(found)
    for key in (email, fields.get("id")):
        if isinstance(key, str) and key in user_groups:
            return _as_groups(user_groups[key])
    return []


def build_identity(
    fields: Mapping[str, Any],
    claims: Mapping[str, Any],
    *,
    user_groups: UserGroups | None = None,
    organization_groups: bool = False,
    metadata_groups_key: str | None = None,
    auth_time: float | None = None,
) -> Identity:
    """The identity of a Clerk user (``fields`` from :func:`user_fields`) for the session ``claims`` name."""
    groups = app_groups(fields, user_groups)
    org = organization(claims)
    if organization_groups and org is not None:
        role = org[2][4:] if org[2].startswith("org:") else org[2]
        groups.append(f"{org[1]}:{role}")
    if metadata_groups_key:
        groups += _as_groups(fields.get("public_metadata", {}).get(metadata_groups_key))
    kept: dict[str, Any] = {
        "sub": fields["id"],
        "sid": claims.get("sid"),
        "email_verified": fields.get("email_verified", False),
    }
    for name in ("username", "first_name", "last_name"):
        if fields.get(name):
            kept[name] = fields[name]
    if org is not None:
        kept.update(org_id=org[0], org_slug=org[1], org_role=org[2])
    return Identity(
        id=str(fields["id"]),
        name=fields.get("name"),
        email=fields.get("email"),
        groups=tuple(dict.fromkeys(groups)),
        provider=PROVIDER,
        claims=kept,
        auth_time=time.time() if auth_time is None else auth_time,
    )
