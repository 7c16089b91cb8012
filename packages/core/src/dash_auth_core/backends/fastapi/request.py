"""A request of the FastAPI backend: an ASGI scope (HTTP or WebSocket) and its body, read ahead."""

from __future__ import annotations

import io
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import cookie_parser
from starlette.routing import Match
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from ..._private.dash import is_fastapi_index_route as _is_dash_index
from ...context import IDENTITY_ATTRIBUTE, key_setter
from ...errors import BadRequest, ConfigurationError
from ...responses import Response
from .. import Request, cookie_probe, declared_length
from .._aio import (
    _HEADER_KEYS,
    ScopeHeaders,
    asgi_headers,
    is_json_mimetype,
    parse_json_body,
    raw_headers,
    route_path,
)

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
    context_key: Any  # a slot (the request's ``Handling``), not the base's property

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
        return form  # type: ignore[return-value]  # parse_form gives a mapping whenever it gives no error

    @property
    def session(self) -> MutableMapping[str, Any]:
        try:
            return self._scope["session"]  # type: ignore[no-any-return]  # an ASGI scope's values are Any
        except KeyError:
            raise ConfigurationError("no session middleware ran for this request") from None

    @property
    def scheme(self) -> str:
        scheme: str = self._scope.get("scheme", "http")
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
        return await receive()  # type: ignore[no-any-return]  # the server's own ``receive``

    return replayed


async def send_response(send: Any, response: Response, head: bool = False) -> None:
    body = response.body.encode("utf-8") if isinstance(response.body, str) else bytes(response.body)
    headers = [(b"content-length", str(len(body)).encode("latin-1")), *asgi_headers(response)]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
