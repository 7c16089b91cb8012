"""The FastAPI backend's adapter: the guard's middleware put first, sessions, routes, responses."""

from __future__ import annotations

import re
from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import Response as StarletteResponse

from ...errors import ConfigurationError
from ...responses import Response, json_error
from ...sessions.store import StoreUnavailable
from ...websocket import install as install_sockets
from .. import BackendAdapter, GuardFunc, Request, ViewFunc, register_adapter, session_cookie_attributes
from .._aio import in_thread, is_form_mimetype
from .._sessions import remember_lifetime_of
from .middleware import GuardMiddleware, ServerCookieSessions, SessionCookieMiddleware, _reusing_parsed_body
from .request import FastAPIRequest, _handling


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
        middleware: Middleware
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
        self._check_not_started()
        self._guard = guard
        if self._installed:
            return
        self._installed = True
        stack = getattr(guard, "stack", None)
        if stack is not None:
            install_sockets(stack)
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
                cookie = user_session.kwargs.get("session_cookie", "session")  # type: ignore[assignment, unused-ignore]  # Starlette types the options as object
            else:
                if not self._secret:
                    raise ConfigurationError("dash-auth needs a secret_key to sign FastAPI sessions")
                secret = self._secret.decode() if isinstance(self._secret, bytes) else self._secret
                outer = hosts
                sessions = SessionCookieMiddleware(None, secret_key=secret, same_site="lax")  # type: ignore[arg-type]  # run inline (open), no app
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
        handling = _handling.get()
        return None if handling is None else self.request_class(handling.scope)

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
        self._check_not_started()
        self._server_sessions = sessions

        async def store_unavailable(request: Any, exc: Exception) -> StarletteResponse:
            refusal = json_error(503, "unavailable", str(exc))
            refusal.headers.update(getattr(exc, "headers", {}))
            return to_starlette(refusal)

        self.server.add_exception_handler(StoreUnavailable, store_unavailable)


register_adapter("fastapi", FastAPIAdapter)
