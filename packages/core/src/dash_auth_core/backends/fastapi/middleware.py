"""The FastAPI backend's ASGI middleware: the guard, the sessions, and Dash's callback socket.

:class:`GuardMiddleware` runs the guard on every HTTP request and WebSocket
handshake, with the stack's session middleware inline; Dash's callback socket
goes to :class:`~dash_auth_core.websocket.Connection`, which judges its
handshake and every frame.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from base64 import b64decode, b64encode
from collections.abc import Mapping, MutableMapping
from typing import Any, Protocol

from itsdangerous import BadSignature
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import Session, SessionMiddleware
from starlette.requests import cookie_parser

from ..._private.dash import dash_middleware_reusing_body
from ...responses import Response, json_error
from ...sessions.cookies import CACHEABLE_METHODS, cookie_header
from ...sessions.lifecycle import stamp
from ...sessions.records import RecordTooLarge
from ...sessions.store import StoreUnavailable
from ...websocket import CLOSE_AUTH, SCOPE_KEY, Connection
from .. import GuardFunc, Request, WouldBlock
from .._aio import (
    ScopeHeaders,
    asgi_headers,
    dash_setup,
    guard_in_thread,
    header_value,
    is_form_mimetype,
    raw_headers,
    route_path,
    run_guard,
)
from .._sessions import decoded_cookie, lazy_session_class, remembered_until
from .request import (
    _JUDGED_PATH,
    _PARSED_BODY,
    _UNPARSED,
    _UPDATE,
    _WEBSOCKET,
    FastAPIRequest,
    Handling,
    _handling,
    read_body,
    replay,
    send_response,
)

log = logging.getLogger("dash_auth")


def vary_on_cookie(message: dict[str, Any], method: str) -> None:
    """Add ``Cookie`` to the ``Vary`` of an ASGI response's start ``message`` if a cache may store it
    (the rule of ``backends/_server_sessions.vary_on_cookie``)."""
    if method not in CACHEABLE_METHODS and (
        method != "POST" or b"content-location" not in map(bytes.lower, dict(message.get("headers", ())))
    ):
        return
    headers = MutableHeaders(scope=message)
    vary = headers.get("vary")
    if vary is None or "cookie" not in (token.strip().lower() for token in vary.split(",")):
        headers.add_vary_header("Cookie")


class _Adapter(Protocol):
    """What the middleware reads of the adapter (see :class:`~.adapter.FastAPIAdapter`)."""

    app: Any
    request_class: type[FastAPIRequest]


class LazySession(lazy_session_class(Session)):  # type: ignore[misc]
    """Starlette's session dict, decoded from the cookie on first use."""

    #: No cookie was decoded into it (a cleared session then needs no deleting cookie).
    initially_empty = True

    def _on_loaded(self) -> None:
        self.initially_empty = False


class SessionCookieMiddleware(SessionMiddleware):
    """Starlette's ``SessionMiddleware`` (same cookie format and options), with two changes.

    The cookie is verified and decoded only when something reads the session
    (a request authenticated by a header, or a static file, skips it), and it
    is marked ``Secure`` on every HTTPS request. The guard's middleware runs
    it inline (:meth:`open`), one ASGI layer fewer per request.
    """

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self.open(scope, send))

    def open(self, scope: MutableMapping[str, Any], send: Any) -> Any:
        """Put a lazy session into ``scope``; return the ``send`` that writes its cookie."""
        # The loader holds the headers, not the scope: a scope that held its own
        # session's loader would be a reference cycle, left to the garbage collector.
        scope["session"] = LazySession(functools.partial(self._load, scope.get("headers", ())))

        def send_wrapper(message: dict[str, Any]) -> Any:
            # A plain function returning ``send``'s awaitable: no coroutine of its own per message.
            # (A session nothing read was not modified: loading it is no modification.)
            if message["type"] == "http.response.start":
                session = scope["session"]
                if session.modified:
                    self._set_cookie(scope, message)
                elif session._loader is None and session:  # read, and not empty: the answer depends on it
                    vary_on_cookie(message, scope["method"])
            return send(message)

        return send_wrapper

    def _set_cookie(self, scope: MutableMapping[str, Any], message: dict[str, Any]) -> None:
        session = scope["session"]
        name = self.session_cookie
        flags = self.security_flags
        if scope.get("scheme") in ("https", "wss") and "secure" not in flags.split("; "):
            flags += "; secure"
        headers = MutableHeaders(scope=message)
        headers.add_vary_header("Cookie")
        if session:
            stamp(session)
            data = self.signer.sign(b64encode(json.dumps(dict(session)).encode("utf-8"))).decode("utf-8")
            # A browser-session cookie, except for a remembered login (remember-me).
            until = remembered_until(session, self.remember_lifetime())
            max_age = f"Max-Age={max(0, int(until.timestamp() - time.time()))}; " if until is not None else ""
            headers.append("Set-Cookie", f"{name}={data}; path={self.path}; {max_age}{flags}")
        elif not getattr(session, "initially_empty", False):
            expires = "expires=Thu, 01 Jan 1970 00:00:00 GMT; "
            headers.append("Set-Cookie", f"{name}=null; path={self.path}; {expires}{flags}")

    def _load(self, headers: Any) -> dict[str, Any] | None:
        raw = cookie_parser(ScopeHeaders({"headers": headers}).get("cookie", "")).get(self.session_cookie)
        return decoded_cookie(raw, self._decode, (BadSignature, ValueError, TypeError))

    #: The app's remember-me lifetime (set by the adapter).
    remember_lifetime: Any = staticmethod(lambda: None)

    def _decode(self, raw: str) -> Any:
        # Signed at the last write: a remembered login's cookie must still read at the end of its lifetime.
        max_age = self.max_age and max(self.max_age, int(self.remember_lifetime() or 0))
        return json.loads(b64decode(self.signer.unsign(raw.encode("utf-8"), max_age=max_age)))


class ServerCookieSessions:
    """The stack's sessions kept in a server-side store: the cookie carries an id (see
    :mod:`dash_auth_core.sessions.server`). The record is read before the guard runs, with the
    store's asyncio client, and written as the response starts; an outage while writing
    replaces the response with a JSON 503."""

    def __init__(self, sessions: Any, cookie: str = "session", path: str = "/") -> None:
        self.sessions = sessions
        self.session_cookie = cookie
        self.path = path

    async def aopen(self, scope: dict[str, Any], send: Any, raw: dict[bytes, bytes] | None = None) -> Any:
        """Put the request's lazy session into ``scope`` (its record read ahead when it carries a
        session cookie or credentials); return the ``send`` that writes it back. ``raw``: the
        scope's :func:`raw_headers`, if already made."""
        sessions = self.sessions
        if raw is None:
            raw = raw_headers(scope)
        header = raw.get(b"cookie")
        cookie = header.decode("latin-1") if header is not None else None
        session = await sessions.aopen_header(LazySession, cookie, self.session_cookie, lambda: b"authorization" in raw)
        handle = session._dash_auth_handle
        scope["session"] = session
        if scope["type"] != "http":
            return send  # a websocket's session is its handshake's: nothing is written back
        failed = False
        name, path = self.session_cookie, self.path

        async def finish_and_send(message: dict[str, Any]) -> None:
            nonlocal failed
            try:
                change = await sessions.afinish(session)
            except StoreUnavailable as exc:
                failed = True
                refusal = json_error(503, exc.error, exc.message)
                refusal.headers.update(exc.headers)
                await send_response(send, refusal)
                return
            except RecordTooLarge as exc:
                log.error("a session was not saved: %s", exc)
                change = None
            if change is None:
                if handle.raw is not None:  # a record was read: the answer depends on it
                    vary_on_cookie(message, scope["method"])
            else:
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Cookie")
                secure = scope.get("scheme") == "https"
                headers.append("Set-Cookie", cookie_header(name, change, path=path, secure=secure))
            await send(message)

        def send_wrapper(message: dict[str, Any]) -> Any:
            # A plain function returning an awaitable: no coroutine of its own per message when the
            # session has nothing to write (a record read ahead that nothing used, not due for renewal).
            if failed:
                return _dropped()  # the response was replaced by a 503
            if message["type"] == "http.response.start":
                if session._loader is None or handle.renew:  # not sessions.unused(session), inline
                    return finish_and_send(message)
                if handle.raw is not None:
                    vary_on_cookie(message, scope["method"])
            return send(message)

        return send_wrapper


async def _dropped() -> None:
    """What sending a message of a response replaced by a 503 does: nothing."""


class GuardMiddleware:
    """The guard as a pure ASGI middleware (no ``BaseHTTPMiddleware``: nothing is buffered).

    ``sessions`` is the stack's own session middleware, run inline; ``None``
    when the app brought Starlette's, which then runs just outside this one.
    """

    def __init__(
        self, app: Any, adapter: _Adapter, guard: GuardFunc,
        sessions: SessionCookieMiddleware | ServerCookieSessions | None = None,
    ) -> None:
        self.app = app
        self.adapter = adapter
        self.guard = guard
        self.sessions = sessions
        self.stack = getattr(guard, "stack", None)
        dash_app = adapter.app
        prefix = dash_app.config.routes_pathname_prefix
        self.update_path = prefix + _UPDATE
        self.ws_path = prefix + _WEBSOCKET
        self.dash_app = dash_app
        self.ready = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not self.ready:
            # Dash registers ``dash.callback`` callbacks and the Pages router at its
            # first request, which on FastAPI happens after this middleware.
            await dash_setup(self.dash_app)
            self.ready = True
        raw = raw_headers(scope)
        sessions = self.sessions
        if sessions is not None:
            if type(sessions) is ServerCookieSessions:
                send = await sessions.aopen(scope, send, raw)
            else:
                send = sessions.open(scope, send)  # type: ignore[union-attr]
        token = _handling.set(Handling(scope))
        try:
            if kind == "websocket":
                await self._websocket(scope, receive, send)
                return
            # HTTP, inline (one coroutine fewer per request).
            request_class = self.adapter.request_class
            body = body_error = None
            replayed = receive
            method = scope["method"]
            path = scope[_JUDGED_PATH] = scope["path"]  # Dash's middleware checks it is still the same
            if method == "POST" and (
                (route_path(scope) if scope.get("root_path") else path) == self.update_path
                or is_form_mimetype(header_value(raw, "content-type"))
            ):
                limit = self.stack.max_body_size if self.stack is not None else None
                body, body_error = await read_body(receive, raw, limit)
                if body is not None:
                    replayed = replay(body, receive)
            try:
                # On the loop, as run_guard does; in a thread only if a hook would block.
                request = request_class(scope, body, body_error, raw)
                request.on_event_loop = True
                try:
                    result = self.guard(request)
                except WouldBlock:
                    result = await guard_in_thread(self.guard, lambda: request_class(scope, body, body_error, raw))
            except Exception:
                log.exception("the dash-auth guard failed on %s %s", method, scope.get("path"))
                result = json_error(500, "internal_error", "the request could not be checked")
            if result is not None:
                await send_response(send, result, head=method == "HEAD")
            elif body_error is not None:
                # Only the guard reads these bodies; an unreadable one never goes on.
                await send_response(send, json_error(body_error.status, "bad_request", body_error.message))
            else:
                await self.app(scope, replayed, send)
        finally:
            _handling.reset(token)

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_class = self.adapter.request_class
        if self.stack is not None and route_path(scope) == self.ws_path:
            await serve_socket(self.stack, self.app, request_class(scope), scope, receive, send)
            return
        try:
            result = await run_guard(self.guard, lambda: request_class(scope))
        except Exception:
            log.exception("the dash-auth guard failed on the websocket %s", scope.get("path"))
            result = json_error(500, "internal_error", "the request could not be checked")
        if result is None:
            await self.app(scope, receive, send)
            return
        await refuse_handshake(scope, send, result)


def _reusing_parsed_body(middleware: Middleware) -> Middleware:
    """Dash's own middleware, handed the callback body the guard has already parsed,
    and refusing a request whose path changed after the guard judged it (see
    :func:`dash_auth_core._private.dash.dash_middleware_reusing_body`). Any
    other middleware is returned unchanged (and if Dash or Starlette change
    these names, Dash simply parses again).
    """
    # A subclass of Dash's middleware class, or None.
    reusing: Any = dash_middleware_reusing_body(_PARSED_BODY, _JUDGED_PATH, _UNPARSED, _refuse_unjudged)
    if reusing is None or middleware.cls is not reusing.__base__:
        return middleware
    return Middleware(reusing, *middleware.args, **middleware.kwargs)


async def _refuse_unjudged(send: Any) -> None:
    await send_response(send, json_error(403, "forbidden", "this request was not checked"))


async def serve_socket(
    stack: Any, app: Any, request: Request, scope: MutableMapping[str, Any], receive: Any, send: Any
) -> None:
    """Serve Dash's callback socket: judge the handshake, then every frame."""
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
