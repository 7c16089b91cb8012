"""Logins kept in sessions: the session store, each request's session record, checks, revocation.

:class:`LoginState` is one part of :class:`~dash_auth_core.AuthStack`. With
a ``session_store`` the guard reads each request's record and the shared
state in one round trip (:meth:`~.sessions.server.ServerSessions.begin_request`
of :attr:`~LoginState.server_sessions`); every reader of
a login in a session asks :meth:`~LoginState.login_holds` (lifetime, idle
time, revocation, the provider's own check); :meth:`~LoginState.revoke` ends
a user's logins everywhere the store reaches.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .sessions import LocalState, SessionStore, SharedState, lifecycle, store_from
from .sessions.logins import LoginCache
from .sessions.server import ServerSessions
from .socket_registry import registry

if TYPE_CHECKING:
    from .backends import BackendAdapter, Request
    from .identity import Identity

log = logging.getLogger("dash_auth")


class LoginState:
    """The stack's part that keeps logins in sessions and revokes them."""

    adapter: BackendAdapter
    session_lifetime: float | None
    session_idle_timeout: float | None
    remember_lifetime: float | None

    def __init__(self) -> None:
        #: The server-side session store (``None``: signed cookies), and its glue for the adapters.
        self.session_store: SessionStore | None = None
        self.server_sessions: ServerSessions | None = None
        #: Revocation marks and counters: per process, or the store's (shared by every worker).
        self.shared_state: SharedState = LocalState()
        #: provider -> a check that a login it made, read from a session, still holds (see add_login_check).
        self.login_checks: dict[str, Any] = {}
        #: Logins read from signed session cookies, by cookie header (see ``sessions/logins.py``).
        self.session_logins = LoginCache()
        super().__init__()

    def _set_store(self, option: Any) -> None:
        store = store_from(option)
        if store is None or store is self.session_store:
            return
        if self.session_store is not None:
            raise ConfigurationError("two different session_store values were given for one app")
        self.session_store = store
        self.shared_state = store.shared_state()
        self.server_sessions = ServerSessions(self, store)
        self.adapter.use_session_store(self.server_sessions)

    def add_login_check(self, provider: str, check: Any) -> None:
        """``check(identity) -> bool``: whether a login ``provider`` made, read from a session, still
        holds (a user removed from the app's table no longer does). Called on each such request."""
        self.login_checks[provider] = check

    def login_holds(self, identity: Identity, request: Request, now: float | None = None) -> bool:
        """Whether a login read from ``request``'s session still holds: its lifetime, idle time,
        revocation mark and provider check (see :mod:`dash_auth_core.sessions.lifecycle`)."""
        return lifecycle.login_holds(self, identity, request.session, now)

    def login_ends(self, identity: Identity, request: Request) -> float | None:
        """When the login read from ``request``'s session ends if unused (for a cache of it)."""
        return lifecycle.holds_until(self, identity, request.session)

    def is_revoked(self, identity: Identity) -> bool:
        """Whether ``identity``'s login was revoked (``revoke_user``, ``forget``) since it was made."""
        return self.shared_state.revoked(identity.id, identity.auth_time)

    def revoke(self, user_id: str) -> None:
        """End every login of ``user_id`` made until now, on every worker and instance that share the
        store (in this process only without one): sessions, cached credentials, open sockets."""
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("revoke needs a user id (a non-empty string)")
        keep = max(x for x in (self.session_lifetime, self.remember_lifetime, 24 * 3600.0) if x)
        self.shared_state.revoke(user_id, time.time(), keep)
        if self.session_store is not None:
            self.session_store.delete_user(user_id)
        registry(self).revoke_user(user_id)
        log.info("revoked every login of %r", user_id)

    def close_sockets(self, identity: Identity) -> None:
        """End ``identity``'s login on WebSocket callbacks: its open sockets close (4001), and
        its cookie opens none. For a login a provider ended outside a logout."""
        registry(self).revoke(identity, self.session_lifetime)
