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
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from ._private import dash as dash_private
from .backends import LOGIN_ENDED, Request
from .backends._aio import asgi_headers, dash_setup, route_path, run_guard
from .browser import AUTH_REASON_PREFIX, BROWSER_COOKIE, LOGIN_REQUIRED  # the page reloads on these
from .context import set_current_user, set_in_context
from .hookspecs import hookimpl
from .identity import Identity
from .resources import Kind, Resource
from .sessions.store import StoreUnavailable

if TYPE_CHECKING:
    from .responses import Response
    from .view import StackView

log = logging.getLogger("dash_auth")

#: The ASGI scope key under which the socket's :class:`Connection` lives.
SCOPE_KEY = "dash_auth.websocket"

#: Closes the socket and stops Dash's client from reconnecting.
CLOSE_AUTH = 4001
#: Closes an anonymous socket when its browser signs in: Dash's client reconnects with the new cookies.
CLOSE_RECONNECT = 4002

#: Seconds between re-checks of an idle signed-in socket (logouts close at once).
RECHECK_SECONDS = 60.0
#: Seconds between a logout and the close frame of the user's sockets (they serve nothing meanwhile).
LOGOUT_CLOSE_DELAY = 0.5
#: Seconds a first frame waits for the handshake decision (Quart decides inside the app).
HANDSHAKE_TIMEOUT = 10.0
_MAX_ID = 256


def _short_str(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_ID


# -- logouts and revocation -----------------------------------------------


class _Registry:
    """One app's open sockets and the logins signed out while some were open."""

    def __init__(self) -> None:
        self.connections: weakref.WeakSet[Connection] = weakref.WeakSet()
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

    def add(self, conn: Connection) -> bool:
        """Count ``conn`` among the open sockets; ``False`` if its login was signed out meanwhile.

        Under the lock that :meth:`revoke` holds (it runs in the logout's
        worker thread): a socket is either closed by the logout or refused here.
        """
        with self.lock:
            if conn.identity is not None and self.is_revoked(conn.identity):
                return False
            self.connections.add(conn)
            return True

    def discard(self, conn: Connection) -> None:
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


_registries: weakref.WeakKeyDictionary[Any, _Registry] = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def registry(stack: object) -> _Registry:
    with _registries_lock:
        reg = _registries.get(stack)
        if reg is None:
            reg = _registries[stack] = _Registry()
        return reg


class _LogoutPlugin:
    """Closes a user's sockets when they log out, and a browser's anonymous ones when it signs in
    (the cookies of a socket are frozen at its handshake)."""

    def __init__(self, stack: StackView) -> None:
        self._stack = weakref.ref(stack)

    @hookimpl
    def on_login(self, identity: Identity, request: Request) -> None:
        stack = self._stack()
        if stack is not None and not request.is_websocket:
            registry(stack).reconnect_anonymous(_client_of(request))

    @hookimpl(tryfirst=True)  # before any plugin's own on_logout, which might fail
    def on_logout(self, identity: Identity | None, request: Request) -> None:
        stack = self._stack()
        if identity is not None and stack is not None:
            registry(stack).revoke(identity, stack.session_lifetime)


def _client_of(request: Request) -> str | None:
    """The browser a request comes from (the random cookie its pages keep), if it says."""
    try:
        value = request.cookies.get(BROWSER_COOKIE)
    except Exception:  # an unparsable Cookie header names no browser
        return None
    return value if isinstance(value, str) and 16 <= len(value) <= 64 else None


PLUGIN_NAME = "dash_auth_core.websocket"


def install(stack: StackView) -> None:
    """Prepare ``stack`` for authenticated sockets (once per stack)."""
    if stack.get_plugin(PLUGIN_NAME) is None:
        stack.register(_LogoutPlugin(stack), name=PLUGIN_NAME)
    _guarded_servers.add(stack.app.server)
    _install_dash_hook()


#: The servers whose Dash socket must have come through :class:`Connection` (the frame checks).
_guarded_servers: weakref.WeakSet[Any] = weakref.WeakSet()


# -- one message as a callback request for the guard ---------------------


_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})


class _WithoutCredentials(Mapping[str, str]):
    """Case-insensitive headers of a request, less ``Authorization`` and ``Cookie``."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._map = {k.lower(): v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}

    def get(self, key: str, default: Any = None) -> Any:
        return self._map.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return self._map[key.lower()]

    def __iter__(self) -> Any:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)


class _MessageRequest(Request):
    """A ``callback_request`` payload seen by the guard as a callback POST from the socket's client.

    ``anonymous``: the handshake's login was signed out; its frozen credentials
    are hidden, so the message is judged as an anonymous one.
    """

    __slots__ = ("_base", "_payload", "_path", "_anonymous", "state", "auth", "on_event_loop")

    #: The socket's key is shared by its callbacks, the frame pump and the re-checks.
    identity_per_context = True

    def __init__(self, base: Request, payload: Any, path: str, anonymous: bool = False) -> None:
        self._base = base
        self._payload = payload
        self._path = path
        self._anonymous = anonymous
        self.state: dict[str, Any] = {}
        self.auth = None
        self.on_event_loop = False

    @property
    def headers(self) -> Mapping[str, str]:
        if not self._anonymous:
            return self._base.headers
        return _WithoutCredentials(self._base.headers)

    @property
    def cookies(self) -> Mapping[str, str]:
        return {} if self._anonymous else self._base.cookies

    @property
    def session(self) -> MutableMapping[str, Any]:
        return {} if self._anonymous else self._base.session

    @property
    def has_session_cookie(self) -> bool:
        return False if self._anonymous else self._base.has_session_cookie

    method = property(lambda self: "POST")
    is_websocket = property(lambda self: True)
    path = property(lambda self: self._path)
    args = property(lambda self: self._base.args)
    form = property(lambda self: {})
    scheme = property(lambda self: self._base.scheme)
    host = property(lambda self: self._base.host)
    remote_addr = property(lambda self: self._base.remote_addr)
    context_key = property(lambda self: self._base.context_key)
    current_context_key = property(lambda self: self._base.current_context_key)  # type: ignore[assignment]

    def json(self, max_bytes: int | None) -> Any:
        return self._payload


def _fresh(request: Request) -> Request:
    """The handshake request with empty per-request state, for one more run of the guard."""
    request.state = {}
    request.auth = None
    return request


# -- one socket ---------------------------------------------------------------


class Connection:
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
        self.client = _client_of(request)
        try:
            result = await run_guard(stack.guard, lambda: _fresh(request))
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
            result = await run_guard(self.stack.guard, lambda: _fresh(request))
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

    async def on_frame(self, event: Mapping[str, Any]) -> bool:
        """Check one frame; ``True`` to pass it to Dash."""
        if self.signed_out:
            await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "signed out")
            return False
        text = event.get("text")
        if text is None:
            await self.close(1003, "dash-auth: binary messages are not accepted")
            return False
        limit = self.stack.max_body_size
        if limit is not None and len(text) > limit:
            await self.close(1009, "dash-auth: message too big")
            return False
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            await self.close(1007, "dash-auth: malformed JSON")
            return False
        if type(message) is not dict:
            await self.close(1008, "dash-auth: a message must be a JSON object")
            return False
        kind = message.get("type")
        if kind == "callback_request":
            return await self.on_callback(message)
        if kind == "heartbeat" or (kind == "get_props_response" and _short_str(message.get("requestId"))):
            if await self._recheck():
                return True
            await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "signed out")
            return False
        renderer = message.get("rendererId")
        await self.reply({
            "type": "error",
            "rendererId": renderer if _short_str(renderer) else "",
            "payload": {"message": "dash-auth: unknown or malformed message", "code": 400},
        })
        return False

    async def on_callback(self, message: Mapping[str, Any]) -> bool:
        request_id = message.get("requestId")
        renderer = message.get("rendererId", "")
        if not _short_str(request_id) or not isinstance(renderer, str) or len(renderer) > _MAX_ID:
            await self.close(1008, "dash-auth: malformed callback request")
            return False
        payload = message.get("payload")
        base = self.request
        if base is None:
            await self.close(1011, "dash-auth: internal error")
            return False
        stack = self.stack
        if not await self._reload_session():
            await self._callback_error(request_id, renderer, "dash-auth: 503 the session store is unavailable")
            return False
        request = _MessageRequest(base, payload, self.update_path, anonymous=self.revoked)
        result = await run_guard(stack.guard, lambda: request)
        authenticated = "identity" in request.state  # a malformed payload is refused before that
        identity = request.state.get("identity")
        if identity is not None and registry(stack).is_revoked(identity):
            identity = None
        if authenticated and self.identity is not None and (identity is None or identity.id != self.identity.id):
            await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "signed out")
            return False
        if result is not None:
            await self._refuse(request, result, request_id, renderer)
            return False
        app = stack.app
        output = payload.get("output") if isinstance(payload, dict) else None
        if not (self.all_over_websocket or app.callback_map.get(output, {}).get("websocket")):
            await self._callback_error(request_id, renderer, "dash-auth: this callback does not run over WebSocket")
            return False
        if identity is not None:
            self.identity = identity
        return True

    async def _refuse(self, request: _MessageRequest, result: Response, request_id: str, renderer: str) -> None:
        try:
            body = json.loads(result.body)
            detail = f"{body.get('error')}: {body.get('message')}"
        except (ValueError, TypeError, AttributeError):
            detail = "refused"
        resource = request.state.get("resource")
        is_route = resource is not None and resource.kind is Kind.CALLBACK and resource.pathname is not None
        if result.status == 401 and is_route:
            # A private page asked for over the socket: the page reloads and the
            # full page load gets the login challenge.
            await self._callback_error(request_id, renderer, f"{LOGIN_REQUIRED} {detail}")
            await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "sign-in required")
            return
        await self._callback_error(request_id, renderer, f"dash-auth: {result.status} {detail}")

    async def _callback_error(self, request_id: str, renderer: str, text: str) -> None:
        await self.reply({
            "type": "callback_response",
            "rendererId": renderer,
            "requestId": request_id,
            "payload": {"status": "error", "message": text},
        })

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


# -- the backends ---------------------------------------------------------------


async def fastapi_connection(
    stack: StackView, app: Any, request: Request, scope: MutableMapping[str, Any], receive: Any, send: Any
) -> None:
    """Serve Dash's callback socket on FastAPI: judge the handshake, then every frame."""
    conn = Connection(stack, send)
    scope[SCOPE_KEY] = conn
    first = await receive()
    if first.get("type") != "websocket.connect":
        return
    reason = await conn.handshake(request)
    if reason is not None:
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": CLOSE_AUTH, "reason": reason})
        return
    conn.inbox.put_nowait(first)
    await conn.run(app, scope, receive)


async def quart_handshake(stack: StackView, ws: Any, request: Request) -> Any:
    """``before_websocket`` on Quart for Dash's socket: ``None`` to go on, else it was closed."""
    conn = ws.scope.get(SCOPE_KEY) if isinstance(getattr(ws, "scope", None), dict) else None
    if not isinstance(conn, Connection):
        # The frame checks are missing (the ASGI app was replaced): deny by default.
        log.error("dash-auth: the websocket layer is not installed; refusing %s", ws.path)
        await ws.accept()
        await ws.close(1011, "dash-auth: websocket checks are not installed")
        return ""
    reason = await conn.handshake(request)
    if reason is None:
        return None
    await ws.accept()
    await ws.close(CLOSE_AUTH, reason)
    return ""


def install_asgi(stack: StackView, server: Any, backend: str) -> None:
    """Put the frame checks around a Quart app's ASGI callable (once)."""
    install(stack)
    inner = server.asgi_app
    if getattr(inner, "_dash_auth_websocket", False):
        return
    ws_path = stack.app.config.routes_pathname_prefix + "_dash-ws-callback"

    async def asgi_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "websocket" or route_path(scope) != ws_path:
            await inner(scope, receive, send)
            return
        conn = Connection(stack, send)
        scope[SCOPE_KEY] = conn
        await conn.run(inner, scope, receive)

    asgi_app._dash_auth_websocket = True  # type: ignore[attr-defined]
    server.asgi_app = asgi_app


async def refuse_handshake(scope: Mapping[str, Any], send: Any, response: Response) -> None:
    """Refuse a websocket handshake on a route that is not Dash's, with the guard's answer if possible."""
    extensions = scope.get("extensions") or {}
    if "websocket.http.response" in extensions:
        body = response.body.encode() if isinstance(response.body, str) else bytes(response.body)
        await send({"type": "websocket.http.response.start", "status": response.status,
                    "headers": asgi_headers(response)})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "websocket.close", "code": 1008, "reason": "dash-auth: refused"})


def current_request() -> Request | None:
    """No separate lookup is needed: the adapters' own contexts cover sockets."""
    return None


# -- current_user() inside WebSocket callbacks --------------------------------

_hook_installed = False


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
        guarded = server is not None and server in _guarded_servers
    except TypeError:  # not weak-referenceable: not one of ours
        guarded = False
    if not guarded:
        return True
    log.error("dash-auth: a websocket reached Dash without the frame checks (path %r); refused", scope.get("path"))
    return (1011, "dash-auth: websocket checks were bypassed")


def _install_dash_hook() -> None:
    global _hook_installed
    if not _hook_installed:
        import dash

        dash.hooks.websocket_message()(_on_dash_message)
        dash.hooks.websocket_connect()(_require_checks)
        _hook_installed = True
