"""The Flask adapter: ``before_request`` guard, Flask sessions, Flask routes."""

from __future__ import annotations

import contextlib
import functools
import operator
from collections.abc import Mapping, MutableMapping
from typing import Any

import flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionInterface
from werkzeug import exceptions as wz

from .._private.dash import index_endpoints as dash_index_endpoints
from .._private.flask import SESSION_ATTRIBUTE, cv_request
from ..context import key_setter
from ..errors import BadRequest
from ..responses import Response
from ..sessions.lifecycle import stamp
from ..sessions.server import HANDLE
from . import (
    BackendAdapter,
    GuardFunc,
    Request,
    ViewFunc,
    cookie_probe,
    dash_setup_index,
    declared_length,
    register_adapter,
    session_cookie_attributes,
    werkzeug_response,
)
from . import _server_sessions as server_side
from ._sessions import (
    FrameworkSessions,
    LazySession,
    StoreInterfaceBase,
    cookie_interface_base,
    store_refusal,
)
from ._wrapped import WrappedRequest


class _Headers(Mapping[str, str]):
    """Header look-ups straight from the WSGI environ (werkzeug's view is slower)."""

    __slots__ = ("_environ", "_full")

    def __init__(self, environ: dict[str, Any], full: Any) -> None:
        self._environ = environ
        self._full = full

    def get(self, key: str, default: Any = None) -> Any:
        return self._environ.get(_environ_name(key), default)

    def __getitem__(self, key: str) -> str:
        value: str | None = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Any:
        return (key for key, _ in self._full.items())

    def __len__(self) -> int:
        return len(self._full)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None


def _environ_name(header: str) -> str:
    """The WSGI environ key of ``header`` (``Authorization`` -> ``HTTP_AUTHORIZATION``)."""
    name = _ENVIRON_NAMES.get(header)
    if name is not None:
        return name
    name = header.upper().replace("-", "_")
    if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        name = "HTTP_" + name
    if len(_ENVIRON_NAMES) < 256:
        _ENVIRON_NAMES[header] = name
    return name


#: Header name -> WSGI environ key, filled as headers are asked for.
_ENVIRON_NAMES: dict[str, str] = {}


class FlaskRequest(WrappedRequest):
    """A :class:`Request` over Flask's request proxy."""

    __slots__ = ("context_key", "_req", "state", "auth", "method", "path")
    context_key: Any  # a slot (the request context), not the base's property

    #: The session cookie's name, set by the adapter (``SESSION_COOKIE_NAME``).
    session_cookie_name = "session"
    #: Whether a raw ``Cookie`` header carries it (see ``cookie_probe``; set with the name).
    session_cookie_in = staticmethod(cookie_probe("session"))

    def __init__(self) -> None:
        # The request context itself, not werkzeug's proxy (a look-up per access);
        # it is also the tag of ``current_user`` (see ``current_context_key``).
        self.context_key = ctx = cv_request.get()
        self._req = req = ctx.request
        self.method: str = req.method
        self.path: str = req.path
        self.state = {}
        self.auth = None

    @property
    def headers(self) -> Mapping[str, str]:
        return _Headers(self._req.environ, self._req.headers)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self._req.environ.get(_ENVIRON_NAMES.get(name) or _environ_name(name), default)  # type: ignore[no-any-return]  # WSGI environ values are Any

    @property
    def form(self) -> Mapping[str, str]:
        try:
            return self._req.form  # type: ignore[no-any-return]  # werkzeug's MultiDict
        except wz.HTTPException as exc:
            raise BadRequest("unreadable form body", exc.code or 400) from exc

    @property
    def session(self) -> MutableMapping[str, Any]:
        # The request context's own session object (what ``flask.session`` proxies to; on Flask
        # 3.1 and later the context marks it accessed, which Flask's signed sessions answer
        # with ``Vary: Cookie``). With a server-side store, see ``_STORED_SESSION``.
        session: MutableMapping[str, Any] = self.context_key.session
        return session

    #: The request context being handled in this context, if any (a C call).
    current_context_key = staticmethod(functools.partial(cv_request.get, None))
    #: ``set_current_user(identity, self)``, in fewer steps: the key is the request context.
    remember_user = key_setter(current_context_key.__func__)  # type: ignore[assignment]  # a function: binds as a method

    @property
    def has_session_cookie(self) -> bool:
        # A cheap look at the raw header; the cookie itself is parsed only if used.
        return self.session_cookie_in(self._req.environ.get("HTTP_COOKIE"))

    #: Endpoints of Dash's index and catch-all views (set by the adapter; ``None``: unknown).
    index_endpoints: frozenset[str] | None = None

    def served_by_dash_index(self) -> bool | None:
        endpoints = self.index_endpoints
        if endpoints is None:
            return None
        rule = self._req.url_rule  # None: nothing matched (Flask answers 404 or 405)
        return rule is not None and rule.endpoint in endpoints

    def json(self, max_bytes: int | None) -> Any:
        req = self._req
        try:
            if max_bytes is not None:
                environ = req.environ
                length = environ.get("CONTENT_LENGTH")
                # The usual body declares its size in ASCII digits (declared_length, inline).
                if length and length.isdigit() and length.isascii() and "HTTP_TRANSFER_ENCODING" not in environ:
                    if int(length) > max_bytes:
                        raise BadRequest(f"request body is larger than {max_bytes} bytes", 413)
                elif (length := declared_length(length, environ.get("HTTP_TRANSFER_ENCODING"))) is not None:
                    if length > max_bytes:
                        raise BadRequest(f"request body is larger than {max_bytes} bytes", 413)
                else:
                    # werkzeug silently truncates a chunked body at the limit: read one
                    # byte more than allowed to tell "exactly at" from "over".
                    with contextlib.suppress(AttributeError):  # Flask >= 3.1: per-request limit
                        req.max_content_length = max_bytes + 1
                    if len(req.get_data(cache=True)) > max_bytes:
                        raise BadRequest(f"request body is larger than {max_bytes} bytes", 413)
            # Flask caches the body and the parsed JSON, so Dash's get_json() reuses them.
            return req.get_json()
        except wz.RequestEntityTooLarge as exc:
            raise BadRequest("request body is too large", 413) from exc
        except wz.UnsupportedMediaType as exc:
            raise BadRequest("callback requests must be application/json", 415) from exc
        except wz.HTTPException as exc:
            raise BadRequest("request body is not valid JSON", 400) from exc
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise BadRequest("request body is not valid JSON", 400) from exc


class _SessionInterface(cookie_interface_base(SecureCookieSessionInterface)):  # type: ignore[misc]
    """Flask's signed-cookie sessions, loaded lazily, ``Secure`` whenever the request is HTTPS."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        if super().get_cookie_secure(app):
            return True
        return flask.has_request_context() and flask.request.is_secure

    def open_session(self, app: flask.Flask, request: flask.Request) -> SecureCookieSession | None:
        # SerializerCache.lazy_session, inline (Flask opens a session for every request).
        if not app.config.get("SECRET_KEY"):
            return None  # as Flask's interface: no key, no session
        return LazySession(functools.partial(self._load_cookie, app, request))

    def save_session(self, app: flask.Flask, session: Any, response: flask.Response) -> None:
        if session.modified:
            stamp(session)
        super().save_session(app, session, response)


#: ``FlaskRequest.session`` with a server-side store: the context's session object read in C. That
#: session is ours, which says ``Vary: Cookie`` itself; it needs no marking as accessed.
_STORED_SESSION = property(operator.attrgetter("context_key." + SESSION_ATTRIBUTE))


class _ServerSessionInterface(StoreInterfaceBase, SessionInterface):
    """Sessions in a server-side store: the cookie carries an id (see ``_server_sessions``)."""

    def open_session(self, app: flask.Flask, request: flask.Request) -> Any:
        return self.sessions.open_header(LazySession, request.environ.get("HTTP_COOKIE"), self.get_cookie_name(app))

    def save_session(self, app: flask.Flask, session: Any, response: flask.Response) -> None:
        handle = getattr(session, HANDLE, None)
        if handle is not None and session._loader is not None and not handle.renew:  # self.sessions.unused(session), inline
            server_side.vary_on_cookie(response, cv_request.get().request.method)  # nothing to write
            return
        try:
            change = self.sessions.finish(session)
        except (server_side.StoreUnavailable, server_side.RecordTooLarge) as exc:
            server_side.not_saved(response, exc)
            return
        server_side.apply(response, self.get_cookie_name(app), change,
                          lambda: server_side.cookie_settings(self, app, flask.request.is_secure), flask.request.method)


def to_flask(response: Response) -> flask.Response:
    return werkzeug_response(flask.Response, response)  # type: ignore[no-any-return]


class FlaskAdapter(FrameworkSessions, BackendAdapter):
    name = "flask"
    default_interface = SecureCookieSessionInterface
    cookie_interface = _SessionInterface
    store_interface = _ServerSessionInterface

    #: The guard's request class (see ``install_guard``).
    request_class: type[FlaskRequest] | None = None

    def use_session_store(self, sessions: Any) -> None:
        super().use_session_store(sessions)
        if self.request_class is not None:
            self.request_class.session = _STORED_SESSION  # type: ignore[assignment,method-assign]

    def store_unavailable(self, exc: Exception) -> flask.Response:
        return to_flask(store_refusal(exc))

    def native_response(self, response: Response) -> flask.Response:
        return to_flask(response)

    def install_guard(self, guard: GuardFunc) -> None:
        server = self.server
        cookie_name = server.config.get("SESSION_COOKIE_NAME") or "session"
        request_class: type[FlaskRequest] = type("FlaskRequest", (FlaskRequest,), {
            "__slots__": (), **session_cookie_attributes(cookie_name), "index_endpoints": dash_index_endpoints(self.app),
        })
        self.request_class = request_class
        if type(server.session_interface) is _ServerSessionInterface:  # (a store set up first)
            request_class.session = _STORED_SESSION  # type: ignore[assignment,method-assign]
        funcs = server.before_request_funcs.setdefault(None, [])
        # The guard takes the place of the last of Dash's own functions (see
        # ``dash_setup_index``) and calls it first: Flask calls one function per
        # request instead of two.
        last_dash = dash_setup_index(funcs)
        run_dash = None if last_dash is None else server.ensure_sync(funcs[last_dash])

        def dash_auth_guard() -> Any:
            if run_dash is not None:
                answer = run_dash()
                if answer is not None:
                    return answer
            result = guard(request_class())
            if result is None:
                return None  # Flask raises its routing error (a 404, a host not trusted) next
            if isinstance(flask.request.routing_exception, wz.SecurityError):
                # ``TRUSTED_HOSTS`` refused the Host header: no challenge for a forged host.
                raise flask.request.routing_exception
            return to_flask(result)

        if last_dash is None:
            funcs.insert(0, dash_auth_guard)
        else:
            dash_auth_guard.runs_dash_setup = funcs[last_dash]  # type: ignore[attr-defined]
            funcs[last_dash] = dash_auth_guard

    def add_route(self, rule: str, endpoint: str, view: ViewFunc, methods: list[str]) -> None:
        def flask_view(**kwargs: Any) -> flask.Response:
            return to_flask(view(FlaskRequest(), **kwargs))

        self.server.add_url_rule(rule, endpoint=endpoint, view_func=flask_view, methods=methods)

    def current_request(self) -> Request | None:
        return FlaskRequest() if flask.has_request_context() else None


register_adapter("flask", FlaskAdapter)
