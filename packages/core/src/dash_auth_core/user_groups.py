"""Users' groups from the app's ``user_groups``: resolved at login, cached, re-checked.

``user_groups`` (a dict or a callable, for every provider's users or, given
by a front door, for its own) adds groups to the ones a provider gives. At
login :meth:`UserGroups.groups_for` resolves them; with ``user_groups_ttl``
the guard's re-group stage (:func:`dash_auth_core.guard.regroup`) asks
:meth:`UserGroups.refresh_groups` on each request, which looks them up again
once the cached answer is that old, and writes a change into the session.

:class:`UserGroups` is one part of :class:`~dash_auth_core.AuthStack`; its
methods are the stack's.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .identity import SESSION_KEY, Identity
from .sessions.server import PRIVILEGE_GRACE
from .sessions.server import rotate as rotate_session

if TYPE_CHECKING:
    from .backends import Request

log = logging.getLogger("dash_auth")

#: Claim keeping a provider's own groups when ``user_groups`` adds to them.
PROVIDER_GROUPS_CLAIM = "provider_groups"


class UserGroups:
    """The stack's part that resolves users' groups (``user_groups``, ``user_groups_ttl``)."""

    def __init__(self) -> None:
        self.user_groups: Any = None
        #: provider name -> the ``user_groups`` a front door gave for its own users.
        self.provider_user_groups: dict[str, Any] = {}
        self.user_groups_ttl: float | None = None
        self._groups_cache: dict[tuple[str, str, tuple[str, ...]], tuple[tuple[str, ...], float]] = {}
        super().__init__()

    def add_user_groups(self, groups: Any, providers: Iterable[str] | None = None) -> None:
        """Groups for users: a dict ``{user id: [groups]}`` or a callable ``groups(user_id)``.

        With ``providers``, they hold for the users those providers sign in
        only: ``BasicAuth(user_groups=...)`` names its own, so a user of
        another provider whose id happens to be a local username gains
        nothing. Without, they hold for every provider (the stack's
        ``user_groups`` option). One app takes one of each.
        """
        if not (callable(groups) or isinstance(groups, dict)):
            raise ConfigurationError("user_groups must be a dict {user: [groups]} or a callable")
        for provider in (None,) if providers is None else tuple(providers):
            current = self.user_groups if provider is None else self.provider_user_groups.get(provider)
            if current is not None and current is not groups:
                raise ConfigurationError("two different user_groups were given for one app")
            if provider is None:
                self.user_groups = groups
            else:
                self.provider_user_groups[provider] = groups

    def _user_groups_sources(self, identity: Identity) -> tuple[Any, ...]:
        return tuple(s for s in (self.user_groups, self.provider_user_groups.get(identity.provider)) if s is not None)

    def groups_for(self, identity: Identity) -> Identity:
        """``identity`` with the groups ``user_groups`` adds to the provider's own.

        The provider's groups (an OIDC ``groups`` claim, say; none for Basic)
        are kept in the ``provider_groups`` claim, so a later re-check starts
        from them again and can take away a group the look-up no longer gives.
        A look-up that fails adds nothing (and is logged).
        """
        sources = self._user_groups_sources(identity)
        if not sources:
            return identity
        base = _provider_groups(identity)
        added = self._added_groups(identity, sources)
        resolved = tuple(dict.fromkeys((*base, *(added or ()))))
        claims = {**identity.claims, PROVIDER_GROUPS_CLAIM: list(base)}
        if resolved == identity.groups and claims == dict(identity.claims):
            return identity
        return dataclasses.replace(identity, groups=resolved, claims=claims)

    @staticmethod
    def _added_groups(identity: Identity, sources: tuple[Any, ...]) -> list[str] | None:
        """The groups ``sources`` give ``identity``; ``None`` if a look-up failed."""
        added: list[str] = []
        failed = False
        for source in sources:
            try:
                if callable(source):
                    groups = source(identity.id)
                else:
                    groups = source.get((identity.provider, identity.id))
                    groups = source.get(identity.id) if groups is None else groups
            except Exception:
                log.exception("user_groups failed for %r", identity.id)
                failed = True
                continue
            if isinstance(groups, str):
                groups = [groups]
            added += (g for g in (groups or ()) if isinstance(g, str))
        return None if failed else added

    def refresh_groups(self, identity: Identity, request: Request | None = None) -> Identity:
        """Re-check a signed-in user's groups when ``user_groups_ttl`` asks for it.

        A look-up that fails keeps the groups last known (a failing directory
        must not lift a ``none_of`` rule), and is asked again on the next request.
        """
        ttl = self.user_groups_ttl
        sources = self._user_groups_sources(identity)
        if ttl is None or not any(callable(source) for source in sources):
            return identity
        now = time.monotonic()
        # The answer depends on who the provider says this is, not on the id alone:
        # "alice" from BasicAuth and "alice" from an OIDC provider are different users.
        base = _provider_groups(identity)
        key = (identity.provider, identity.id, base)
        cached = self._groups_cache.get(key)
        if cached is None or now - cached[1] >= ttl:
            if request is not None:
                request.allow_blocking()  # a user look-up: off the event loop on async backends
            added = self._added_groups(identity, sources)
            if added is None:
                # The last answer this process had, else the session's (kept current below).
                groups = identity.groups if cached is None else cached[0]
            else:
                groups = tuple(dict.fromkeys((*base, *added)))
                if len(self._groups_cache) > 10_000:
                    self._groups_cache.clear()
                self._groups_cache[key] = (groups, now)
        else:
            groups = cached[0]
        if groups == identity.groups:
            return identity
        identity = dataclasses.replace(identity, groups=groups)
        if request is not None:
            _store_groups(identity, request)
        return identity


def _store_groups(identity: Identity, request: Request) -> None:
    """Write re-checked groups into the session that holds this login.

    So that a worker that never re-checked it, or a re-check whose look-up
    fails, starts from the groups last known rather than those of the sign-in.
    Sessionless clients (bearer tokens, scripts) get no session for it.
    """
    if not request.has_session_cookie:
        return
    session = request.session
    stored = session.get(SESSION_KEY)
    if (
        isinstance(stored, dict)
        and stored.get("id") == identity.id
        and stored.get("provider") == identity.provider
        and stored.get("groups") != list(identity.groups)
    ):
        session[SESSION_KEY] = {**stored, "groups": list(identity.groups)}
        rotate_session(session, PRIVILEGE_GRACE)  # a change of privileges: a new id, server-side


def _provider_groups(identity: Identity) -> tuple[str, ...]:
    """The groups the provider itself gave ``identity`` (before ``user_groups`` added any)."""
    base = identity.claims.get(PROVIDER_GROUPS_CLAIM)
    return tuple(base) if isinstance(base, (list, tuple)) else identity.groups
