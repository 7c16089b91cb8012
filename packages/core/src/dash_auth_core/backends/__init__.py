"""Backend adapters: one small class per Dash server framework.

The guard, the hooks and every provider see a request only through
:class:`Request`, and answer only with :class:`~dash_auth_core.responses.Response`.
A :class:`BackendAdapter` turns the framework's request into a ``Request``,
runs the guard before Dash handles anything, and turns responses back.

Flask ships here; Quart and FastAPI adapters plug into the same interface.
A custom backend registers its own adapter with :func:`register_adapter`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..responses import Response

#: The guard's entry point: given a request, ``None`` to let it through or a response.
GuardFunc = Callable[["Request"], "Response | None"]
#: A plugin route's view: given a request (and URL variables), a response.
ViewFunc = Callable[..., "Response"]


class Request(abc.ABC):
    """The framework-neutral view of one HTTP request."""

    #: Per-request scratch space for the stack and plugins.
    state: dict[str, Any]
    #: The app's :class:`~dash_auth_core.stack.AuthStack` (set by the guard), for hooks
    #: that keep per-app settings.
    auth: Any = None

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

    @property
    @abc.abstractmethod
    def cookies(self) -> Mapping[str, str]: ...

    @property
    @abc.abstractmethod
    def args(self) -> Mapping[str, str]:
        """Query-string arguments."""

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
        """An object unique to this request while it is handled (tags ``current_user``)."""

    @staticmethod
    @abc.abstractmethod
    def current_context_key() -> Any:
        """The ``context_key`` of the request handled in this context, if any."""

    @property
    def has_session_cookie(self) -> bool:
        """Whether the client sent a session cookie (without decoding it)."""
        return bool(self.session)

    def clear_session(self) -> None:
        self.session.clear()


class BackendAdapter(abc.ABC):
    """How the stack plugs into one server framework."""

    name: str = "custom"

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = app.server

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


_adapters: dict[str, Callable[[Any], BackendAdapter]] = {}


def register_adapter(server_type: str, factory: Callable[[Any], BackendAdapter]) -> None:
    """Register the adapter for a backend name (``app.backend.server_type``)."""
    _adapters[server_type] = factory


def adapter_for(app: Any) -> BackendAdapter:
    """The adapter for ``app``'s backend, detected from the app itself."""
    server_type = getattr(getattr(app, "backend", None), "server_type", None) or "flask"
    if server_type == "flask" and "flask" not in _adapters:
        from . import flask as _flask  # noqa: F401  (registers itself)
    factory = _adapters.get(server_type)
    if factory is None:
        raise ConfigurationError(
            f"no dash-auth adapter for the {server_type!r} backend; "
            "register one with dash_auth_core.backends.register_adapter()"
        )
    return factory(app)
