"""The OpenID Connect provider as a dash-auth plugin: its hooks, and the wiring of its flows.

Framework-neutral: hooks take the core's :class:`~dash_auth_core.Request` and
answer with its :class:`~dash_auth_core.Response`. What the hooks and flows
share is :class:`~dash_auth_oidc.base.OIDCBase`; the routes are
:mod:`.views`, token refresh is :mod:`.renewal`, the session layout
:mod:`.state`; protocol work is :mod:`.provider` (endpoints, keys),
:mod:`.tokens` (validation), :mod:`.flow` (pending states) and :mod:`.claims`
(the identity).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from dash_auth_core import (
    LOGIN_ENDED,
    REJECT,
    SESSION_KEY,
    AuthResult,
    AuthStack,
    ConfigurationError,
    Identity,
    Request,
    Resource,
    Response,
    hookimpl,
    redirect,
    with_next,
)
from dash_auth_core.ui import add_logout_url
from dash_auth_core.user_code import arity

from .base import OIDCBase, allow_blocking
from .errors import LoginError
from .flow import MAX_NEXT_LENGTH, NEXT_KEY
from .provider import Provider
from .renewal import TokenRenewal
from .settings import Routes
from .state import STATE_KEY, login_state
from .views import SignInViews

log = logging.getLogger("dash_auth.oidc")

#: How long past its tokens' expiry a socket's login holds when a refresh could renew them (seconds).
SOCKET_GRACE_SECONDS = 3600.0
#: How long a verified session cookie's identity is reused without decoding the cookie again (seconds).
IDENTITY_CACHE_SECONDS = 300.0
IDENTITY_CACHE_SIZE = 2048


class OIDCPlugin(OIDCBase):
    """Signs browsers in with OpenID Connect providers; keeps their tokens fresh; signs them out."""

    requires_sessions = True

    #: The routes and the token refresh, wired in by ``setup`` (both act for an app's stack).
    views: SignInViews
    renewal: TokenRenewal

    # -- hooks ------------------------------------------------------------

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        routes = self.settings.routes
        self._check_pages(routes)
        for path in (routes.choose, routes.logout, routes.logged_out):
            if auth.has_route(path):  # before adding any: a clash leaves nothing half-registered
                raise ConfigurationError(f"two dash-auth views for {path}: give the OIDC one another route")
        self.stack = auth
        self.views = views = SignInViews(self)
        self.renewal = TokenRenewal(self)
        auth.add_route(routes.choose, views.choose, methods=("GET",), public=True, endpoint="oidc_choose")
        auth.add_route(routes.login, views.login, methods=("GET",), public=True, endpoint="oidc_login")
        auth.add_route(routes.callback, views.callback, methods=("GET",), public=True, endpoint="oidc_callback")
        auth.add_route(routes.logout, views.logout, methods=("GET", "POST"), public=True, endpoint="oidc_logout")
        auth.add_route(routes.logged_out, views.logged_out, methods=("GET",), public=True,
                       endpoint="oidc_logged_out")
        # (Plugin routes are public by themselves, rules with <idp> too; as public
        # routes they would also publish a page registered later under the rule.)
        if self.settings.idp_selection_route:
            auth.add_public_routes([self.settings.idp_selection_route])
        self.update_login_url()
        add_logout_url(auth, self._logout_url_for)

    @staticmethod
    def _check_pages(routes: Routes) -> None:
        import dash

        prefixes = routes.prefixes()
        for page in dash.page_registry.values():
            for key in ("path", "path_template"):
                path = page.get(key)
                if isinstance(path, str) and any(path == p or path.startswith(p + "/") for p in prefixes):
                    raise ConfigurationError(
                        f"the page {page.get('module')!r} at {path!r} lies under the OIDC routes "
                        f"({', '.join(sorted(prefixes))}); move the page or the routes (login_route=..., callback_route=...)"
                    )

    @hookimpl
    def authenticate(self, request: Request) -> AuthResult:
        # A signed-in browser sends the same cookies request after request: their
        # identity is remembered, so the session cookie is verified and decoded
        # only when it changes, when tokens are due for refresh, or every few minutes.
        raw = request.header("Cookie")
        if not raw:
            return None
        now = self._clock()
        stack = self.require_stack()
        # With a session store the record may have been deleted elsewhere (a logout on another
        # instance): it is read each time (in the request's one round trip), not remembered here.
        hit = self._identities.get(raw) if stack.session_store is None else None
        if hit is not None and hit[1] > now and not (stack.shared_state.marks and stack.is_revoked(hit[0])):
            return hit[0]
        if not request.has_session_cookie:
            return None
        session = request.session
        state = session.get(STATE_KEY)
        if state is None:
            return None  # not an OIDC login: the core's session reader decides
        if type(state) is not dict:
            return self.end_login(request, "malformed OIDC session state")
        refresh_at = state.get("r")
        if isinstance(refresh_at, (int, float)) and now >= refresh_at:
            if not request.is_websocket:
                return self.renewal.renew(request, state)  # the core's session reader gives the identity
            # A socket's session is its handshake's: new tokens would never reach the browser's
            # cookie, and a rotated refresh token spent here would sign the browser out. Its
            # login holds past the tokens' expiry only while a refresh could still renew them,
            # for at most SOCKET_GRACE_SECONDS; the page's next HTTP request renews them.
            expires = state.get("e")
            if isinstance(expires, (int, float)) and now >= expires and (
                refresh_at == expires or now >= expires + SOCKET_GRACE_SECONDS
            ):
                request.state[LOGIN_ENDED] = True  # the socket closes with 4001 and the page reloads
                return REJECT
        identity = Identity.from_session(session.get(SESSION_KEY))
        if identity is None:
            return None
        until = now + IDENTITY_CACHE_SECONDS
        if isinstance(refresh_at, (int, float)):
            until = min(until, refresh_at)
        if not stack.login_holds(identity, request, now):
            return None  # expired, idle, revoked: the core's reader refuses it too
        ends = stack.login_ends(identity, request)
        if ends is not None:
            until = min(until, ends)
        if stack.session_store is not None:
            return identity
        with self._identities_lock:
            self._identities[raw] = (identity, until)
            while len(self._identities) > IDENTITY_CACHE_SIZE:
                self._identities.popitem(last=False)
        return identity

    @hookimpl(tryfirst=True)
    def challenge(self, request: Request, resource: Resource, reason: str) -> Response | None:
        if reason != "unauthenticated" or resource.wants_json or request.method not in ("GET", "HEAD"):
            return None
        if request.header("Authorization"):
            return None  # credentials of a script's provider (Basic, Bearer): let it answer
        return redirect(self.entry_url(request, self._browser_url(request)))

    @hookimpl
    def on_logout(self, identity: Identity | None, request: Request) -> None:
        """End the session's OIDC login, whichever route signs out (or a new login replaces it).

        ``before_logout`` runs, and the refresh token is revoked at the provider
        (RFC 7009), so a copy of the old cookie renews nothing.
        """
        session = request.session
        state = login_state(request)
        if state is not None:
            revocable = self._revocable(request, state)
            if revocable is not None:
                allow_blocking(request)  # the provider is called: off the event loop, before any change
            self._before_logout(identity)
            if revocable is not None:
                provider, refresh_token = revocable
                try:
                    if provider.revoke(refresh_token):
                        log.info("OIDC refresh token revoked at %r", provider.name)
                except LoginError as exc:
                    log.warning("OIDC refresh token not revoked: %s", exc.reason)
        self.forget_identity(request)
        self.store.clear(session)

    def _revocable(self, request: Request, state: dict[str, Any]) -> tuple[Provider, str] | None:
        """The provider and the refresh token of the login ``state`` describes, when it has both."""
        provider = self.provider_of(state)
        tokens = self.store.load(request.session) if provider is not None else None
        refresh_token = (tokens or {}).get("rt")
        return (provider, refresh_token) if provider is not None and isinstance(refresh_token, str) else None

    def _before_logout(self, identity: Identity | None) -> None:
        hook = self.settings.before_logout
        if hook is None:
            return
        try:
            if arity(hook) >= 1:
                hook(identity)
            else:
                hook()
        except Exception:  # a failing hook must not keep the user signed in
            log.exception("before_logout raised; signing out anyway")

    # -- where a browser goes -------------------------------------------------

    def entry_url(self, request: Request, next_url: str) -> str:
        """Where an unauthenticated browser starts signing in."""
        route = self.settings.idp_selection_route
        if route:
            # An app-made selection page may not pass ?next= on: remember it (one bounded value).
            if len(next_url) <= MAX_NEXT_LENGTH:
                request.session[NEXT_KEY] = next_url
            return with_next(route, next_url)
        if len(self.providers) == 1:
            return with_next(self.login_url(next(iter(self.providers))), next_url)
        return with_next(self.url(self.settings.routes.choose), next_url)

    def _browser_url(self, request: Request) -> str:
        """The URL the browser asked for, as it sees it (requests prefix and query)."""
        stack = self.require_stack()
        prefix = stack.routes_prefix
        path = request.path
        rel = path[len(prefix) - 1:] if path.startswith(prefix) else path
        target = stack.url_for(rel)
        query = urlencode(list(request.args.items()))
        return f"{target}?{query}" if query else target

    def _logout_url_for(self, request: Request, identity: Identity | None) -> str | None:
        """Where ``LogoutButton`` signs out an OIDC login: this route, which continues at the provider."""
        if login_state(request) is not None:
            return self.url(self.settings.routes.logout)
        return None

    # -- helpers for apps ---------------------------------------------------

    def tokens(self, request: Request) -> dict[str, Any] | None:
        """The stored tokens of ``request``'s session (``refresh_token``, ``id_token``, ``access_token``)."""
        if login_state(request) is None:
            return None
        stored = self.store.load(request.session)
        if stored is None:
            return None
        names = {"rt": "refresh_token", "it": "id_token", "at": "access_token"}
        return {names[k]: v for k, v in stored.items() if k in names}
