"""Routes that plugins add to the app, and what a plugin tells the built-in pages.

:meth:`PluginRoutes.add_route` serves a plugin's view (its login form, its
OIDC callback) and records whether it is public, so the guard classifies its
path as a plugin route; a plugin adds HTML to the signed-out page
(:meth:`~PluginRoutes.add_logout_snippet`) and names its login page
(:attr:`~PluginRoutes.login_url`). :class:`PluginRoutes` is one part of
:class:`~dash_auth_core.AuthStack`; its methods are the stack's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .routes import PublicRoutes

if TYPE_CHECKING:
    import dash

    from .backends import BackendAdapter, Request, ViewFunc
    from .responses import Response


class PluginRoutes:
    """The stack's part that serves plugin routes and keeps the pages' plugin additions."""

    app: dash.Dash
    adapter: BackendAdapter
    public_routes: PublicRoutes

    def __init__(self) -> None:
        self._plugin_routes: dict[str, bool] = {}
        self._plugin_public_rules = PublicRoutes()  # plugin routes with URL variables
        self._plugin_private_rules = PublicRoutes()
        self._logout_snippets: list[str] = []
        self._login_url: str | None = None
        super().__init__()

    @property
    def routes_prefix(self) -> str:
        return self.app.config.routes_pathname_prefix  # type: ignore[no-any-return]  # Dash's config is untyped

    @property
    def requests_prefix(self) -> str:
        return self.app.config.requests_pathname_prefix  # type: ignore[no-any-return]  # Dash's config is untyped

    def url_for(self, path: str) -> str:
        """The browser-visible URL of an app path (adds ``requests_pathname_prefix``)."""
        return self.requests_prefix.rstrip("/") + "/" + path.lstrip("/")

    def add_route(
        self, path: str, view: ViewFunc, *, methods: Iterable[str] = ("GET",), public: bool = True,
        endpoint: str | None = None,
    ) -> str:
        """Serve a plugin route at ``path`` (relative to the app prefix); returns the server path."""
        full = self.routes_prefix.rstrip("/") + "/" + path.lstrip("/")
        if full in self._plugin_routes:
            # The first view would answer, and the second plugin's would silently never run.
            raise ConfigurationError(f"two dash-auth views for {full}: give one of them another route")
        if "<" in full:  # a rule with URL variables (``/oidc/<idp>/login``)
            (self._plugin_public_rules if public else self._plugin_private_rules).add([full])
        else:
            self._plugin_routes[full] = public
        stack = self

        def plugin_view(request: Request, *args: Any, **kwargs: Any) -> Response:
            request.auth = stack  # as in every hook: the view reaches the app's stack through its request
            return view(request, *args, **kwargs)

        self.adapter.add_route(full, endpoint or f"dash_auth:{full}", plugin_view, list(methods))
        return full

    def has_route(self, path: str) -> bool:
        """Whether a plugin already serves ``path`` (relative to the app prefix)."""
        return self.routes_prefix.rstrip("/") + "/" + path.lstrip("/") in self._plugin_routes

    def plugin_route_public(self, server_path: str) -> bool | None:
        """``True``/``False`` for a plugin route's publicity, ``None`` if not a plugin route."""
        found = self._plugin_routes.get(server_path)
        if found is not None:
            return found
        if len(self._plugin_private_rules) and self._plugin_private_rules.test(server_path):
            return False
        if len(self._plugin_public_rules) and self._plugin_public_rules.test(server_path):
            return True
        return None

    def add_public_routes(self, routes: Iterable[str]) -> None:
        self.public_routes.add(routes)

    def add_logout_snippet(self, html: str) -> None:
        """HTML (e.g. a script) a plugin adds to the signed-out page."""
        self._logout_snippets.append(html)

    @property
    def logout_snippets(self) -> tuple[str, ...]:
        return tuple(self._logout_snippets)

    @property
    def login_url(self) -> str | None:
        """Where a provider's login page lives, if it has one (set by plugins)."""
        return self._login_url

    @login_url.setter
    def login_url(self, value: str | None) -> None:
        self._login_url = value
