"""``ClerkAuth``: the front door users of the seed library know."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import dash

from dash_auth_core import AuthStack, ConfigurationError, Identity, UserDataMethods

from . import config as clerk_config
from .api import BackendAPI
from .claims import UserGroups
from .plugin import ClerkPlugin
from .settings import ClerkSettings
from .tokens import KeySet, Verifier

PLUGIN_NAME = "dash_auth_clerk"


class ClerkAuth(UserDataMethods):
    """Sign users in to a Dash app with Clerk.

    ``ClerkAuth(app, secret_key=...)`` reads Clerk's keys from the
    environment (``CLERK_SECRET_KEY``, ``CLERK_PUBLISHABLE_KEY``, and when
    set ``CLERK_DOMAIN``, ``CLERK_ALLOWED_PARTIES``, ``CLERK_JWT_KEY``,
    ``CLERK_API_URL``, ``CLERK_JS_URL``) unless they are passed as
    ``clerk_secret_key=``, ``publishable_key=``, ``domain=``,
    ``allowed_parties=``, ``jwt_key=``, ``api_url=``, ``clerk_js_url=``.
    ``secret_key`` is the app's session secret (as in the seed), not Clerk's.

    ``sign_in`` chooses where unauthenticated browsers go: ``"hosted"``
    (Clerk's Account Portal, the default), ``"embedded"`` (the built-in page
    at ``/clerk/sign-in`` with Clerk's sign-in form), or the path of a page of
    your own that mounts it (``"/login"``; made public for you).

    A login lasts ``session_lifetime`` (an ``AuthStack`` option, 12 hours by
    default); a sign-out in the same browser ends it at once, and a session
    revoked at Clerk within ``session_check_interval`` seconds (default 60;
    ``None`` turns the check off). Backend API calls wait ``api_timeout``
    seconds at most and are never retried.

    Scripts may send Clerk session tokens as ``Authorization: Bearer``
    (``bearer_tokens``; on by default, off by default when a
    ``login_user_callback`` is given, since it cannot run for them).

    Groups: ``user_groups`` (a dict keyed by e-mail or user id, or a callable
    given the e-mail), plus ``organization_groups=True`` (``"<org slug>:<role>"``
    of the session's active organization) and ``metadata_groups_key="groups"``
    (a list in the user's ``public_metadata``). Other options (``public_routes``,
    ``auth_protect_layouts``, ``page_container``, ``session_lifetime``, and
    the pages' ``theme``, ``language`` and ``templates_folder``, ...) are
    those of :class:`~dash_auth_core.AuthStack`: the embedded sign-in page
    (``clerk_sign_in.html``), the callback page (``clerk_callback.html``) and
    the error pages follow the app's theme and the user's language.

    ``get_username()``, ``get_user_data()`` and ``set_user_data(data)`` are
    PlotlyAuth's user-data helpers, as on the other front doors.
    """

    def __init__(
        self,
        app: dash.Dash,
        secret_key: str | bytes | None = None,
        public_routes: list[str] | None = None,
        log_signins: bool = True,
        user_groups: UserGroups | None = None,
        login_user_callback: Callable[..., Any] | None = None,
        before_logout: Callable[..., Any] | None = None,
        logout_page: Any = None,
        *,
        clerk_secret_key: str | None = None,
        publishable_key: str | None = None,
        domain: str | None = None,
        allowed_parties: str | Iterable[str] | None = None,
        jwt_key: str | None = None,
        api_url: str | None = None,
        clerk_js_url: str | None = None,
        sign_in_url: str | None = None,
        sign_in: str = "hosted",
        organization_groups: bool = False,
        metadata_groups_key: str | None = None,
        session_check_interval: float | None = 60.0,
        api_timeout: float = 5.0,
        clock_skew: float = 5.0,
        bearer_tokens: bool | None = None,
        **options: Any,
    ) -> None:
        if user_groups is not None and not (callable(user_groups) or isinstance(user_groups, dict)):
            raise ConfigurationError("user_groups must be a dict {email: [groups]} or a callable")
        if not isinstance(api_timeout, (int, float)) or not 0 < api_timeout <= 60:
            raise ConfigurationError("api_timeout must be a number of seconds between 0 and 60")
        if not isinstance(clock_skew, (int, float)) or not 0 <= clock_skew <= 60:
            raise ConfigurationError("clock_skew must be a number of seconds between 0 and 60")
        self.config = clerk_config.load(
            secret_key=clerk_secret_key, publishable_key=publishable_key, domain=domain,
            allowed_parties=allowed_parties, jwt_key=jwt_key, api_url=api_url,
            clerk_js_url=clerk_js_url, sign_in_url=sign_in_url,
        )
        settings = ClerkSettings(
            sign_in=sign_in,
            user_groups=user_groups,
            organization_groups=bool(organization_groups),
            metadata_groups_key=metadata_groups_key,
            login_user_callback=login_user_callback,
            before_logout=before_logout,
            logout_page=logout_page,
            log_signins=log_signins,
            session_check_interval=session_check_interval,
            # A login_user_callback may refuse users or shape their session; it cannot run for a
            # script's token, so tokens are accepted then only when the app says so.
            bearer_tokens=login_user_callback is None if bearer_tokens is None else bool(bearer_tokens),
        )
        settings.check()
        self.app = app
        self.stack = AuthStack.of(app, public_routes=public_routes, secret_key=secret_key, **options)
        if isinstance(self.stack.get_plugin(PLUGIN_NAME), ClerkPlugin):
            raise ConfigurationError("this app already has a ClerkAuth")
        self.api = BackendAPI(self.config.secret_key, self.config.api_url, timeout=float(api_timeout))
        verifier = Verifier(
            jwt_key=self.config.jwt_key,
            keys=None if self.config.jwt_key else KeySet(self.api),
            allowed_parties=self.config.allowed_parties,
            clock_skew=float(clock_skew),
        )
        self.plugin = ClerkPlugin(self.config, settings, self.api, verifier)
        if type(self).login_request is not ClerkAuth.login_request:
            # The seed library's way to choose the sign-in page: a subclass's login_request().
            self.plugin.login_request = self.login_request
        self.stack.register(self.plugin, name=PLUGIN_NAME)

    def login_request(self) -> Any:
        """The answer to a page request without a user (seed-library compatible).

        Prefer the ``sign_in=`` option. Code written for the seed library that
        subclasses ``ClerkAuth`` and overrides this method (returning, say,
        ``flask.redirect("/login")``) keeps working: it is called while the
        request is handled, after :meth:`_redirect_test` remembered the page.
        """
        return None

    def _redirect_test(self) -> None:
        """Remember the page the current request asked for, to continue there after the sign-in."""
        request = self.stack.adapter.current_request()
        if request is not None:
            self.plugin.remember_next(request)

    def add_public_routes(self, routes: list[str]) -> None:
        self.stack.add_public_routes(routes)

    def current_session_id(self) -> str | None:
        """The Clerk session id of the current request's login, if it is a Clerk browser login."""
        request = self.stack.adapter.current_request()
        if request is None or not request.has_session_cookie:
            return None
        state = request.session.get("_clerk")
        sid = state.get("sid") if isinstance(state, dict) else None
        return sid if isinstance(sid, str) else None

    def verify_token(self, token: str) -> dict[str, Any]:
        """The verified claims of a Clerk session token (raises :class:`~dash_auth_clerk.TokenRejected`)."""
        return self.plugin.verifier.verify(token)

    def identity_for(self, token: str) -> Identity:
        """The identity a session token stands for (verifies it and reads the user from Clerk)."""
        claims = self.verify_token(token)
        from .claims import user_fields

        fields = user_fields(self.api.user(claims["sub"]))
        return self.plugin.identity(fields, claims, auth_time=float(claims.get("iat") or 0) or self.plugin.clock())
