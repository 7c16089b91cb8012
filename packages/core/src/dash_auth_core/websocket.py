"""Authenticated WebSocket callbacks (Dash's ``_dash-ws-callback`` on Quart and FastAPI).

A thin ASGI layer sits between the server and Dash's socket handler and sees
every frame before Dash does:

* **At connect** the handshake (its cookies, headers and session) goes
  through the guard. A signed-in user's socket is accepted; an anonymous one
  only when the app has something public to serve over it (public callbacks
  or public pages), else it is accepted and closed at once with code 4001,
  which stops the browser's reconnect loop (refusing the handshake itself
  would make the client retry ten times and the page hang).
* **Every message** is checked before Dash reads it: text frames only, at most
  ``max_body_size`` characters, a JSON object with a known ``type``. Each
  ``callback_request`` payload is judged by the guard exactly like an HTTP
  callback body (same registry look-up, ``public_callback`` rules, body shape
  checks, Pages routing, authorization votes); a refusal gets an error reply
  and the callback never runs. The identity is re-checked on every message.
* **Cookies are frozen at the handshake**, so the socket cannot see a logout
  or an expiry by itself: logging out closes the user's open sockets at once
  (``on_logout``), and a watchdog closes a socket when its login expires;
  both use code 4001, so the client does not reconnect with the stale cookie.
* ``current_user()`` inside WebSocket callbacks returns the socket's identity.

This module is transport-neutral: each backend hands it the socket's ASGI
``send`` and ``receive`` (Quart and FastAPI glue in their adapters), the
registry of open sockets is :mod:`dash_auth_core.socket_registry`, and a
message becomes a request for the guard in :mod:`dash_auth_core.socket_messages`.

Close codes: 4001 (sign-in needed, signed out, expired or forbidden; the
reason starts with ``dash-auth/auth:`` and the page reloads to show the
login), 4002 (an anonymous socket whose browser just signed in, as the
random cookie its pages keep tells: Dash's client shares one socket between
a browser's tabs, and reconnects on this code with the new cookies; the pages
stay as they are), 1003 (binary frame), 1007 (malformed JSON), 1008 (not a Dash
message), 1009 (too big), 1011 (internal error).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from ._private import dash as dash_private
from .backends import LOGIN_ENDED, Request
from .backends._aio import dash_setup, run_guard
from .browser import AUTH_REASON_PREFIX, LOGIN_REQUIRED  # the page reloads on these
from .context import set_current_user, set_in_context
from .identity import Identity
from .process import PROCESS
from .resources import Kind, Resource
from .sessions.store import StoreUnavailable
from .socket_frames import FrameRules
from .socket_messages import fresh
from .socket_registry import CLOSE_AUTH, CLOSE_RECONNECT, client_of, registry
from .socket_registry import install as install_registry

if TYPE_CHECKING:
    from .stack_view import StackView

__all__ = ["CLOSE_AUTH", "CLOSE_RECONNECT", "LOGIN_REQUIRED", "SCOPE_KEY", "Connection", "install"]

log = logging.getLogger("dash_auth")

#: The ASGI scope key under which the socket's :class:`Connection` lives.
SCOPE_KEY = "dash_auth.websocket"

#: Seconds between re-checks of an idle signed-in socket (logouts close at once).
RECHECK_SECONDS = 60.0
#: Seconds a first frame waits for the handshake decision (Quart decides inside the app).
HANDSHAKE_TIMEOUT = 10.0


def install(stack: StackView) -> None:
    """Prepare ``stack`` for authenticated sockets (once per stack)."""
    install_registry(stack)
    PROCESS.guarded_servers.add(stack.app.server)
    if PROCESS.install_hook_once("websocket"):
        import dash

        dash.hooks.websocket_message()(_on_dash_message)
        dash.hooks.websocket_connect()(_require_checks)


# -- one socket ---------------------------------------------------------------

class Connection(FrameRules):
    """The state of one callback socket: its handshake, identity, and the frames in between."""

    def __init__(self, stack: StackView, raw_send: Any) -> None:
        self.stack = stack
        self.raw_send = raw_send
        self.loop = asyncio.get_running_loop()
        self.request: Request | None = None
        self.identity: Identity | None = None
        self.decided = asyncio.Event()
        self.refused: str | None = None
        self.revoked = False
        self.signed_out = False
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed = False
        self.closed_by_us = False
        self.send_lock = asyncio.Lock()
        self.watchdog: asyncio.Task[None] | None = None
        #: The handshake's browser cookie (an anonymous socket reconnects when that browser signs in).
        self.client: str | None = None
        #: One re-check at a time: they share the handshake request (its state, its loop flag).
        self.recheck_lock = asyncio.Lock()
        app = stack.app
        self.update_path = app.config.routes_pathname_prefix + "_dash-update-component"
        #: ``Dash(websocket_callbacks=True)``: every callback may run over the socket.
        self.all_over_websocket = dash_private.websocket_callbacks(app)

    # the handshake

    async def handshake(self, request: Request) -> str | None:
        """Judge the handshake; ``None`` to accept, else the reason to close with 4001."""
        stack = self.stack
        app = stack.app
        if not dash_private.first_request_done(app):
            await dash_setup(app)  # a socket before any page load: Dash's set-up first
        self.request = request
        self.client = client_of(request)
        try:
            result = await run_guard(stack.guard, lambda: fresh(request))
        except Exception:
            log.exception("the dash-auth guard failed on a websocket handshake")
            result = None
            self.refused = AUTH_REASON_PREFIX + "internal error"
        identity = request.state.get("identity")
        if identity is not None and registry(stack).is_revoked(identity):
            # The cookie of a session that was signed out: the socket is anonymous.
            identity = None
            self.revoked = True
            set_current_user(None, request)
            if result is None:
                result = _UNAUTHENTICATED
        self.identity = identity
        if self.refused is None and result is not None:
            if (
                result.status == 401 and identity is None and not request.state.get(LOGIN_ENDED)
                and self._anything_public(request)
            ):
                pass  # anonymous, for public callbacks and pages; each message is judged
            elif result.status == 401:
                self.refused = AUTH_REASON_PREFIX + "sign-in required"
            else:
                self.refused = AUTH_REASON_PREFIX + ("forbidden" if result.status == 403 else "bad request")
        if self.refused is None and not registry(stack).add(self):
            self.refused = AUTH_REASON_PREFIX + "signed out"  # by a logout since the check above
        if self.refused is None and identity is not None:
            self.watchdog = asyncio.ensure_future(self._watch())
        self.decided.set()
        return self.refused

    def _anything_public(self, request: Request) -> bool:
        """Whether an anonymous visitor gets anything over the socket: public callbacks, or
        the page shell (public pages, or a plugin that serves it to anyone, like layout mode)."""
        stack = self.stack
        snap = stack.guard.snapshot()
        if snap.has_public_callbacks:
            return True
        shell = Resource(Kind.DASH_INTERNAL, "_dash-layout", public=snap.has_public_pages, wants_json=True)
        verdict = stack.authorize(None, shell, request)
        return verdict is True or (verdict is None and shell.public)

    # checks while the socket is open

    async def _reload_session(self) -> bool:
        """With a session store: read the socket's session again (a logout or revocation elsewhere
        deleted it). ``False`` if the store cannot be reached."""
        sessions = self.stack.server_sessions
        if sessions is None or self.request is None:
            return True
        try:
            await sessions.areload(self.request.session)
        except StoreUnavailable:
            return False
        return True

    async def _recheck(self) -> bool:
        """Whether the socket's login still holds (its frozen handshake, judged again)."""
        request = self.request
        if request is None:
            return False
        async with self.recheck_lock:
            if not await self._reload_session():
                return True  # the store is down: nothing is served meanwhile (see on_callback)
            result = await run_guard(self.stack.guard, lambda: fresh(request))
            identity = request.state.get("identity")
        if self.identity is None:
            return True  # an anonymous socket stays anonymous; messages are judged one by one
        if result is not None:  # refused now (401, 403, or at once: a RequestRefused's 429/503)
            return False
        if identity is None or identity.id != self.identity.id or registry(self.stack).is_revoked(identity):
            return False
        self.identity = identity
        return True

    async def _watch(self) -> None:
        lifetime = self.stack.session_lifetime
        while not self.closed:
            delay = RECHECK_SECONDS
            identity = self.identity
            if lifetime and identity is not None and identity.auth_time:
                left = identity.auth_time + lifetime - time.time()
                if left > 0:  # (past it, a login that still holds, say a Basic header, waits the usual time)
                    delay = min(delay, left + 0.01)
            await asyncio.sleep(delay)
            if self.closed:
                return
            try:
                valid = await self._recheck()
            except Exception:
                log.exception("re-checking a websocket's login failed")
                valid = False
            if not valid:
                await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "session ended")
                return

    # sending and closing

    async def send(self, message: MutableMapping[str, Any]) -> None:
        """Dash's ``send``: passed on until we closed the socket."""
        if self.closed_by_us:
            return
        if message.get("type") == "websocket.close":
            self.closed = True
        async with self.send_lock:
            await self.raw_send(message)

    async def receive(self) -> dict[str, Any]:
        """Dash's ``receive``: the frames that passed the checks."""
        return await self.inbox.get()

    async def reply(self, message: Mapping[str, Any]) -> None:
        if self.closed:
            return
        async with self.send_lock:
            await self.raw_send({"type": "websocket.send", "text": json.dumps(message)})

    async def close(self, code: int, reason: str) -> None:
        """Close the socket and tell Dash's handler the client is gone."""
        if self.closed_by_us:
            return
        already = self.closed
        self.closed = self.closed_by_us = True
        if not already:
            try:
                async with self.send_lock:
                    await self.raw_send({"type": "websocket.close", "code": code, "reason": reason[:120]})
            except Exception:  # the client is already gone
                pass
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": code})
        if self.watchdog is not None and self.watchdog is not asyncio.current_task():
            self.watchdog.cancel()

    def close_soon(self, code: int, reason: str, delay: float = 0.0) -> None:
        """Close from any thread (a logout handled in a worker thread), after ``delay`` seconds."""

        def schedule() -> None:
            self.loop.call_later(delay, lambda: asyncio.ensure_future(self.close(code, reason)))

        with contextlib.suppress(RuntimeError):  # a closed loop: the socket is gone too
            self.loop.call_soon_threadsafe(schedule)

    # frames

    async def pump(self, receive: Any) -> None:
        """Read the client's frames, check them, hand the good ones to Dash."""
        try:
            while True:
                event = await receive()
                kind = event.get("type")
                if kind == "websocket.receive":
                    if not self.decided.is_set():
                        try:
                            await asyncio.wait_for(self.decided.wait(), HANDSHAKE_TIMEOUT)
                        except asyncio.TimeoutError:
                            await self.close(1008, "dash-auth: message before the handshake was judged")
                            continue
                    if self.closed or self.refused is not None:
                        continue
                    if await self.on_frame(event):
                        self.inbox.put_nowait(event)
                elif kind == "websocket.disconnect":
                    self.closed = True
                    self.inbox.put_nowait(event)
                    return
                else:
                    self.inbox.put_nowait(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("dash-auth: checking a websocket message failed")
            await self.close(1011, "dash-auth: internal error")

    # the whole life of the socket

    async def run(self, app: Any, scope: MutableMapping[str, Any], receive: Any) -> None:
        pump = asyncio.ensure_future(self.pump(receive))
        try:
            await app(scope, self.receive, self.send)
        finally:
            self.closed = True
            pump.cancel()
            tasks = [pump] + ([self.watchdog] if self.watchdog is not None else [])
            if self.watchdog is not None:
                self.watchdog.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            registry(self.stack).discard(self)


class _Refusal:
    status = 401


_UNAUTHENTICATED: Any = _Refusal()


# -- current_user() inside WebSocket callbacks --------------------------------

def _on_dash_message(ws: Any, message: Any) -> None:
    """Dash's ``websocket_message`` hook: the callback about to run sees the socket's user."""
    scope = getattr(ws, "scope", None)
    conn = scope.get(SCOPE_KEY) if isinstance(scope, dict) else None
    if isinstance(conn, Connection) and conn.request is not None:
        set_in_context(conn.identity, conn.request)  # this callback's task only: the key is shared
    return None


def _require_checks(ws: Any) -> Any:
    """Dash's ``websocket_connect`` hook: a guarded app's socket that missed the frame checks is refused.

    On FastAPI the guard hands Dash's socket to :class:`Connection` by its path;
    middleware that rewrites the path after the guard would otherwise reach
    Dash unchecked. (Quart's handshake makes the same check itself.)
    """
    scope = getattr(ws, "scope", None)
    if not isinstance(scope, dict) or isinstance(scope.get(SCOPE_KEY), Connection):
        return True
    server = scope.get("app")
    try:
        guarded = server is not None and server in PROCESS.guarded_servers
    except TypeError:  # not weak-referenceable: not one of ours
        guarded = False
    if not guarded:
        return True
    log.error("dash-auth: a websocket reached Dash without the frame checks (path %r); refused", scope.get("path"))
    return (1011, "dash-auth: websocket checks were bypassed")

