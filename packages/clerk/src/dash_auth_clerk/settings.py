"""The app-wide options of :class:`~dash_auth_clerk.ClerkAuth`, and where its routes live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dash_auth_core import ConfigurationError

from .claims import UserGroups

SIGN_IN_MODES = ("hosted", "embedded")


@dataclass
class Routes:
    """Where the plugin's routes live (relative to the app's URL prefix)."""

    login: str = "/clerk/login"
    callback: str = "/clerk/callback"
    state: str = "/clerk/state"
    sign_in: str = "/clerk/sign-in"
    listener: str = "/clerk/listener.js"
    signed_out: str = "/clerk/signed-out"

    def all(self) -> tuple[str, ...]:
        return (self.login, self.callback, self.state, self.sign_in, self.listener, self.signed_out)


@dataclass
class ClerkSettings:
    """App-wide options of :class:`~dash_auth_clerk.ClerkAuth` (see its docstring)."""

    sign_in: str = "hosted"
    user_groups: UserGroups | None = None
    organization_groups: bool = False
    metadata_groups_key: str | None = None
    login_user_callback: Callable[..., Any] | None = None
    before_logout: Callable[..., Any] | None = None
    logout_page: Any = None
    log_signins: bool = True
    session_check_interval: float | None = 60.0
    bearer_tokens: bool = True
    routes: Routes = field(default_factory=Routes)

    def check(self) -> None:
        mode = self.sign_in
        if not isinstance(mode, str) or not (mode in SIGN_IN_MODES or (mode.startswith("/") and "<" not in mode)):
            raise ConfigurationError("sign_in must be 'hosted', 'embedded' or the path of your own sign-in page")
        interval = self.session_check_interval
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0):
            raise ConfigurationError("session_check_interval must be a positive number of seconds, or None")
        for name in ("login_user_callback", "before_logout"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ConfigurationError(f"{name} must be callable")
