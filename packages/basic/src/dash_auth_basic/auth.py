"""``BasicAuth``: the front door users of dash-auth know."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dash

from dash_auth_core import AuthStack, ConfigurationError, UserDataMethods

from .credentials import AuthFunc, UserTable
from .form import PROVIDER as FORM_PROVIDER
from .form import LoginFormPlugin
from .plugin import PROVIDER as BASIC_PROVIDER
from .plugin import BasicAuthPlugin
from .throttle import LoginThrottle

PLUGIN_NAME = "dash_auth_basic"
FORM_PLUGIN_NAME = "dash_auth_basic.form"


class BasicAuth(UserDataMethods):
    """Protect a Dash app with HTTP Basic authentication.

    ``BasicAuth(app, {"user": "password"})`` or
    ``BasicAuth(app, auth_func=check)``; passwords in the table may be
    werkzeug hashes (``generate_password_hash``). ``public_routes``,
    ``secret_key`` and the other options are those of
    :class:`dash_auth_core.AuthStack`. ``login_form=True`` sends browsers to
    an HTML form at ``login_route`` instead of the Basic prompt (it keeps
    logins in the session, so it needs a ``secret_key``).

    Failed credentials are throttled, through the header and the form alike:
    after 5 failures for one username from one address within 5 minutes,
    that pair is answered 429 (``Retry-After``) for a minute without checking
    the password. ``throttle=LoginThrottle(...)`` changes the limits.

    A verified header is trusted for ``identity_ttl`` seconds (default 300)
    without checking the password again; :meth:`forget` ends that early.

    ``user_groups`` (a dict or a callable ``username -> groups``) gives groups
    to the users signed in here; ``AuthStack.of(app, user_groups=...)`` gives
    groups to every provider's users.

    ``get_username()``, ``get_user_data()`` and ``set_user_data(data)`` are
    also methods here, as they were on PlotlyAuth.
    """

    def __init__(
        self,
        app: dash.Dash,
        username_password_list: Mapping[str, str] | Iterable[Iterable[str]] | None = None,
        auth_func: AuthFunc | None = None,
        public_routes: list[str] | None = None,
        user_groups: Mapping[str, Iterable[str]] | Callable[[str], Iterable[str] | None] | None = None,
        secret_key: str | bytes | None = None,
        realm: str = "Dash app",
        login_form: bool = False,
        login_route: str = "/login",
        throttle: LoginThrottle | None = None,
        identity_ttl: float | None = None,
        **options: Any,
    ) -> None:
        if username_password_list is not None and auth_func is not None:
            raise ValueError("give either username_password_list or auth_func, not both")
        users = UserTable(username_password_list) if username_password_list is not None else None
        self.app = app
        self.stack = AuthStack.of(app, public_routes=public_routes, secret_key=secret_key, **options)
        if user_groups is not None:
            # For the users this front door signs in, not for another provider's
            # user whose id happens to be one of these usernames.
            self.stack.add_user_groups(user_groups, providers=(BASIC_PROVIDER, FORM_PROVIDER))
        existing = self.stack.get_plugin(PLUGIN_NAME)
        if isinstance(existing, BasicAuthPlugin):
            # One Basic provider per app: a second BasicAuth adds its users to it.
            existing.add_source(users, auth_func)
            self.plugin = existing
        else:
            self.plugin = BasicAuthPlugin(users, auth_func, realm)
            self.stack.register(self.plugin, name=PLUGIN_NAME)
        if throttle is not None:
            self.plugin.throttle = throttle
        if identity_ttl is not None:
            if not isinstance(identity_ttl, (int, float)) or identity_ttl < 0:
                raise ConfigurationError("identity_ttl must be a number of seconds >= 0")
            self.plugin.identity_ttl = float(identity_ttl)
        if login_form and self.stack.get_plugin(FORM_PLUGIN_NAME) is None:
            self.stack.register(LoginFormPlugin(self.plugin, login_route), name=FORM_PLUGIN_NAME)

    def forget(self, username: str | None = None) -> None:
        """Check ``username``'s password again at their next request, and end their logins.

        A verified header is trusted for ``identity_ttl`` seconds (default 300)
        without asking ``auth_func`` again (a dict table is read live); call this
        when a password changes, so the old one stops working now. With a
        ``username``, that user's sessions end too (``revoke_user``: on every
        worker and instance with a ``session_store``, in this process without).
        Without one, every cached header of this process is checked again.
        Revoking with a store makes a Redis call: from async code, run it in a thread.
        """
        self.plugin.forget(username)

    def add_public_routes(self, routes: list[str]) -> None:
        self.stack.add_public_routes(routes)
