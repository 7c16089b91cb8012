"""Backend adapters: one small class per Dash server framework.

The guard, the hooks and every provider see a request only through
:class:`Request`, and answer only with :class:`~dash_auth_core.responses.Response`.
A :class:`BackendAdapter` turns the framework's request into a ``Request``,
runs the guard before Dash handles anything, and turns responses back.

Flask, Quart and FastAPI adapters ship here and are picked automatically from
``app.backend.server_type``. A custom backend registers its own adapter with
:func:`register_adapter` (see ``docs/backends.md``).

On async backends (Quart, FastAPI) the guard first runs on the event loop,
where it is cheapest. Hooks that are about to block (hash a password, call
the network) call :meth:`Request.allow_blocking` first: on the event loop that
raises :class:`WouldBlock`, and the adapter runs the whole guard again in a
worker thread, where ``allow_blocking`` returns at once.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from .._private.dash import is_dash_function
from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..identity import Identity
    from ..responses import Response

#: The guard's entry point: given a request, ``None`` to let it through or a response.
GuardFunc = Callable[["Request"], "Response | None"]
#: A plugin route's view: given a request (and URL variables), a response.
ViewFunc = Callable[..., "Response"]


#: ``request.state`` key a plugin sets when the request's login has just ended (an expired
#: provider login): a WebSocket then closes with 4001 and the page reloads to the sign-in,
#: instead of going on as an anonymous one.
LOGIN_ENDED = "login_ended"


class WouldBlock(Exception):  # noqa: N818 - a signal, not an error
    """Raised by :meth:`Request.allow_blocking` while the guard runs on an event loop.

    The async adapters catch it and run the guard again in a worker thread.
    Hooks must let it propagate (and must not have changed anything before).
    """


class Request(abc.ABC):
    """The framework-neutral view of one HTTP request."""

    #: Per-request scratch space for the stack and plugins.
    state: dict[str, Any]
    #: The app's :class:`~dash_auth_core.stack.AuthStack` (set by the guard), for hooks
    #: that keep per-app settings.
    auth: Any = None
    #: ``True`` while the guard runs on an event loop thread (Quart, FastAPI).
    on_event_loop: bool = False
    #: ``True`` when several tasks share this request's ``context_key`` (a WebSocket's
    #: messages): ``current_user`` is then kept per context, not on the key.
    identity_per_context: bool = False

    @property
    @abc.abstractmethod
    def method(self) -> str: ...

    @property
    @abc.abstractmethod
    def path(self) -> str:
        """The path the server sees (including ``routes_pathname_prefix``)."""

    @property
    @abc.abstractmethod
    def headers(self) -> Mapping[str, str]: ...

    def header(self, name: str, default: str | None = None) -> str | None:
        """One header's value (``headers.get``; adapters may answer faster)."""
        return self.headers.get(name, default)

    @property
    @abc.abstractmethod
    def cookies(self) -> Mapping[str, str]: ...

    @property
    @abc.abstractmethod
    def args(self) -> Mapping[str, str]:
        """Query-string arguments."""

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        """Every query argument in order, repeated names included."""
        args: Any = self.args
        multi_items = getattr(args, "multi_items", None)  # Starlette's QueryParams
        if multi_items is not None:
            return list(multi_items())
        try:
            return list(args.items(multi=True))  # werkzeug's MultiDict (Flask, Quart)
        except TypeError:
            return list(args.items())

    @property
    @abc.abstractmethod
    def form(self) -> Mapping[str, str]:
        """Form fields of a urlencoded or multipart body (empty otherwise)."""

    @property
    @abc.abstractmethod
    def session(self) -> MutableMapping[str, Any]:
        """The session for this request (signed cookie by default)."""

    @property
    @abc.abstractmethod
    def scheme(self) -> str: ...

    @property
    @abc.abstractmethod
    def host(self) -> str: ...

    @property
    @abc.abstractmethod
    def remote_addr(self) -> str | None: ...

    @abc.abstractmethod
    def json(self, max_bytes: int | None) -> Any:
        """The parsed JSON body; raises :class:`~dash_auth_core.errors.BadRequest` (4xx) if unusable."""

    @property
    def is_secure(self) -> bool:
        return self.scheme == "https"

    @property
    @abc.abstractmethod
    def context_key(self) -> Any:
        """An object unique to this request while it is handled (holds ``current_user``).

        The guard stores the identity on it as an attribute, so it lives
        exactly as long as the request. A key that takes no attributes (a
        dict) works too, but is then held until the same thread's next request.
        """

    @staticmethod
    @abc.abstractmethod
    def current_context_key() -> Any:
        """The ``context_key`` of the request handled in this context, if any."""

    def remember_user(self, identity: Identity | None) -> None:
        """Make ``identity`` what ``current_user()`` gives while this request is handled (the guard calls it).

        Adapters may answer faster (see :func:`dash_auth_core.context.key_setter`).
        """
        from ..context import set_current_user

        set_current_user(identity, self)

    @property
    def has_session_cookie(self) -> bool:
        """Whether the client sent a session cookie (without decoding it)."""
        return bool(self.session)

    @property
    def is_websocket(self) -> bool:
        """Whether this is a WebSocket's handshake or message: its session is the handshake's,
        frozen, and nothing written to it reaches the browser's cookie."""
        return False

    def served_by_dash_index(self) -> bool | None:
        """Whether Dash's index view (a page) answers this GET, not another server route.

        A page's rule must not judge a server route whose path happens to fit
        the page's template (nor let layout mode serve it to anyone), and a
        path under the assets URL that Dash's catch-all answers is a page, not
        a file. Adapters that cannot tell answer ``None``: such GETs are judged
        as pages, and paths under the assets URL as files.
        """
        return None

    def clear_session(self) -> None:
        self.session.clear()

    def allow_blocking(self) -> None:
        """Call before blocking work (password hashing, a user look-up, the network).

        Returns at once on Flask and in worker threads. On an event loop it
        raises :class:`WouldBlock`: the adapter runs the guard again in a thread,
        so a slow hook never stalls the other requests of an async server.
        Call it before changing anything (the session, caches).
        """
        if self.on_event_loop:
            raise WouldBlock()


class BackendAdapter(abc.ABC):
    """How the stack plugs into one server framework."""

    name: str = "custom"
    #: The app's :class:`~dash_auth_core.stack.AuthStack` (set when it is created).
    stack: Any = None

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = app.server

    def native_response(self, response: Response) -> Any:
        """``response`` as this framework's own response object (for views outside the stack)."""
        raise NotImplementedError(f"the {self.name} adapter cannot build native responses")

    @abc.abstractmethod
    def install_guard(self, guard: GuardFunc) -> None:
        """Run ``guard`` before Dash sees any request."""

    @abc.abstractmethod
    def add_route(self, rule: str, endpoint: str, view: ViewFunc, methods: list[str]) -> None:
        """Serve ``view`` at ``rule`` (a full server path, Flask syntax)."""

    @abc.abstractmethod
    def current_request(self) -> Request | None:
        """The request being handled in this context, if any."""

    @abc.abstractmethod
    def ensure_sessions(self, secret_key: str | bytes | None) -> bool:
        """Make sessions work; returns ``True`` if the server already had a secret."""

    @abc.abstractmethod
    def has_secret(self) -> bool: ...

    def server_secret(self) -> str | bytes | None:
        """The secret the server signs its sessions with, when the app set one itself (for ``auth.sign``)."""
        return None

    def use_session_store(self, sessions: Any) -> None:
        """Keep sessions server-side through ``sessions`` (a :class:`~dash_auth_core.sessions.server.ServerSessions`):
        the cookie carries its id only. Adapters without server-side sessions refuse the option."""
        raise ConfigurationError(f"the {self.name} adapter does not support session_store")


def werkzeug_response(response_class: Any, response: Response) -> Any:
    """``response`` as a ``response_class`` (Flask's or Quart's, both on werkzeug's headers)."""
    native = response_class(response.body, status=response.status, content_type=response.content_type)
    for key, value in response.headers.items():
        native.headers[key] = value
    for key, value in response.extra_headers:
        native.headers.add(key, value)
    return native


def dash_setup_index(funcs: list[Any]) -> int | None:
    """Where the last of Dash's own functions sits in a ``before_request`` list (``None`` if absent).

    The guard goes right after Dash's set-up (which registers callbacks and
    pages on the first request) and before anything the user registered, so
    no user code sees an unchecked request. A guard that already wraps Dash's
    function (``runs_dash_setup``) counts as Dash's.
    """
    found = None
    for index, func in enumerate(funcs):
        if is_dash_function(func) or hasattr(func, "runs_dash_setup"):
            found = index
    return found


def declared_length(
    content_length: str | bytes | None, transfer_encoding: str | bytes | None = None
) -> int | None:
    """The body size a request announces, or ``None`` (absent, malformed, or a chunked body).

    Only ASCII digits count (``"²".isdigit()`` is true, but ``int("²")`` raises),
    and a ``Transfer-Encoding`` wins over a ``Content-Length``, as in HTTP/1.1.
    Raw header values (bytes, as in an ASGI scope) are read alike.
    """
    if not content_length or transfer_encoding:
        return None
    length = content_length.strip()
    return int(length) if length.isascii() and length.isdigit() else None


def cookie_header_has(raw: str | None, name: str) -> bool:
    """Whether a raw ``Cookie`` header carries a non-empty cookie ``name`` (nothing is decoded)."""
    if not raw:
        return False
    needle = name + "="
    # Browsers put cookies first or after "; ": C-level look-ups find them there.
    # (A one-character slice is "" past the end, and "" is "in" any string.)
    if raw.startswith(needle):
        if raw[len(needle):len(needle) + 1] not in ";":
            return True
    else:
        at = raw.find("; " + needle) + 2 + len(needle)
        if at > len(needle) + 1 and raw[at:at + 1] not in ";":
            return True
    at = raw.find(needle)
    while at != -1:
        end = at + len(needle)
        if end < len(raw) and raw[end] != ";":
            # It counts only at the start of a cookie: ``xsession=`` is another cookie.
            start = at
            while start and raw[start - 1] in " \t":
                start -= 1
            if start == 0 or raw[start - 1] == ";":
                return True
        at = raw.find(needle, at + 1)
    return False


def cookie_probe(name: str) -> Callable[[str | None], bool]:
    """``cookie_header_has(raw, name)`` as a function of ``raw`` alone, for one cookie name.

    Adapters ask it on nearly every request (``has_session_cookie``): the
    usual header, with the session cookie first, is answered in a few steps.
    """
    needle = name + "="
    start, end = len(needle), len(needle) + 1

    def has_cookie(raw: str | None) -> bool:
        if raw and raw.startswith(needle) and raw[start:end] not in ";":
            return True  # first, and not empty (a slice past the end is "", which is "in" any string)
        return cookie_header_has(raw, name)

    return has_cookie


def session_cookie_attributes(name: str) -> dict[str, Any]:
    """Class attributes of a request class whose framework names the session cookie ``name``."""
    return {"session_cookie_name": name, "session_cookie_in": staticmethod(cookie_probe(name))}


_adapters: dict[str, Callable[[Any], BackendAdapter]] = {}


#: The adapters that ship here, imported on first use (each registers itself).
_BUILTIN = {"flask": ".flask", "quart": ".quart", "fastapi": ".fastapi"}


def register_adapter(server_type: str, factory: Callable[[Any], BackendAdapter]) -> None:
    """Register the adapter for a backend name (``app.backend.server_type``).

    ``factory(app)`` returns the :class:`BackendAdapter` for one Dash app. A
    registration replaces an earlier one for the same name, built-in or not.
    """
    if not isinstance(server_type, str) or not server_type:
        raise ConfigurationError("register_adapter needs the backend's server_type (a non-empty string)")
    if not callable(factory):
        raise ConfigurationError("register_adapter needs a factory: a callable taking the Dash app")
    _adapters[server_type] = factory


def adapter_for(app: Any) -> BackendAdapter:
    """The adapter for ``app``'s backend, detected from the app itself."""
    server_type = getattr(getattr(app, "backend", None), "server_type", None) or "flask"
    if server_type in _BUILTIN and server_type not in _adapters:
        import importlib

        importlib.import_module(_BUILTIN[server_type], __name__)  # registers itself
    factory = _adapters.get(server_type)
    if factory is None:
        raise ConfigurationError(
            f"no dash-auth adapter for the {server_type!r} backend; "
            "register one with dash_auth_core.backends.register_adapter()"
        )
    return factory(app)
