"""Each app's open WebSocket callbacks, and the logins signed out while some were open.

Cookies are frozen at a socket's handshake, so a socket cannot see a logout
by itself: a logout (``on_logout``) or a revocation reaches the user's open
sockets through this registry and closes them (4001), and refuses that login
on sockets from then on; a sign-in has the browser's anonymous sockets
reconnect (4002) with the new cookie. The registries live on
:data:`~dash_auth_core.process.PROCESS`, one per stack.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

from .browser import AUTH_REASON_PREFIX, BROWSER_COOKIE
from .hookspecs import hookimpl
from .identity import Identity
from .process import PROCESS

if TYPE_CHECKING:
    from .backends import Request
    from .stack_view import StackView

#: Closes the socket and stops Dash's client from reconnecting.
CLOSE_AUTH = 4001
#: Closes an anonymous socket when its browser signs in: Dash's client reconnects with the new cookies.
CLOSE_RECONNECT = 4002
#: Seconds between a logout and the close frame of the user's sockets (they serve nothing meanwhile).
LOGOUT_CLOSE_DELAY = 0.5
#: The name the logout plugin joins each stack under.
PLUGIN_NAME = "dash_auth_core.websocket"


class OpenSocket(Protocol):
    """What the registry needs of a socket (a :class:`dash_auth_core.websocket.Connection`)."""

    identity: Identity | None
    client: str | None
    signed_out: bool

    def close_soon(self, code: int, reason: str, delay: float = 0.0) -> None: ...


class SocketRegistry:
    """One app's open sockets and the logins signed out while some were open."""

    def __init__(self) -> None:
        self.connections: weakref.WeakSet[OpenSocket] = weakref.WeakSet()
        self.revoked: OrderedDict[tuple[str, str, float], float] = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def key(identity: Identity) -> tuple[str, str, float]:
        return (identity.id, identity.provider, identity.auth_time)

    def is_revoked(self, identity: Identity) -> bool:
        if not self.revoked:
            return False
        expiry = self.revoked.get(self.key(identity))
        return expiry is not None and expiry > time.time()

    def add(self, conn: OpenSocket) -> bool:
        """Count ``conn`` among the open sockets; ``False`` if its login was signed out meanwhile.

        Under the lock that :meth:`revoke` holds (it runs in the logout's
        worker thread): a socket is either closed by the logout or refused here.
        """
        with self.lock:
            if conn.identity is not None and self.is_revoked(conn.identity):
                return False
            self.connections.add(conn)
            return True

    def discard(self, conn: OpenSocket) -> None:
        with self.lock:
            self.connections.discard(conn)

    def reconnect_anonymous(self, client: str | None) -> None:
        """Have the anonymous sockets of browser ``client`` reconnect with its new login."""
        if client is None:
            return
        with self.lock:
            targets = [c for c in self.connections if c.identity is None and c.client == client]
        for conn in targets:
            # Once the login's response has set the cookie the reconnection sends.
            conn.close_soon(CLOSE_RECONNECT, "dash-auth: reconnect with the new sign-in", delay=LOGOUT_CLOSE_DELAY)

    def revoke_user(self, user_id: str) -> None:
        """Close every open socket of ``user_id`` (a revocation: their logins are void everywhere)."""
        with self.lock:
            targets = [c for c in self.connections if c.identity is not None and c.identity.id == user_id]
        for conn in targets:
            conn.signed_out = True
            conn.close_soon(CLOSE_AUTH, AUTH_REASON_PREFIX + "signed out", delay=LOGOUT_CLOSE_DELAY)

    def revoke(self, identity: Identity, lifetime: float | None) -> None:
        """Refuse this login on sockets from now on and close the open ones."""
        now = time.time()
        with self.lock:
            self.revoked[self.key(identity)] = now + (lifetime or 24 * 3600)
            while len(self.revoked) > 10_000 or (self.revoked and next(iter(self.revoked.values())) < now):
                self.revoked.popitem(last=False)
            targets = [c for c in self.connections if c.identity is not None and self.key(c.identity) == self.key(identity)]
        for conn in targets:
            conn.signed_out = True  # no message is served from now on
            # The close frame follows shortly, once the logout response has
            # cleared the browser's cookie: the page then reloads signed out.
            conn.close_soon(CLOSE_AUTH, AUTH_REASON_PREFIX + "signed out", delay=LOGOUT_CLOSE_DELAY)


def registry(stack: object) -> SocketRegistry:
    """``stack``'s registry (made on first use)."""
    with PROCESS.lock:
        reg = PROCESS.sockets.get(stack)
        if reg is None:
            reg = PROCESS.sockets[stack] = SocketRegistry()
        return reg


class LogoutPlugin:
    """Closes a user's sockets when they log out, and a browser's anonymous ones when it signs in
    (the cookies of a socket are frozen at its handshake)."""

    def __init__(self, stack: StackView) -> None:
        self._stack = weakref.ref(stack)

    @hookimpl
    def on_login(self, identity: Identity, request: Request) -> None:
        stack = self._stack()
        if stack is not None and not request.is_websocket:
            registry(stack).reconnect_anonymous(client_of(request))

    @hookimpl(tryfirst=True)  # before any plugin's own on_logout, which might fail
    def on_logout(self, identity: Identity | None, request: Request) -> None:
        stack = self._stack()
        if identity is not None and stack is not None:
            registry(stack).revoke(identity, stack.session_lifetime)


def client_of(request: Request) -> str | None:
    """The browser a request comes from (the random cookie its pages keep), if it says."""
    try:
        value = request.cookies.get(BROWSER_COOKIE)
    except Exception:  # an unparsable Cookie header names no browser
        return None
    return value if isinstance(value, str) and 16 <= len(value) <= 64 else None



def install(stack: StackView) -> None:
    """Have ``stack``'s logins and logouts reach its sockets (once per stack)."""
    if stack.get_plugin(PLUGIN_NAME) is None:
        stack.register(LogoutPlugin(stack), name=PLUGIN_NAME)
