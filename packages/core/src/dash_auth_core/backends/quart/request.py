"""A request of the Quart backend (HTTP or WebSocket), and Quart's sessions as the stack sets them up."""

from __future__ import annotations

import functools
from collections.abc import Mapping, MutableMapping
from typing import Any

import quart
from quart.sessions import SecureCookieSessionInterface, SessionInterface
from quart.wrappers import Websocket

from ..._private.quart import CACHED_JSON, cv_request, cv_websocket
from ...context import key_setter
from ...errors import BadRequest
from ...sessions.lifecycle import stamp
from .. import _server_sessions as server_side
from .. import (
    cookie_probe,
)
from .._aio import (
    _HEADER_KEYS,
    is_json_mimetype,
    parse_json_body,
    raw_headers,
)
from .._sessions import (
    LazySession,
    StoreInterfaceBase,
    cookie_interface_base,
)
from .._wrapped import WrappedRequest

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


class QuartRequest(WrappedRequest):
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
        return self._req.method  # type: ignore[no-any-return]  # Quart is untyped

    @property
    def path(self) -> str:
        return self._req.path  # type: ignore[no-any-return]  # Quart is untyped

    @property
    def headers(self) -> Mapping[str, str]:
        return self._req.headers  # type: ignore[no-any-return]  # Quart is untyped

    @property
    def form(self) -> Mapping[str, str]:
        if self._form_error is not None:
            raise self._form_error
        return self._form if self._form is not None else {}

    @property
    def session(self) -> MutableMapping[str, Any]:
        return self._session

    def header(self, name: str, default: str | None = None) -> str | None:
        # From the ASGI scope, as Quart's own headers are (a dict look-up instead of
        # werkzeug's case-insensitive scan), except the two Quart sets itself: its
        # Remote-Addr is the peer's address, whatever header the client sent.
        key = _HEADER_KEYS[name]
        if key in _QUART_ADDED:
            return self._req.headers.get(name, default)  # type: ignore[no-any-return]  # Quart is untyped
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


class _SessionInterface(cookie_interface_base(SecureCookieSessionInterface)):  # type: ignore[misc]
    """Quart's signed-cookie sessions, decoded on first use, ``Secure`` on HTTPS requests."""

    def get_cookie_secure(self, app: quart.Quart) -> bool:
        if super().get_cookie_secure(app):
            return True
        ctx = cv_request.get(None)
        return ctx is not None and ctx.request.scheme == "https"

    async def open_session(self, app: quart.Quart, request: Any) -> Any:
        # SerializerCache.lazy_session, inline (Quart opens a session for every request).
        if not app.config.get("SECRET_KEY"):
            return None  # as Quart's interface: no key, no session
        return LazySession(functools.partial(self._load_cookie, app, request))

    async def save_session(self, app: quart.Quart, session: Any, response: Any) -> None:
        if response is None:
            return  # a websocket: no cookie can be set (Quart would log an error)
        if session.modified:
            stamp(session)
        await super().save_session(app, session, response)
        if session:
            # A session that was read (only those are saved): the answer depends on the cookie.
            # (Quart's own interface says so only for sessions it marked accessed, which is none.)
            ctx = cv_request.get(None)
            server_side.vary_on_cookie(response, ctx.request.method if ctx is not None else "GET")


class _ServerSessionInterface(StoreInterfaceBase, SessionInterface):
    """Sessions in a server-side store: the cookie carries an id; the record is read ahead of the guard
    (without blocking the event loop) when the request carries credentials."""

    async def open_session(self, app: quart.Quart, request: Any) -> Any:
        # (HTTP/2 may split the cookies over several headers.)
        header = "; ".join(request.headers.getlist("Cookie"))
        return await self.sessions.aopen_header(LazySession, header, self.get_cookie_name(app),
                                                lambda: request.headers.get("Authorization"))

    async def save_session(self, app: quart.Quart, session: Any, response: Any) -> None:
        if response is None:
            return  # a websocket: no cookie can be set
        ctx = cv_request.get(None)
        method = ctx.request.method if ctx is not None else "GET"  # (unknown: as if a cache may store it)
        if self.sessions.unused(session):
            server_side.vary_on_cookie(response, method)  # nothing to write: the usual signed-in request
            return
        try:
            change = await self.sessions.afinish(session)
        except (server_side.StoreUnavailable, server_side.RecordTooLarge) as exc:
            server_side.not_saved(response, exc)
            return

        def settings() -> dict[str, Any]:
            return server_side.cookie_settings(self, app, ctx is not None and ctx.request.scheme == "https")

        server_side.apply(response, self.get_cookie_name(app), change, settings, method)
