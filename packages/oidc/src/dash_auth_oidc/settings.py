"""The app-wide options of :class:`~dash_auth_oidc.OIDCAuth`, and where its routes live."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dash_auth_core import ConfigurationError

from .claims import DEFAULT_SESSION_CLAIMS, UserGroups
from .flow import path_segment


@dataclass
class Routes:
    """Where the plugin's routes live (relative to the app's URL prefix)."""

    login: str = "/oidc/<idp>/login"
    callback: str = "/oidc/<idp>/callback"
    logout: str = "/oidc/logout"
    choose: str = "/oidc/login"
    logged_out: str = "/oidc/logged-out"

    def check(self) -> None:
        for name in ("login", "callback"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.startswith("/") or value.count("<idp>") != 1 or value.count("<") != 1:
                raise ConfigurationError(f"{name}_route must be a path starting with '/' containing '<idp>' once")
        for name in ("logout", "choose", "logged_out"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.startswith("/") or "<" in value:
                raise ConfigurationError(f"the {name} route must be a plain path starting with '/'")
        if self.login == self.callback:
            raise ConfigurationError("login_route and callback_route must differ")

    def for_idp(self, template: str, idp: str) -> str:
        return template.replace("<idp>", path_segment(idp))

    def prefixes(self) -> set[str]:
        """First path segments the routes use (to detect clashes with Dash pages)."""
        return {"/" + r.strip("/").split("/")[0] for r in (self.login, self.callback, self.logout, self.choose)}


@dataclass
class OIDCSettings:
    """App-wide options of :class:`~dash_auth_oidc.OIDCAuth`."""

    idp_selection_route: str | None = None
    login_user_callback: Callable[..., Any] | None = None
    after_logged_in: Callable[..., Any] | None = None
    user_groups: UserGroups | None = None
    groups_claim: str | None = "groups"
    logout_page: Any = None
    before_logout: Callable[..., Any] | None = None
    force_https_callback: bool | str | None = None
    session_claims: Iterable[str] | None = DEFAULT_SESSION_CLAIMS
    refresh_leeway: float = 60.0
    store_access_token: bool = False
    log_signins: bool = True
    routes: Routes = field(default_factory=Routes)
