"""Signed-cookie sessions that cost nothing until something reads them.

Every adapter keeps its framework's own cookie format; what they share is
here: a session class that decodes its cookie on first use (so a request
authenticated by a header, or a static file, skips the signature check and
the cookie write), and a cache for the serializer that Flask and Quart
otherwise rebuild, key derivation included, on every request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from itsdangerous import BadSignature
from werkzeug.datastructures import CallbackDict

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
    if callback_dict or base.__init__ is dict.__init__:

        def __init__(self: Any, loader: Loader) -> None:
            self._loader = loader  # an empty dict needs no ``__init__``
    else:

        def __init__(self: Any, loader: Loader) -> None:
            base.__init__(self)
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
