"""The immutable record of who made a request.

An :class:`Identity` is what the ``authenticate`` hook returns and what
``current_user()`` gives back. It is stored in the session under ``"user"`` in
the shape the seed libraries used (``email`` and ``groups`` at the top level),
so code written against ``session["user"]["groups"]`` keeps working.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Union

SESSION_KEY = "user"


class Reject:
    """The type of :data:`REJECT`, the one value an ``authenticate`` hook returns for wrong credentials.

    There is exactly one instance; compare with ``is``. It is falsy.
    """

    _instance: Reject | None = None

    def __new__(cls) -> Reject:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REJECT"

    def __bool__(self) -> bool:
        return False


#: Return this from ``authenticate`` when the request carries credentials that
#: are yours but wrong: no other plugin (the session, another provider) can let
#: the request in, whatever the order of the chain.
REJECT: Final[Reject] = Reject()

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_SESSION_FIELDS = frozenset({"id", "name", "email", "groups", "provider", "claims", "auth_time"})


def _freeze_claims(claims: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not claims:
        return _EMPTY
    return MappingProxyType(dict(claims))


@dataclass(frozen=True)
class Identity:
    """Who a request comes from.

    ``id`` is stable for the provider (a username, an OIDC ``sub``);
    ``provider`` names the plugin that vouched for it; ``auth_time`` is when
    the user proved who they are (seconds since the epoch).
    """

    id: str
    name: str | None = None
    email: str | None = None
    groups: tuple[str, ...] = ()
    provider: str = ""
    claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False, compare=False)
    auth_time: float = field(default_factory=time.time, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("Identity.id must be a non-empty string")
        if not isinstance(self.groups, tuple):
            object.__setattr__(self, "groups", tuple(self.groups or ()))
        if not isinstance(self.claims, MappingProxyType):
            object.__setattr__(self, "claims", _freeze_claims(self.claims))

    @property
    def display_name(self) -> str:
        """The friendliest label available: name, then email, then id."""
        return self.name or self.email or self.id

    def to_session(self) -> dict[str, Any]:
        """The JSON-safe dict stored as ``session["user"]`` (a fresh copy each call)."""
        form = self._session_form
        if "claims" in form:
            return {**form, "groups": list(self.groups), "claims": dict(form["claims"])}
        return {**form, "groups": list(self.groups)}

    @functools.cached_property
    def _session_form(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "groups": list(self.groups),
            "provider": self.provider,
            "auth_time": self.auth_time,
        }
        if self.claims:
            data["claims"] = dict(self.claims)
        return data

    @classmethod
    def from_session(cls, data: Any) -> Identity | None:
        """Rebuild an identity from ``session["user"]``; ``None`` if unusable.

        Lenient about shape because seed-library code (``login_user_callback``)
        writes ``session["user"]`` itself, often as a raw user-info dict.
        """
        if not isinstance(data, Mapping):
            return None
        ident = data.get("id") or data.get("sub") or data.get("email") or data.get("user")
        if not isinstance(ident, str) or not ident:
            return None
        groups = data.get("groups") or ()
        if isinstance(groups, str) or not isinstance(groups, (list, tuple)):
            groups = ()
        claims = dict(data["claims"]) if isinstance(data.get("claims"), Mapping) else {}
        # Keys a provider or seed-style code put at the top level (``roles``, ...)
        # stay reachable as claims, e.g. for ``list_groups(groups_key="roles")``.
        for key, value in data.items():
            if key not in _SESSION_FIELDS:
                claims.setdefault(key, value)
        auth_time = data.get("auth_time")
        name = data.get("name")
        email = data.get("email")
        return cls(
            id=ident,
            name=name if isinstance(name, str) else None,
            email=email if isinstance(email, str) else None,
            groups=tuple(g for g in groups if isinstance(g, str)),
            provider=str(data.get("provider") or ""),
            claims=claims,
            auth_time=float(auth_time) if isinstance(auth_time, (int, float)) else 0.0,
        )


#: What an ``authenticate`` hook returns: an :class:`Identity` it verified,
#: ``None`` ("not mine, ask the next plugin") or :data:`REJECT` ("mine, and wrong").
AuthResult = Union[Identity, Reject, None]  # noqa: UP007 - a runtime alias on Python 3.10
