"""The FastAPI adapter (``Dash(backend="fastapi")``): a pure ASGI middleware around everything.

Dash's ``before_request`` functions on FastAPI cannot refuse a request and
see only ``/`` and ``/_dash-*``, so the guard is an ASGI middleware of its
own. It is put first in the app's middleware when the app builds its stack
(right inside Starlette's error handler), so it sees every HTTP path and
every WebSocket scope, including those of middleware the user adds later:

* callback bodies (and form posts) are read once, judged, and replayed to
  Dash unchanged; Dash's middleware gets the guard's parse of the same bytes
  rather than parsing them again;
* sessions are Starlette's ``SessionMiddleware``, put just outside the guard:
  the one the user added (moved there, with the user's settings), or ours,
  signed with the stack's secret, ``Secure`` on HTTPS requests;
* FastAPI's ``/docs``, ``/redoc`` and ``/openapi.json`` are ordinary paths to
  the guard: they need a signed-in user unless made public (or switched off
  with ``FastAPI(docs_url=None, redoc_url=None, openapi_url=None)``);
* Dash's callback WebSocket is handled by :mod:`dash_auth_core.websocket`.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
import time
from base64 import b64decode, b64encode
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

from itsdangerous import BadSignature
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.middleware import Middleware
from starlette.middleware.sessions import Session, SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import cookie_parser
from starlette.responses import Response as StarletteResponse
from starlette.routing import Match
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from .._private.dash import dash_middleware_reusing_body
from .._private.dash import is_fastapi_index_route as _is_dash_index
from ..context import IDENTITY_ATTRIBUTE, key_setter
from ..errors import BadRequest, ConfigurationError
from ..responses import Response, json_error
from ..sessions.lifecycle import stamp
from . import (
    BackendAdapter,
    GuardFunc,
    Request,
    ViewFunc,
    WouldBlock,
    cookie_probe,
    declared_length,
    register_adapter,
    session_cookie_attributes,
)
from ._aio import (
    _HEADER_KEYS,
    ScopeHeaders,
    asgi_headers,
    dash_setup,
    guard_in_thread,
    header_value,
    in_thread,
    is_form_mimetype,
    is_json_mimetype,
    parse_json_body,
    raw_headers,
    route_path,
    run_guard,
)
from ._sessions import decoded_cookie, lazy_session_class
from .flask import remember_lifetime_of, remembered_until

log = logging.getLogger("dash_auth")

_UPDATE = "_dash-update-component"
_WEBSOCKET = "_dash-ws-callback"
#: The scope key under which the guard leaves the callback body it parsed (for Dash's middleware).
_PARSED_BODY = "dash_auth.json"
#: The scope key under which the guard leaves the path it judged (for Dash's middleware).
_JUDGED_PATH = "dash_auth.path"
_UNPARSED = object()


class Handling:
    """The request being handled in a context: its ASGI scope, and the identity ``current_user`` gives."""

    __slots__ = ("scope", IDENTITY_ATTRIBUTE, "__weakref__")

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope


#: The request being handled in this context (set by the guard's middleware).
_handling: ContextVar[Handling | None] = ContextVar("dash_auth_fastapi_request", default=None)


class FastAPIRequest(Request):
    """A :class:`Request` over an ASGI scope (HTTP or WebSocket) and a body read ahead."""

    __slots__ = ("_scope", "_raw", "state", "auth", "on_event_loop", "_body", "_body_error", "_form",
                 "method", "path", "context_key")

    #: The session cookie's name, set by the adapter.
    session_cookie_name = "session"
    #: Whether a raw ``Cookie`` header carries it (see ``cookie_probe``; set with the name).
    session_cookie_in = staticmethod(cookie_probe("session"))
    #: The app's router (set by the adapter; ``None``: unknown).
    router: Any = None

    def served_by_dash_index(self) -> bool | None:
        router = self.router
        if router is None:
            return None
        # The guard runs before routing: find the route Starlette will pick (the first full match).
        scope = self._scope
        for route in router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return _is_dash_index(route)
        return False

    def __init__(
        self,
        scope: dict[str, Any],
        body: bytes | None = None,
        body_error: BadRequest | None = None,
        raw: dict[bytes, bytes] | None = None,
    ) -> None:
        self._scope = scope
        self._raw = raw_headers(scope) if raw is None else raw  # see raw_headers
        self.method: str = scope.get("method", "GET")  # a WebSocket scope has none
        self.path: str = route_path(scope) if scope.get("root_path") else scope["path"]
        self.state: dict[str, Any] = {}
        self.auth = None
        self.on_event_loop = False
        self._body = body
        self._body_error = body_error
        self._form: Mapping[str, str] | BadRequest | None = None  # parsed on first use
        self.context_key = _handling.get()

    @property
    def headers(self) -> Mapping[str, str]:
        return ScopeHeaders(self._scope, self._raw)

    def header(self, name: str, default: str | None = None) -> str | None:
        # ScopeHeaders.get, inlined: the guard asks for a few headers on every request.
        value = self._raw.get(_HEADER_KEYS[name])
        return default if value is None else value.decode("latin-1")

    @property
    def cookies(self) -> Mapping[str, str]:
        return cookie_parser(self.headers.get("cookie", ""))

    @property
    def args(self) -> Mapping[str, str]:
        return QueryParams(self._scope.get("query_string", b""))

    @property
    def form(self) -> Mapping[str, str]:
        form = self._form
        if form is None:
            if self._body is None:
                return {}
            parsed, error = parse_form(self._body, self.header("content-type"))
            form = self._form = parsed if error is None else error
        if isinstance(form, BadRequest):
            raise form
        return form

    @property
    def session(self) -> MutableMapping[str, Any]:
        try:
            return self._scope["session"]
        except KeyError:
            raise ConfigurationError("no session middleware ran for this request") from None

    @property
    def scheme(self) -> str:
        scheme = self._scope.get("scheme", "http")
        return {"ws": "http", "wss": "https"}.get(scheme, scheme)

    @property
    def host(self) -> str:
        host = self.headers.get("host")
        if host:
            return host
        server = self._scope.get("server")
        if not server:
            return ""
        name, port = server[0], server[1]
        default = 443 if self.scheme == "https" else 80
        return name if port in (None, default) else f"{name}:{port}"

    @property
    def remote_addr(self) -> str | None:
        client = self._scope.get("client")
        return client[0] if client else None

    @property
    def has_session_cookie(self) -> bool:
        return self.session_cookie_in(self.header("cookie"))

    @property
    def is_websocket(self) -> bool:
        return self._scope.get("type") == "websocket"

    def json(self, max_bytes: int | None) -> Any:
        scope = self._scope
        data = scope.get(_PARSED_BODY, _UNPARSED)
        if data is _UNPARSED:
            data = parse_json_body(self._body, self._body_error, is_json_mimetype(self.header("content-type")))
            scope[_PARSED_BODY] = data
        return data

    #: The :class:`Handling` of the request handled in this context, if any (a C call).
    current_context_key = staticmethod(_handling.get)
    #: ``set_current_user(identity, self)``, in fewer steps: the key is the request's :class:`Handling`.
    remember_user = key_setter(current_context_key.__func__)  # type: ignore[assignment]  # a function: binds as a method


def parse_form(body: bytes, content_type: str | None) -> tuple[Mapping[str, str] | None, BadRequest | None]:
    """Form fields of a urlencoded or multipart body, parsed the way Flask does."""
    mimetype, options = parse_options_header(content_type or "")
    mimetype = mimetype.lower()  # werkzeug's parser knows the lower-case names only (Flask lowers them too)
    try:
        _stream, form, _files = FormDataParser().parse(io.BytesIO(body), mimetype, len(body), options)
    except Exception as exc:  # werkzeug raises several kinds for broken bodies
        return None, BadRequest(f"unreadable form body: {exc}", 400)
    return form, None


async def read_body(
    receive: Any, raw: dict[bytes, bytes], max_bytes: int | None
) -> tuple[bytes | None, BadRequest | None]:
    """The whole HTTP body (at most ``max_bytes``; beyond that a 413 without reading on).

    ``raw`` are the request's headers (see ``raw_headers``): a body that does
    not come in one message is refused at once if it declares a size above
    the limit.
    """
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body = message.get("body", b"")  # the usual case: the whole body in one message
        if max_bytes is None or len(body) <= max_bytes:
            return body, None
        return None, BadRequest(f"request body is larger than {max_bytes} bytes", 413)
    if max_bytes is not None:
        length = declared_length(raw.get(b"content-length"), raw.get(b"transfer-encoding"))
        if length is not None and length > max_bytes:
            return None, BadRequest(f"request body is larger than {max_bytes} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            return None, BadRequest("the client went away", 400)
        chunk = message.get("body", b"")
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            return None, BadRequest(f"request body is larger than {max_bytes} bytes", 413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None
        message = await receive()


def replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands ``body`` downstream once, then defers to the real one."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def send_response(send: Any, response: Response, head: bool = False) -> None:
    body = response.body.encode("utf-8") if isinstance(response.body, str) else bytes(response.body)
    headers = [(b"content-length", str(len(body)).encode("latin-1")), *asgi_headers(response)]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def to_starlette(response: Response) -> StarletteResponse:
    native = StarletteResponse(response.body, status_code=response.status, media_type=None)
    native.headers["content-type"] = response.content_type
    for key, value in response.headers.items():
        native.headers[key] = value
    for key, value in response.extra_headers:
        native.headers.append(key, value)
    return native


_RULE_PART = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_CONVERTERS = {None: "", "string": "", "default": "", "path": ":path", "int": ":int", "float": ":float", "uuid": ":uuid"}


def starlette_path(rule: str) -> str:
    """A Flask route rule (``/user/<int:id>``) in Starlette's syntax (``/user/{id:int}``)."""

    def convert(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter not in _CONVERTERS:
            raise ConfigurationError(f"route {rule!r}: the converter {converter!r} has no FastAPI equivalent")
        return "{" + name + _CONVERTERS[converter] + "}"

    return _RULE_PART.sub(convert, rule)


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

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self.open(scope, send))

    def open(self, scope: dict[str, Any], send: Any) -> Any:
        """Put a lazy session into ``scope``; return the ``send`` that writes its cookie."""
        # The loader holds the headers, not the scope: a scope that held its own
        # session's loader would be a reference cycle, left to the garbage collector.
        scope["session"] = LazySession(functools.partial(self._load, scope.get("headers", ())))

        def send_wrapper(message: dict[str, Any]) -> Any:
            # A plain function returning ``send``'s awaitable: no coroutine of its own per message.
            # (A session nothing read was not modified: loading it is no modification.)
            if message["type"] == "http.response.start" and scope["session"].modified:
                self._set_cookie(scope, message)
            return send(message)

        return send_wrapper

    def _set_cookie(self, scope: dict[str, Any], message: dict[str, Any]) -> None:
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

    async def aopen(self, scope: dict[str, Any], send: Any) -> Any:
        from ..sessions.records import RecordTooLarge
        from ..sessions.server import cookie_header
        from ..sessions.store import StoreUnavailable

        sessions = self.sessions
        raw = raw_headers(scope)
        cookie_value = cookie_parser(header_value(raw, "cookie") or "").get(self.session_cookie)
        session = LazySession(None)
        handle = sessions.attach(session, cookie_value)
        session._loader = functools.partial(sessions.load, handle)
        scope["session"] = session
        if cookie_value or b"authorization" in raw:
            await sessions.abegin(session)
        if scope["type"] != "http":
            return send  # a websocket's session is its handshake's: nothing is written back
        failed = False
        name, path = self.session_cookie, self.path

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal failed
            if failed:
                return  # the response was replaced by a 503
            if message["type"] == "http.response.start":
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
                if change is not None:
                    headers = MutableHeaders(scope=message)
                    headers.add_vary_header("Cookie")
                    secure = scope.get("scheme") == "https"
                    headers.append("Set-Cookie", cookie_header(name, change, path=path, secure=secure))
            await send(message)

        return send_wrapper


class GuardMiddleware:
    """The guard as a pure ASGI middleware (no ``BaseHTTPMiddleware``: nothing is buffered).

    ``sessions`` is the stack's own session middleware, run inline; ``None``
    when the app brought Starlette's, which then runs just outside this one.
    """

    def __init__(
        self, app: Any, adapter: FastAPIAdapter, guard: GuardFunc,
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
        sessions = self.sessions
        if sessions is not None:
            if type(sessions) is ServerCookieSessions:
                send = await sessions.aopen(scope, send)
            else:
                send = sessions.open(scope, send)  # type: ignore[union-attr]
        token = _handling.set(Handling(scope))
        try:
            if kind == "websocket":
                await self._websocket(scope, receive, send)
                return
            # HTTP, inline (one coroutine fewer per request).
            request_class = self.adapter.request_class
            raw = raw_headers(scope)
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
        from .. import websocket

        request_class = self.adapter.request_class
        if self.stack is not None and route_path(scope) == self.ws_path:
            await websocket.fastapi_connection(self.stack, self.app, request_class(scope), scope, receive, send)
            return
        try:
            result = await run_guard(self.guard, lambda: request_class(scope))
        except Exception:
            log.exception("the dash-auth guard failed on the websocket %s", scope.get("path"))
            result = json_error(500, "internal_error", "the request could not be checked")
        if result is None:
            await self.app(scope, receive, send)
            return
        await websocket.refuse_handshake(scope, send, result)


def _reusing_parsed_body(middleware: Middleware) -> Middleware:
    """Dash's own middleware, handed the callback body the guard has already parsed,
    and refusing a request whose path changed after the guard judged it (see
    :func:`dash_auth_core._private.dash.dash_middleware_reusing_body`). Any
    other middleware is returned unchanged (and if Dash or Starlette change
    these names, Dash simply parses again).
    """
    reusing = dash_middleware_reusing_body(_PARSED_BODY, _JUDGED_PATH, _UNPARSED, _refuse_unjudged)
    if reusing is None or middleware.cls is not reusing.__base__:
        return middleware
    return Middleware(reusing, *middleware.args, **middleware.kwargs)


async def _refuse_unjudged(send: Any) -> None:
    await send_response(send, json_error(403, "forbidden", "this request was not checked"))


class FastAPIAdapter(BackendAdapter):
    name = "fastapi"

    def native_response(self, response: Response) -> Any:
        return to_starlette(response)

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._secret: str | bytes | None = None
        self._guard: GuardFunc | None = None
        self.request_class: type[FastAPIRequest] = FastAPIRequest
        self._installed = False
        self._server_sessions: Any = None

    # -- the middleware stack ------------------------------------------------

    def _user_session(self) -> Middleware | None:
        for middleware in self.server.user_middleware:
            cls = middleware.cls
            if isinstance(cls, type) and issubclass(cls, SessionMiddleware):
                return middleware
        return None

    def _check_not_started(self) -> None:
        if getattr(self.server, "middleware_stack", None) is not None:
            raise ConfigurationError(
                "the FastAPI app is already serving: create the auth stack before the server starts"
            )

    def install_guard(self, guard: GuardFunc) -> None:
        from .. import websocket

        self._check_not_started()
        self._guard = guard
        if self._installed:
            return
        self._installed = True
        stack = getattr(guard, "stack", None)
        if stack is not None:
            websocket.install(stack)
        server = self.server
        build = server.build_middleware_stack

        def build_with_guard() -> Any:
            saved = server.user_middleware
            user_session = self._user_session()
            # A host pin answers before the guard, as Flask's TRUSTED_HOSTS does: a
            # forged Host gets a 400, never a login challenge built from it.
            hosts = [m for m in saved if isinstance(m.cls, type) and issubclass(m.cls, TrustedHostMiddleware)]
            rest = [_reusing_parsed_body(m) for m in saved if m is not user_session and m not in hosts]
            sessions: SessionCookieMiddleware | ServerCookieSessions | None
            if self._server_sessions is not None:
                if user_session is not None:
                    raise ConfigurationError(
                        "session_store keeps sessions server-side: remove the app's own SessionMiddleware"
                    )
                outer = hosts
                sessions = ServerCookieSessions(self._server_sessions)
                cookie = sessions.session_cookie
            elif user_session is not None:
                # The app's own, just outside the guard so that the guard sees the session.
                outer = [*hosts, user_session]
                sessions = None
                cookie = user_session.kwargs.get("session_cookie", "session")
            else:
                if not self._secret:
                    raise ConfigurationError("dash-auth needs a secret_key to sign FastAPI sessions")
                secret = self._secret.decode() if isinstance(self._secret, bytes) else self._secret
                outer = hosts
                sessions = SessionCookieMiddleware(None, secret_key=secret, same_site="lax")
                sessions.remember_lifetime = remember_lifetime_of(self)
                cookie = sessions.session_cookie
            self.request_class = type(
                "FastAPIRequest", (FastAPIRequest,),
                {"__slots__": (), **session_cookie_attributes(str(cookie)), "router": server.router},
            )
            guard_middleware = Middleware(GuardMiddleware, adapter=self, guard=guard, sessions=sessions)
            server.user_middleware = [*outer, guard_middleware, *rest]
            try:
                return build()
            finally:
                server.user_middleware = saved

        server.build_middleware_stack = build_with_guard

    def add_route(self, rule: str, endpoint: str, view: ViewFunc, methods: list[str]) -> None:
        self._check_not_started()
        adapter = self

        async def starlette_view(request: Any) -> StarletteResponse:
            scope = request.scope
            body = None
            if request.method in ("POST", "PUT", "PATCH") and is_form_mimetype(request.headers.get("content-type")):
                body = await request.body()
            wrapped = adapter.request_class(scope, body)
            # Views may block (a password check on a login form): never on the loop.
            return to_starlette(await in_thread(view, wrapped, **request.path_params))

        self.server.router.add_route(
            starlette_path(rule), starlette_view, methods=methods, name=endpoint, include_in_schema=False
        )

    def current_request(self) -> Request | None:
        from .. import websocket

        handling = _handling.get()
        if handling is not None:
            return self.request_class(handling.scope)
        return websocket.current_request()

    def has_secret(self) -> bool:
        return bool(self._secret) or self._user_session() is not None

    def server_secret(self) -> str | bytes | None:
        user = self._user_session()
        secret = user.kwargs.get("secret_key") if user is not None else None
        return secret if isinstance(secret, (str, bytes)) and secret else self._secret

    def ensure_sessions(self, secret_key: str | bytes | None) -> bool:
        had = self.has_secret()
        if secret_key:
            self._secret = secret_key
        return had

    def use_session_store(self, sessions: Any) -> None:
        from ..sessions.store import StoreUnavailable

        self._check_not_started()
        self._server_sessions = sessions

        async def store_unavailable(request: Any, exc: Exception) -> StarletteResponse:
            refusal = json_error(503, "unavailable", str(exc))
            refusal.headers.update(getattr(exc, "headers", {}))
            return to_starlette(refusal)

        self.server.add_exception_handler(StoreUnavailable, store_unavailable)


register_adapter("fastapi", FastAPIAdapter)
