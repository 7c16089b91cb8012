"""The Quart adapter (``Dash(backend="quart")``): ``before_request`` and ``before_websocket``.

* The guard runs as the first ``before_request`` function after Dash's own
  set-up, so it short-circuits before any user function or view; it runs
  inline on the event loop unless a hook is about to block (see
  :mod:`dash_auth_core.backends._aio`).
* The callback body is read once, ahead of the guard, with the stack's size
  limit; the parsed JSON is handed to Quart's cache so Dash reads the same
  object.
* Sessions are Quart's signed cookies, decoded only when used and ``Secure``
  on HTTPS requests.
* WebSockets: every websocket route is judged in ``before_websocket``;
  Dash's callback socket is handled by :mod:`dash_auth_core.websocket`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import quart
from quart.sessions import SecureCookieSessionInterface, SessionInterface
from quart.wrappers import Websocket

from .._private.dash import index_endpoints as dash_index_endpoints
from .._private.quart import CACHED_JSON, cv_request, cv_websocket, read_body
from ..context import key_setter
from ..errors import BadRequest
from ..responses import Response
from ..sessions.lifecycle import stamp
from . import (
    BackendAdapter,
    GuardFunc,
    Request,
    ViewFunc,
    WouldBlock,
    cookie_probe,
    dash_setup_index,
    declared_length,
    register_adapter,
    session_cookie_attributes,
)
from . import _server_sessions as server_side
from ._aio import (
    _HEADER_KEYS,
    guard_in_thread,
    header_value,
    in_thread,
    is_form_mimetype,
    is_json_mimetype,
    parse_json_body,
    raw_headers,
    run_guard,
)
from ._sessions import SerializerCache
from .flask import LazySession, remember_lifetime_of, remembered_until

_UPDATE = "_dash-update-component"
_WEBSOCKET = "_dash-ws-callback"


#: Headers Quart adds to those of the ASGI scope (``Host`` only when the client sent none;
#: ``Remote-Addr`` is the peer's address), by their raw names.
_QUART_ADDED = (b"host", b"remote-addr")


def _current_context_key() -> Any:
    """The Quart request (or websocket) being handled in this context, if any."""
    ctx = cv_request.get(None)
    if ctx is not None:
        return ctx.request
    ctx = cv_websocket.get(None)
    return ctx.websocket if ctx is not None else None


class QuartRequest(Request):
    """A :class:`Request` over a Quart request (or websocket) and its session."""

    __slots__ = ("_req", "_session", "state", "auth", "on_event_loop", "_body", "_body_error", "_form",
                 "_form_error", "_raw")

    #: The session cookie's name, set by the adapter (``SESSION_COOKIE_NAME``).
    session_cookie_name = "session"
    #: Whether a raw ``Cookie`` header carries it (see ``cookie_probe``; set with the name).
    session_cookie_in = staticmethod(cookie_probe("session"))
    #: Endpoints of Dash's index and catch-all views (set by the adapter; ``None``: unknown).
    index_endpoints: frozenset[str] | None = None

    @property
    def is_websocket(self) -> bool:
        return isinstance(self._req, Websocket)

    def served_by_dash_index(self) -> bool | None:
        endpoints = self.index_endpoints
        if endpoints is None:
            return None
        rule = getattr(self._req, "url_rule", None)  # None: nothing matched (Quart answers 404 or 405)
        return rule is not None and rule.endpoint in endpoints

    def __init__(
        self,
        req: Any,
        session: MutableMapping[str, Any],
        body: bytes | None = None,
        body_error: BadRequest | None = None,
        form: Mapping[str, str] | None = None,
        form_error: BadRequest | None = None,
        raw: dict[bytes, bytes] | None = None,
    ) -> None:
        self._req = req
        self._session = session
        self.state: dict[str, Any] = {}
        self.auth = None
        self.on_event_loop = False
        self._body = body
        self._body_error = body_error
        self._form = form
        self._form_error = form_error
        self._raw = raw  # the ASGI scope's headers (see raw_headers), built on first use when not given

    @property
    def method(self) -> str:
        return self._req.method

    @property
    def path(self) -> str:
        return self._req.path

    @property
    def headers(self) -> Mapping[str, str]:
        return self._req.headers

    @property
    def cookies(self) -> Mapping[str, str]:
        return self._req.cookies

    @property
    def args(self) -> Mapping[str, str]:
        return self._req.args

    @property
    def form(self) -> Mapping[str, str]:
        if self._form_error is not None:
            raise self._form_error
        return self._form if self._form is not None else {}

    @property
    def session(self) -> MutableMapping[str, Any]:
        return self._session

    @property
    def scheme(self) -> str:
        return self._req.scheme

    @property
    def host(self) -> str:
        return self._req.host

    @property
    def remote_addr(self) -> str | None:
        return self._req.remote_addr

    def header(self, name: str, default: str | None = None) -> str | None:
        # From the ASGI scope, as Quart's own headers are (a dict look-up instead of
        # werkzeug's case-insensitive scan), except the two Quart sets itself: its
        # Remote-Addr is the peer's address, whatever header the client sent.
        key = _HEADER_KEYS[name]
        if key in _QUART_ADDED:
            return self._req.headers.get(name, default)
        raw = self._raw
        if raw is None:
            raw = self._raw = raw_headers(self._req.scope)
        value = raw.get(key)
        return default if value is None else value.decode("latin-1")

    @property
    def has_session_cookie(self) -> bool:
        # A cheap look at the raw header; the cookie itself is parsed only if used.
        return self.session_cookie_in(self.header("Cookie"))

    def json(self, max_bytes: int | None) -> Any:
        cached = getattr(self._req, CACHED_JSON, None)
        if isinstance(cached, dict) and cached.get(False, Ellipsis) is not Ellipsis:
            return cached[False]
        data = parse_json_body(self._body, self._body_error, is_json_mimetype(self.header("Content-Type")))
        if isinstance(cached, dict):
            # Dash's view calls ``await request.get_json()``: it gets this very object.
            cached[False] = cached[True] = data
        return data

    @property
    def context_key(self) -> Any:
        return self._req

    current_context_key = staticmethod(_current_context_key)
    #: ``set_current_user(identity, self)``, in fewer steps: the key is the Quart request (or websocket).
    remember_user = key_setter(_current_context_key)  # type: ignore[assignment]  # a function: binds as a method


class _SessionInterface(SerializerCache, SecureCookieSessionInterface):
    """Quart's signed-cookie sessions, decoded on first use, ``Secure`` on HTTPS requests."""

    def get_cookie_secure(self, app: quart.Quart) -> bool:
        if super().get_cookie_secure(app):
            return True
        ctx = cv_request.get(None)
        return ctx is not None and ctx.request.scheme == "https"

    def is_null_session(self, obj: object) -> bool:
        # The framework saves only sessions that are not "null": one of ours that
        # nothing read has nothing to save, so the save step is skipped altogether.
        if type(obj) is LazySession:
            return obj._loader is not None  # type: ignore[attr-defined]  # not ``loaded``: a property call less
        return super().is_null_session(obj)

    async def open_session(self, app: quart.Quart, request: Any) -> Any:
        # SerializerCache.lazy_session, inline (Quart opens a session for every request).
        if not app.config.get("SECRET_KEY"):
            return None  # as Quart's interface: no key, no session
        return LazySession(functools.partial(self._load_cookie, app, request))

    #: The app's remember-me lifetime (set by the adapter).
    remember_lifetime: Any = staticmethod(lambda: None)

    def get_expiration_time(self, app: quart.Quart, session: Any) -> Any:
        # A browser-session cookie, except for a remembered login.
        return remembered_until(session, self.remember_lifetime()) or super().get_expiration_time(app, session)

    async def save_session(self, app: quart.Quart, session: Any, response: Any) -> None:
        if response is None:
            return  # a websocket: no cookie can be set (Quart would log an error)
        if session.modified:
            stamp(session)
        await super().save_session(app, session, response)


class _ServerSessionInterface(SessionInterface):
    """Sessions in a server-side store: the cookie carries an id; the record is read ahead of the guard
    (without blocking the event loop) when the request carries credentials."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions

    async def open_session(self, app: quart.Quart, request: Any) -> Any:
        # (HTTP/2 may split the cookies over several headers.)
        cookie = server_side.cookie_value("; ".join(request.headers.getlist("Cookie")), self.get_cookie_name(app))
        session = server_side.open_lazy(self.sessions, LazySession, cookie)
        if cookie or request.headers.get("Authorization"):
            await self.sessions.abegin(session)
        return session

    def is_null_session(self, obj: object) -> bool:
        handle = getattr(obj, "_dash_auth_handle", None)
        return not getattr(obj, "loaded", False) and not (handle is not None and (handle.rotate or handle.renew))

    async def save_session(self, app: quart.Quart, session: Any, response: Any) -> None:
        if response is None:
            return  # a websocket: no cookie can be set
        try:
            change = await self.sessions.afinish(session)
        except server_side.StoreUnavailable as exc:
            server_side.refuse(response, exc)
            return
        except server_side.RecordTooLarge as exc:
            server_side.too_large(exc)
            return
        def settings() -> dict[str, Any]:
            ctx = cv_request.get(None)
            return server_side.cookie_settings(self, app, ctx is not None and ctx.request.scheme == "https")

        server_side.apply(response, self.get_cookie_name(app), change, settings)


def to_quart(response: Response) -> quart.Response:
    native = quart.Response(response.body, status=response.status, content_type=response.content_type)
    for key, value in response.headers.items():
        native.headers[key] = value
    for key, value in response.extra_headers:
        native.headers.add(key, value)
    return native


async def _read_form(req: Any) -> tuple[Mapping[str, str] | None, BadRequest | None]:
    try:
        return await req.form, None
    except Exception as exc:  # werkzeug's parser raises several kinds for broken bodies
        status = getattr(exc, "code", None)
        return None, BadRequest("unreadable form body", status if status in (408, 413) else 400)


def _run_after_dash(server: Any, funcs: dict[Any, list[Any]], guard_func: Callable[[], Awaitable[Any]]) -> None:
    """Put ``guard_func`` right after Dash's own functions in ``funcs`` (see ``dash_setup_index``).

    It takes the place of the last of them and awaits it first: Quart then
    calls one function per request instead of two.
    """
    chain = funcs.setdefault(None, [])
    index = dash_setup_index(chain)
    if index is None:
        chain.insert(0, guard_func)
        return
    dash_func = chain[index]
    run_dash = server.ensure_async(dash_func)

    async def dash_then_guard() -> Any:
        answer = await run_dash()
        if answer is not None:
            return answer
        return await guard_func()

    dash_then_guard.runs_dash_setup = dash_func  # type: ignore[attr-defined]
    dash_then_guard.__name__ = guard_func.__name__
    chain[index] = dash_then_guard


class QuartAdapter(BackendAdapter):
    name = "quart"

    def native_response(self, response: Response) -> Any:
        return to_quart(response)

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._request_class: type[QuartRequest] = QuartRequest

    def _make_request_class(self) -> type[QuartRequest]:
        cookie_name = self.server.config.get("SESSION_COOKIE_NAME") or "session"
        return type("QuartRequest", (QuartRequest,), {
            "__slots__": (), **session_cookie_attributes(cookie_name), "index_endpoints": dash_index_endpoints(self.app),
        })

    def install_guard(self, guard: GuardFunc) -> None:
        from .. import websocket
        from ..guard import Guard

        request_class = self._request_class = self._make_request_class()
        stack = guard.stack if isinstance(guard, Guard) else None
        update_path = self.app.config.routes_pathname_prefix + _UPDATE
        ws_path = self.app.config.routes_pathname_prefix + _WEBSOCKET

        async def dash_auth_guard() -> quart.Response | None:
            ctx = cv_request.get()
            req = ctx.request
            body = body_error = form = form_error = raw = None
            if req.method == "POST":
                raw = raw_headers(req.scope)
                if req.path == update_path:
                    limit = stack.max_body_size if stack is not None else None
                    length = declared_length(raw.get(b"content-length"), raw.get(b"transfer-encoding"))
                    body, body_error = await read_body(req, limit, length)
                elif is_form_mimetype(header_value(raw, "content-type")):
                    form, form_error = await _read_form(req)
            make = functools.partial(request_class, req, ctx.session, body, body_error, form, form_error, raw)
            # On the loop, as run_guard does; in a thread only if a hook would block.
            request = make()
            request.on_event_loop = True
            try:
                result = guard(request)
            except WouldBlock:
                result = await guard_in_thread(guard, make)
            return None if result is None else to_quart(result)

        async def dash_auth_websocket_guard() -> Any:
            ctx = cv_websocket.get()
            ws = ctx.websocket
            session = ctx.session
            if stack is not None and ws.path == ws_path:
                # Dash's callback socket: authenticated here, every message judged later.
                return await websocket.quart_handshake(stack, ws, request_class(ws, session))
            result = await run_guard(guard, lambda: request_class(ws, session))
            return None if result is None else to_quart(result)

        server = self.server
        _run_after_dash(server, server.before_request_funcs, dash_auth_guard)
        _run_after_dash(server, server.before_websocket_funcs, dash_auth_websocket_guard)
        if stack is not None:
            websocket.install_asgi(stack, server, "quart")

    def add_route(self, rule: str, endpoint: str, view: ViewFunc, methods: list[str]) -> None:
        adapter = self

        async def quart_view(**kwargs: Any) -> quart.Response:
            ctx = cv_request.get()
            req = ctx.request
            form = form_error = None
            if req.method in ("POST", "PUT", "PATCH") and is_form_mimetype(req.headers.get("Content-Type")):
                form, form_error = await _read_form(req)
            request = adapter._request_class(req, ctx.session, form=form, form_error=form_error)
            # Views may block (a password check on a login form): never on the loop.
            return to_quart(await in_thread(view, request, **kwargs))

        quart_view.__name__ = endpoint.replace(":", "_").replace("/", "_").replace(".", "_")
        self.server.add_url_rule(rule, endpoint=endpoint, view_func=quart_view, methods=methods)

    def current_request(self) -> Request | None:
        ctx = cv_request.get(None)
        if ctx is not None:
            return self._request_class(ctx.request, ctx.session)
        ctx = cv_websocket.get(None)
        if ctx is not None:
            return self._request_class(ctx.websocket, ctx.session)
        return None

    def has_secret(self) -> bool:
        return bool(self.server.secret_key)

    def server_secret(self) -> str | bytes | None:
        return self.server.secret_key or None

    def ensure_sessions(self, secret_key: str | bytes | None) -> bool:
        had = self.has_secret()
        if secret_key:
            self.server.secret_key = secret_key
        config = self.server.config
        if config.get("SESSION_COOKIE_SAMESITE") is None:
            config["SESSION_COOKIE_SAMESITE"] = "Lax"
        config["SESSION_COOKIE_HTTPONLY"] = True
        if type(self.server.session_interface) is SecureCookieSessionInterface:
            interface = self.server.session_interface = _SessionInterface()
            interface.remember_lifetime = remember_lifetime_of(self)
        self._request_class = self._make_request_class()
        return had

    def use_session_store(self, sessions: Any) -> None:
        self.server.session_interface = _ServerSessionInterface(sessions)

        async def store_unavailable(exc: Exception) -> quart.Response:
            from ..responses import json_error

            refusal = json_error(503, "unavailable", str(exc))
            refusal.headers.update(getattr(exc, "headers", {}))
            return to_quart(refusal)

        self.server.register_error_handler(server_side.StoreUnavailable, store_unavailable)


register_adapter("quart", QuartAdapter)
