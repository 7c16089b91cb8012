"""The Quart backend's adapter: the guard in ``before_request`` and ``before_websocket``, and Dash's socket."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import quart
from quart.sessions import SecureCookieSessionInterface

from ..._private.dash import index_endpoints as dash_index_endpoints
from ..._private.quart import cv_request, cv_websocket, read_body
from ...errors import BadRequest
from ...responses import Response
from ...websocket import CLOSE_AUTH, SCOPE_KEY, Connection
from ...websocket import install as install_sockets
from .. import (
    BackendAdapter,
    GuardFunc,
    Request,
    ViewFunc,
    WouldBlock,
    dash_setup_index,
    declared_length,
    register_adapter,
    session_cookie_attributes,
    werkzeug_response,
)
from .._aio import (
    guard_in_thread,
    header_value,
    in_thread,
    is_form_mimetype,
    raw_headers,
    route_path,
    run_guard,
)
from .._sessions import (
    FrameworkSessions,
    store_refusal,
)
from .request import _UPDATE, _WEBSOCKET, QuartRequest, _ServerSessionInterface, _SessionInterface

log = logging.getLogger("dash_auth")

def to_quart(response: Response) -> quart.Response:
    return werkzeug_response(quart.Response, response)  # type: ignore[no-any-return]


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


class QuartAdapter(FrameworkSessions, BackendAdapter):
    name = "quart"
    default_interface = SecureCookieSessionInterface
    cookie_interface = _SessionInterface
    store_interface = _ServerSessionInterface

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
        request_class = self._request_class = self._make_request_class()
        stack = getattr(guard, "stack", None)
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
                return await quart_handshake(ws, request_class(ws, session))
            result = await run_guard(guard, lambda: request_class(ws, session))
            return None if result is None else to_quart(result)

        server = self.server
        _run_after_dash(server, server.before_request_funcs, dash_auth_guard)
        _run_after_dash(server, server.before_websocket_funcs, dash_auth_websocket_guard)
        if stack is not None:
            install_asgi(stack, server)

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

    def sessions_changed(self) -> None:
        self._request_class = self._make_request_class()

    async def store_unavailable(self, exc: Exception) -> quart.Response:
        return to_quart(store_refusal(exc))



async def quart_handshake(ws: Any, request: Request) -> Any:
    """``before_websocket`` for Dash's socket: ``None`` to go on, else it was closed."""
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


def install_asgi(stack: Any, server: Any) -> None:
    """Put the frame checks around a Quart app's ASGI callable (once)."""
    install_sockets(stack)
    inner = server.asgi_app
    if getattr(inner, "_dash_auth_websocket", False):
        return
    ws_path = stack.app.config.routes_pathname_prefix + _WEBSOCKET

    async def asgi_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "websocket" or route_path(scope) != ws_path:
            await inner(scope, receive, send)
            return
        conn = Connection(stack, send)
        scope[SCOPE_KEY] = conn
        await conn.run(inner, scope, receive)

    asgi_app._dash_auth_websocket = True  # type: ignore[attr-defined]
    server.asgi_app = asgi_app


register_adapter("quart", QuartAdapter)
