"""What the modules around the stack see of it: a narrow, typed view, not the class.

The guard, logout, the WebSocket layer, the hook specifications and the
built-in pages take an app's stack as a :class:`StackView`:
:class:`~dash_auth_core.AuthStack` satisfies it, and none of them imports the
class. So the stack sits on top of what it serves, and no import runs in a
circle (``tests/core/test_import_layers.py`` holds that).

Only for type checkers: nothing here exists at run time but the protocols.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from .sessions.lifecycle import SessionOptions

if TYPE_CHECKING:
    import dash

    from .backends import BackendAdapter, Request, ViewFunc
    from .identity import Identity
    from .resources import Resource
    from .responses import Response
    from .routes import PublicRoutes
    from .sessions.server import ServerSessions
    from .snapshot import Snapshot


class ChainView(Protocol):
    """The stack's hook chain as its callers use it (see :class:`~dash_auth_core.chain.Chain`)."""

    @property
    def hook(self) -> Any: ...

    def authenticate(self, request: Request) -> Identity | None: ...

    def authorize(self, identity: Identity | None, resource: Resource, request: Request) -> bool | None: ...


class GuardView(Protocol):
    """An app's request guard: called with each request, and what it knows of the app."""

    def __call__(self, request: Request) -> Response | None: ...

    def snapshot(self) -> Snapshot: ...


class StackView(SessionOptions, Protocol):
    """An app's stack as the guard, logout, sockets, hooks and pages use it."""

    app: dash.Dash
    adapter: BackendAdapter
    public_routes: PublicRoutes
    public_assets: tuple[str, ...]
    logout_route: str
    login_url: str | None
    max_body_size: int | None
    page_container: str | None
    has_authorizers: bool
    server_sessions: ServerSessions | None
    plugin_state: dict[str, Any]
    user_groups_ttl: float | None

    # The chain and its votes, in the guard's stages.
    @property
    def chain(self) -> ChainView: ...

    def refresh_groups(self, identity: Identity, request: Request | None = None) -> Identity: ...

    def authorize(self, identity: Identity | None, resource: Resource, request: Request) -> bool | None: ...

    def challenge(self, request: Request, resource: Resource, reason: str) -> Response | None: ...

    @property
    def guard(self) -> GuardView: ...

    def is_revoked(self, identity: Identity) -> bool: ...

    def logout(self, request: Request, *, everywhere: bool = False) -> Identity | None: ...

    # Plugins, their routes and settings.
    def register(self, plugin: Any, name: str | None = None) -> Any: ...

    def get_plugin(self, name: str) -> Any: ...

    def plugin_config(self, name: Any) -> dict[str, Any]: ...

    def unused_plugin_config(self) -> list[str]: ...

    def load_page_extensions(self, pages: Iterable[Any]) -> None: ...

    @property
    def routes_prefix(self) -> str: ...

    def plugin_route_public(self, server_path: str) -> bool | None: ...

    def add_route(
        self, path: str, view: ViewFunc, *, methods: Iterable[str] = ..., public: bool = ...,
        endpoint: str | None = ...,
    ) -> str: ...

    @property
    def requests_prefix(self) -> str: ...

    def url_for(self, path: str) -> str: ...

    @property
    def logout_snippets(self) -> tuple[str, ...]: ...
