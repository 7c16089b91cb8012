"""Sessions: signed cookies by default, or a server-side store; and the security state every worker shares.

``AuthStack(..., session_store="redis://127.0.0.1:6379/0")`` (or a
:class:`SessionStore` object) keeps sessions server-side: the cookie carries a
random id only (see :mod:`.ids`), records are JSON (see :mod:`.records`), and
revocation marks and the login throttle's counters are shared by every
worker and instance through the store (:class:`SharedState`). Without a store
sessions are the framework's signed cookies and :class:`LocalState` keeps that
state per process.

A third-party store subclasses :class:`SessionStore` (see its docstring and
``docs/deployment.md``).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from .lifecycle import REMEMBER_KEY, SEEN_KEY
from .local import LocalState
from .store import SessionStore, SharedState, StoreUnavailable

__all__ = [
    "REMEMBER_KEY",
    "SEEN_KEY",
    "LocalState",
    "SessionStore",
    "SharedState",
    "StoreUnavailable",
    "store_from",
]


def store_from(option: Any) -> SessionStore | None:
    """The store the ``session_store`` option names: a URL, a :class:`SessionStore`, or ``None``."""
    if option is None or isinstance(option, SessionStore):
        return option
    if isinstance(option, str):
        if option.startswith(("redis://", "rediss://", "unix://")):
            from .redis import RedisStore

            return RedisStore(option)
        raise ConfigurationError(
            f"session_store: no store for {option.split(':', 1)[0]!r} URLs (redis://, rediss:// and unix:// "
            "are built in; pass a SessionStore object for others)"
        )
    raise ConfigurationError("session_store must be a redis:// URL or a dash_auth_core.sessions.SessionStore")
