"""Ending a user's logins on purpose: ``revoke_user`` and "sign out everywhere".

``revoke_user(app, "alice")`` voids every login of ``alice`` made until now:

* a revocation mark ("alice's logins from before T are void") is checked on
  every request that reads a login from a session or a cache (a signed
  cookie, Basic's verified-header cache, OIDC's identity cache, bearer
  tokens): one dictionary look-up while no mark exists, a second one when
  some do. Marks are kept as long as a login can last (the largest of
  ``session_lifetime`` and ``remember_lifetime``);
* with a session store, alice's session records are deleted too (through the
  store's per-user index), and the mark is kept in the store, so every worker
  and instance refuses her sessions at their next request; without one the
  mark lives in this process only (see the README's sessions section);
* her open WebSocket callbacks in this process close with 4001 (in other
  processes, at their next message or re-check).

A client that still holds valid credentials (a browser resending a Basic
password, a script with a bearer token) signs in again: revoking a login is
not removing a user. Remove the user or change the password too.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigurationError


def revoke_user(app: Any, user_id: str) -> None:
    """End every login of ``user_id`` on ``app`` (see the module's docstring)."""
    from .stack import AuthStack

    stack = AuthStack.get(app)
    if stack is None:
        raise ConfigurationError("revoke_user: this app has no dash-auth stack")
    stack.revoke(user_id)
