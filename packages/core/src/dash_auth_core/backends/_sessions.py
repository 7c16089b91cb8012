"""Signed-cookie sessions that cost nothing until something reads them, set up once for Flask and Quart.

Every adapter keeps its framework's own cookie format; what they share is
here: a session class that decodes its cookie on first use (so a request
authenticated by a header, or a static file, skips the signature check and
the cookie write), and a cache for the serializer that Flask and Quart
otherwise rebuild, key derivation included, on every request. Flask and
Quart, whose session interfaces are twins, share the rest too: the cookie
interface's rules (:func:`cookie_interface_base`), the server-side one's
(:class:`StoreInterfaceBase`), and the adapter's session set-up
(:class:`FrameworkSessions`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from flask.sessions import SecureCookieSession
from itsdangerous import BadSignature
from werkzeug.datastructures import CallbackDict

from ..responses import Response, json_error
from ..sessions.lifecycle import REMEMBER_KEY
from ..sessions.server import HANDLE
from ..sessions.store import StoreUnavailable

Loader = Callable[[], "dict[str, Any] | None"]

_READ_AND_WRITE = (
    "__getitem__", "__setitem__", "__delitem__", "__contains__", "__iter__", "__len__", "__eq__", "__repr__",
    "__ior__", "get", "setdefault", "pop", "popitem", "update", "clear", "keys", "values", "items", "copy",
)


def lazy_session_class(base: type) -> type:
    """A subclass of the dict-based session class ``base`` that loads on first use.

    Instances take a ``loader`` returning the decoded cookie (``None`` if
    absent or invalid); ``loaded`` tells whether anything looked.
    """

    extra: dict[str, Any] = {}
    callback_dict = issubclass(base, CallbackDict)
    if callback_dict:
        # werkzeug's CallbackDict stores nothing but its ``on_update`` function,
        # which takes the session as argument: share one instead of a closure per
        # request, and skip the base ``__init__``.
        extra["on_update"] = staticmethod(base().on_update)
    if callback_dict or base.__init__ is dict.__init__:  # type: ignore[misc]  # base is a class, not an instance

        def __init__(self: Any, loader: Loader) -> None:
            self._loader = loader  # an empty dict needs no ``__init__``
    else:

        def __init__(self: Any, loader: Loader) -> None:
            base.__init__(self)  # type: ignore[misc]  # base is a class, not an instance
            self._loader = loader

    def _load(self: Any) -> None:
        loader = self._loader
        if loader is not None:
            self._loader = None
            data = loader()
            if data:
                dict.update(self, data)  # what the cookie held is not a modification
                self._on_loaded()

    namespace: dict[str, Any] = {
        "__init__": __init__,
        "__doc__": f"{base.__name__}, decoded from its cookie on first use.",
        "__module__": __name__,
        "_load": _load,
        "_on_loaded": lambda self: None,
        "loaded": property(lambda self: self._loader is None),
    }
    namespace.update(extra)

    def forward(name: str) -> Callable[..., Any]:
        method = getattr(base, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            self._load()
            return method(self, *args, **kwargs)

        wrapper.__name__ = name
        return wrapper

    for name in _READ_AND_WRITE:
        if hasattr(base, name):
            namespace[name] = forward(name)
    return type(f"Lazy{base.__name__}", (base,), namespace)


class SerializerCache:
    """Mixin for Flask's and Quart's cookie session interfaces: build the serializer once per key."""

    _serializers: dict[Any, Any]

    def lazy_session(self, app: Any, request: Any, session_class: type) -> Any:
        """``open_session``'s answer: a ``session_class`` that decodes the cookie on first use."""
        if not app.config.get("SECRET_KEY"):
            return None  # as Flask's and Quart's interfaces: no key, no session
        return session_class(functools.partial(self._load_cookie, app, request))

    def _load_cookie(self, app: Any, request: Any) -> dict[str, Any] | None:
        cfg = app.config
        fallbacks = cfg.get("SECRET_KEY_FALLBACKS")
        key = (cfg.get("SECRET_KEY"), tuple(fallbacks) if fallbacks else (), cfg.get("SESSION_COOKIE_NAME"),
               cfg.get("PERMANENT_SESSION_LIFETIME"))
        state = self.__dict__.get("_state")
        if state is None or state[0] != key:
            # Built again only when the app's session settings change. A remembered login's
            # cookie is signed at its login and must still be read at the end of its lifetime
            # (``remember_lifetime`` as it is when the first cookie is read).
            remember = getattr(self, "remember_lifetime", lambda: None)()
            serializer = self.get_signing_serializer(app)
            max_age = max(int(app.permanent_session_lifetime.total_seconds()), int(remember or 0))
            state = self._state = (key, serializer, self.get_cookie_name(app), max_age)  # type: ignore[attr-defined]
        _, serializer, name, max_age = state
        if serializer is None:
            return None
        return decoded_cookie(request.cookies.get(name), functools.partial(serializer.loads, max_age=max_age),
                              (BadSignature,))

    def get_signing_serializer(self, app: Any) -> Any:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cache = self.__dict__.setdefault("_serializers", {})
        serializer = cache.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)  # type: ignore[misc]
            self._serializers = {key: serializer}
        return serializer


def decoded_cookie(value: str | None, decode: Callable[[str], Any],
                   errors: tuple[type[BaseException], ...]) -> dict[str, Any] | None:
    """The session dict in cookie ``value``; ``None`` if absent, or if decoding raises one of ``errors``."""
    if not value:
        return None
    try:
        data = decode(value)
    except errors:
        return None
    return data if isinstance(data, dict) else None


if TYPE_CHECKING:

    class LazySession(SecureCookieSession):
        """What :func:`lazy_session_class` builds from ``SecureCookieSession``, as the type checker sees it."""

        _loader: Loader | None

        def __init__(self, loader: Loader | None) -> None: ...

        @property
        def loaded(self) -> bool: ...

else:
    #: The session of Flask and Quart, decoded from its cookie on first use.
    LazySession = lazy_session_class(SecureCookieSession)


def remembered_until(session: Any, lifetime: float | None) -> Any:
    """When a remembered login's cookie expires (its login time plus ``lifetime``), else ``None``."""
    if session.get(REMEMBER_KEY) is not True:
        return None
    user = session.get("user")
    auth_time = user.get("auth_time") if isinstance(user, dict) else None
    if not isinstance(auth_time, (int, float)) or not lifetime:
        return None
    return datetime.fromtimestamp(auth_time + lifetime, tz=timezone.utc)


def remember_lifetime_of(adapter: Any) -> Any:
    """A function giving the app's current ``remember_lifetime`` (for the cookie's expiry)."""
    return lambda: getattr(getattr(adapter, "stack", None), "remember_lifetime", None)


def cookie_interface_base(interface: Any) -> type:
    """Flask's or Quart's ``SecureCookieSessionInterface`` with what both adapters change in it.

    Sessions decode lazily (:class:`SerializerCache`); one that nothing read
    is "null", so the framework skips saving it; a remembered login's cookie
    outlives the browser (``remember_lifetime``, set by the adapter).
    """

    def get_expiration_time(self: Any, app: Any, session: Any) -> Any:
        # A browser-session cookie, except for a remembered login (see ``remembered_until``).
        return remembered_until(session, self.remember_lifetime()) or interface.get_expiration_time(self, app, session)

    def is_null_session(self: Any, obj: object) -> bool:
        # The framework saves only sessions that are not "null": one of ours that
        # nothing read has nothing to save, so the save step is skipped altogether.
        if type(obj) is LazySession:
            return obj._loader is not None  # not ``loaded``: a property call less
        return bool(interface.is_null_session(self, obj))

    namespace = {
        "remember_lifetime": staticmethod(lambda: None),
        "get_expiration_time": get_expiration_time,
        "is_null_session": is_null_session,
    }
    return type(f"DashAuth{interface.__name__}", (SerializerCache, interface), namespace)


class StoreInterfaceBase:
    """What Flask's and Quart's interfaces for sessions in a server-side store share (the cookie
    carries an id; see ``_server_sessions``)."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions

    def is_null_session(self, obj: object) -> bool:
        handle = getattr(obj, HANDLE, None)
        if handle is None:  # not one of ours (the framework's null session)
            return not getattr(obj, "loaded", False)
        # A record read (``raw``) is saved too, if only for ``Vary: Cookie``: a remembered login loads nothing.
        return handle.raw is None and not handle.rotate and not handle.renew and obj._loader is not None  # type: ignore[attr-defined]


def store_refusal(exc: Any) -> Response:
    """The JSON 503 (or the like) for a store that failed while a view ran."""
    response = json_error(exc.status, exc.error, exc.message)
    response.headers.update(exc.headers)
    return response


class FrameworkSessions:
    """The Flask and Quart adapters' session set-up: the server's own secret and config,
    our cookie interface in place of the framework's, or a server-side store."""

    server: Any
    #: The framework's own cookie interface, which ours replaces.
    default_interface: type
    #: Ours (see :func:`cookie_interface_base`), and the one over a server-side store.
    cookie_interface: type
    store_interface: type

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
        if type(self.server.session_interface) is self.default_interface:
            interface = self.server.session_interface = self.cookie_interface()
            interface.remember_lifetime = remember_lifetime_of(self)
        self.sessions_changed()
        return had

    def sessions_changed(self) -> None:
        """Called once the sessions are set up (Quart's request class reads the cookie's name)."""

    def use_session_store(self, sessions: Any) -> None:
        self.server.session_interface = self.store_interface(sessions)
        self.server.register_error_handler(StoreUnavailable, self.store_unavailable)

    def store_unavailable(self, exc: Exception) -> Any:
        """The framework's error handler for :class:`StoreUnavailable` (see :func:`store_refusal`)."""
        raise NotImplementedError
