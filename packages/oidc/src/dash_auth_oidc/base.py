"""What the OIDC plugin's hooks, views and token renewal share.

:class:`OIDCBase` holds the plugin's state (settings, providers, the token
store, pending logins, the clock, the app's stack) and answers the questions
every flow asks: which provider, which URL, which groups claim, how a login
ends. :class:`~dash_auth_oidc.plugin.OIDCPlugin` adds the hooks on top and
wires in :class:`~dash_auth_oidc.views.SignInViews` and
:class:`~dash_auth_oidc.renewal.TokenRenewal`, which both take this class
(never the plugin), so no module of the package imports the one above it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from dash_auth_core import (
    LOGIN_ENDED,
    REJECT,
    SESSION_KEY,
    AuthStack,
    ConfigurationError,
    Identity,
    Reject,
    Request,
    safe_next,
)
from dash_auth_core.user_code import arity

from .errors import UnknownProvider
from .flow import MAX_NEXT_LENGTH, PendingLogins, origin
from .provider import Provider
from .settings import OIDCSettings
from .store import TokenStore

log = logging.getLogger("dash_auth.oidc")


def allow_blocking(request: Request) -> None:
    """Tell an async backend that network calls follow (the core re-runs the guard in a thread)."""
    hook = getattr(request, "allow_blocking", None)
    if hook is not None:
        hook()


class OIDCBase:
    """The OIDC plugin's state, URLs and provider look-ups (its hooks are :class:`OIDCPlugin`'s)."""

    def __init__(
        self,
        settings: OIDCSettings,
        token_store: TokenStore,
        *,
        max_pending_logins: int = 5,
        login_timeout: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings.routes.check()
        self.settings = settings
        self.store = token_store
        self.providers: dict[str, Provider] = {}
        self._clock = clock
        self.pending = PendingLogins(max_pending_logins, login_timeout, clock=lambda: self.clock())
        self.stack: AuthStack | None = None
        #: Cookie header -> (identity, valid until): see ``OIDCPlugin.authenticate``.
        self._identities: OrderedDict[str, tuple[Identity, float]] = OrderedDict()
        self._identities_lock = threading.Lock()
        #: Called as ``after_logged_in(user, idp, token)`` before the session is written
        #: (the front door points it at its overridable method).
        self.after_logged_in: Callable[[dict[str, Any], str, dict[str, Any]], Any] = self.default_after_logged_in

    # -- time (tests move it) ----------------------------------------------

    def clock(self) -> float:
        return self._clock()

    def set_clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        for provider in self.providers.values():
            provider.clock = clock

    # -- providers ----------------------------------------------------------

    def add_provider(self, provider: Provider) -> None:
        provider.clock = self._clock
        self.providers[provider.name] = provider
        self.update_login_url()

    def provider(self, idp: Any) -> Provider:
        provider = self.providers.get(idp) if isinstance(idp, str) else None
        if provider is None:
            shown = idp if isinstance(idp, str) and len(idp) <= 80 else "(unreadable)"
            raise UnknownProvider(
                "There is no sign-in provider called %(name)s here.",
                reason=f"unknown provider {shown!r}",
                retry=False,
                params={"name": repr(shown)},
            )
        return provider

    def provider_of(self, state: Any) -> Provider | None:
        """The registered provider a login's state names (``None``: none, or one no longer registered)."""
        idp = state.get("p") if isinstance(state, dict) else None
        return self.providers.get(idp) if isinstance(idp, str) else None

    def default_after_logged_in(self, user: dict[str, Any], idp: str, token: dict[str, Any]) -> Any:
        """The per-provider ``after_logged_in`` hook, else the app-wide one."""
        provider = self.providers.get(idp)
        hook = (provider.config.after_logged_in if provider else None) or self.settings.after_logged_in
        if hook is None:
            return None
        return hook(user, idp, token) if arity(hook) >= 3 else hook(user, idp)

    def groups_claim(self, provider: Provider) -> str | None:
        """The claim ``provider``'s groups come from (its own setting, else the app's)."""
        return provider.config.groups_claim or self.settings.groups_claim

    def login_user_callback(self, provider: Provider) -> Callable[..., Any] | None:
        return provider.config.login_user_callback or self.settings.login_user_callback

    # -- URLs -------------------------------------------------------------

    def require_stack(self) -> AuthStack:
        if self.stack is None:
            raise ConfigurationError("the OIDC plugin is not part of an app's stack yet")
        return self.stack

    def url(self, route: str) -> str:
        """The browser-visible URL of one of our routes."""
        return self.require_stack().url_for(route)

    def login_url(self, idp: str) -> str:
        return self.url(self.settings.routes.for_idp(self.settings.routes.login, idp))

    def _force_https(self) -> bool:
        value = self.settings.force_https_callback
        if isinstance(value, str):
            return value in os.environ
        return bool(value)

    def callback_url(self, request: Request, idp: str) -> str:
        """The redirect URI: this request's own scheme and host, never a forwarded header."""
        path = self.url(self.settings.routes.for_idp(self.settings.routes.callback, idp))
        return origin(request.scheme, request.host, self._force_https()) + path

    def post_logout_url(self, request: Request, provider: Provider) -> str:
        configured = provider.config.post_logout_redirect_uri
        if configured:
            return configured
        return origin(request.scheme, request.host, self._force_https()) + self.url(self.settings.routes.logged_out)

    def next_url(self, value: Any) -> str:
        """A safe ``next`` short enough to keep in the session, else the app root."""
        root = self.require_stack().requests_prefix
        target = safe_next(value, prefix=root)
        return target if len(target) <= MAX_NEXT_LENGTH else root

    def update_login_url(self) -> None:
        if self.stack is None:
            return
        route = self.settings.idp_selection_route
        self.stack.login_url = route if route else self.url(self.settings.routes.choose)

    # -- the end of a login ---------------------------------------------------

    def forget_identity(self, request: Request) -> None:
        raw = request.header("Cookie")
        if raw:
            with self._identities_lock:
                self._identities.pop(raw, None)

    def end_login(self, request: Request, reason: str) -> Reject:
        """End this request's OIDC login: tokens and session cleared, open sockets closed, ``REJECT``."""
        log.info("OIDC login ended, the user must sign in again: %s", reason)
        request.state[LOGIN_ENDED] = True
        ended = Identity.from_session(request.session.get(SESSION_KEY)) if request.has_session_cookie else None
        if ended is not None:
            self.require_stack().close_sockets(ended)  # they hold the old cookie, which HTTP now refuses
        self.forget_identity(request)
        self.store.clear(request.session)
        request.clear_session()
        return REJECT
