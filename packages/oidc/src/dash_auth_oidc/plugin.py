"""The OpenID Connect provider as a dash-auth plugin: routes, hooks, login and logout.

Framework-neutral: the views take the core's :class:`~dash_auth_core.Request`
and return its :class:`~dash_auth_core.Response`; the backend adapter serves
them. Protocol work is delegated to :mod:`.provider` (endpoints, keys),
:mod:`.tokens` (validation), :mod:`.flow` (pending states) and :mod:`.claims`
(the identity).

Session layout of a signed-in OIDC user::

    session["user"]          the core identity (plus attributes hooks added)
    session["idp"]           the provider's name (as the seed libraries stored it)
    session["_oidc"]         {"p": provider, "s": sub, "e": expires_at, "r": refresh_at,
                              "g": 1 if the app chose the groups at sign-in}
    session["_oidc_tokens"]  the refresh and ID tokens, encrypted (see .store)
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from dash_auth_core import (
    LOGIN_ENDED,
    PROVIDER_GROUPS_CLAIM,
    REJECT,
    SESSION_KEY,
    AuthStack,
    BadRequest,
    ConfigurationError,
    Identity,
    Request,
    Resource,
    Response,
    csrf,
    hookimpl,
    redirect,
    safe_next,
    with_next,
)
from dash_auth_core.ui import (
    add_logout_url,
    confirmation_page,
    error_page,
    render_page,
    signed_out_page,
    translate,
    unavailable_page,
)

from .claims import DEFAULT_SESSION_CLAIMS, UserGroups, build_identity, lookup, merge_userinfo
from .errors import (
    BadCallback,
    LoginError,
    ProviderRefused,
    ProviderUnavailable,
    TokenValidationError,
    UnknownProvider,
)
from .flow import MAX_NEXT_LENGTH, NEXT_KEY, PendingLogins, check_issuer, origin, path_segment
from .provider import Provider
from .store import TokenStore

log = logging.getLogger("dash_auth.oidc")
T = TypeVar("T")

#: The session key with the login's provider and token timing.
STATE_KEY = "_oidc"
#: How long the result of one refresh is reused by concurrent requests of the same session (seconds).
REFRESH_REUSE_SECONDS = 30.0
#: After a refresh failed because the provider was unreachable, wait this long before trying again.
REFRESH_RETRY_SECONDS = 15.0
#: How long past its tokens' expiry a socket's login holds when a refresh could renew them (seconds).
SOCKET_GRACE_SECONDS = 3600.0
#: How long a verified session cookie's identity is reused without decoding the cookie again (seconds).
IDENTITY_CACHE_SECONDS = 300.0
IDENTITY_CACHE_SIZE = 2048


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


class _RefreshCache:
    """One refresh per refresh token at a time; concurrent requests of a session share its result."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._locks: OrderedDict[str, threading.Lock] = OrderedDict()
        self._results: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def run(self, refresh_token: str, call: Callable[[], T]) -> T:
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        with self._lock:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
                while len(self._locks) > self._size:
                    self._locks.popitem(last=False)
        with lock:
            hit = self._results.get(key)
            if hit is not None and time.monotonic() - hit[0] < REFRESH_REUSE_SECONDS:
                return hit[1]
            result = call()
            with self._lock:
                self._results[key] = (time.monotonic(), result)
                while len(self._results) > self._size:
                    self._results.popitem(last=False)
            return result


#: Stored claims a refresh never carries over to the claims it re-reads.
_NOT_CARRIED = frozenset({PROVIDER_GROUPS_CLAIM, "email", "email_verified", "phone_number", "phone_number_verified"})

#: In the login's state: the app chose the groups at sign-in (a refresh does not re-read them).
_PINNED = "g"


def _pinned(state: Mapping[str, Any]) -> dict[str, Any]:
    """The login state's pinned-groups mark, to carry into its next state (absent: a login from
    before the mark existed)."""
    return {_PINNED: state[_PINNED]} if _PINNED in state else {}


def _arity(func: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 99
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def coerce_response(value: Any, what: str) -> Response | None:
    """A user hook's return value as a core :class:`Response` (``None`` when it returned nothing).

    Accepts a :class:`Response`, an HTML string, ``(body, status)``, or a
    framework response object (Flask's ``redirect(...)`` from seed code).
    """
    if value is None:
        return None
    if isinstance(value, Response):
        return value
    if isinstance(value, (str, bytes)):
        return Response(200, value, "text/html; charset=utf-8", {"Cache-Control": "no-store"})
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (str, bytes)) and isinstance(value[1], int):
        return Response(value[1], value[0], "text/html; charset=utf-8", {"Cache-Control": "no-store"})
    status = getattr(value, "status_code", None)
    headers = getattr(value, "headers", None)
    get_data = getattr(value, "get_data", None)
    if isinstance(status, int) and headers is not None and callable(get_data):
        copied: dict[str, str] = {}
        repeated: list[tuple[str, str]] = []
        for key, item in headers.items():
            lower = key.lower()
            if lower in ("content-length", "content-type"):
                continue
            if lower in (k.lower() for k in copied):
                repeated.append((key, item))  # several Set-Cookie headers, say: keep them all
                continue
            copied[key] = item
        content_type = headers.get("Content-Type") or "text/html; charset=utf-8"
        return Response(status, get_data(), content_type, copied, repeated)
    log.error("%s returned %r, which is not a response; using the default redirect", what, type(value).__name__)
    return None


def allow_blocking(request: Request) -> None:
    """Tell an async backend that network calls follow (the core re-runs the guard in a thread)."""
    hook = getattr(request, "allow_blocking", None)
    if hook is not None:
        hook()


#: Bytes of session a signed cookie can hold with room left for its name, signature and attributes.
SESSION_BUDGET = 3600


def _session_size(session: Mapping[str, Any]) -> int:
    """About how large the session's cookie is (JSON, base64-encoded; before any compression)."""
    try:
        return len(json.dumps(dict(session), separators=(",", ":"), default=str)) * 4 // 3
    except (TypeError, ValueError):
        return 0


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class OIDCPlugin:
    """Signs browsers in with OpenID Connect providers; keeps their tokens fresh; signs them out."""

    requires_sessions = True

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
        self._refreshes = _RefreshCache()
        #: Cookie header -> (identity, valid until): see ``authenticate``.
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
        self._update_login_url()

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

    def default_after_logged_in(self, user: dict[str, Any], idp: str, token: dict[str, Any]) -> Any:
        """The per-provider ``after_logged_in`` hook, else the app-wide one."""
        provider = self.providers.get(idp)
        hook = (provider.config.after_logged_in if provider else None) or self.settings.after_logged_in
        if hook is None:
            return None
        return hook(user, idp, token) if _arity(hook) >= 3 else hook(user, idp)

    # -- URLs -------------------------------------------------------------

    def _stack(self) -> AuthStack:
        if self.stack is None:
            raise ConfigurationError("the OIDC plugin is not part of an app's stack yet")
        return self.stack

    def url(self, route: str) -> str:
        """The browser-visible URL of one of our routes."""
        return self._stack().url_for(route)

    def login_url(self, idp: str) -> str:
        return self.url(self.settings.routes.for_idp(self.settings.routes.login, idp))

    def _force_https(self) -> bool:
        value = self.settings.force_https_callback
        if isinstance(value, str):
            import os

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

    def _next(self, value: Any) -> str:
        """A safe ``next`` short enough to keep in the session, else the app root."""
        root = self._stack().requests_prefix
        target = safe_next(value, prefix=root)
        return target if len(target) <= MAX_NEXT_LENGTH else root

    def _browser_url(self, request: Request) -> str:
        """The URL the browser asked for, as it sees it (requests prefix and query)."""
        stack = self._stack()
        prefix = stack.routes_prefix
        path = request.path
        rel = path[len(prefix) - 1:] if path.startswith(prefix) else path
        target = stack.url_for(rel)
        query = urlencode(list(request.args.items()))
        return f"{target}?{query}" if query else target

    def _update_login_url(self) -> None:
        if self.stack is None:
            return
        route = self.settings.idp_selection_route
        self.stack.login_url = route if route else self.url(self.settings.routes.choose)

    # -- hooks ------------------------------------------------------------

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        routes = self.settings.routes
        self._check_pages(routes)
        for path in (routes.choose, routes.logout, routes.logged_out):
            if auth.has_route(path):  # before adding any: a clash leaves nothing half-registered
                raise ConfigurationError(f"two dash-auth views for {path}: give the OIDC one another route")
        self.stack = auth
        auth.add_route(routes.choose, self._choose_view, methods=("GET",), public=True, endpoint="oidc_choose")
        auth.add_route(routes.login, self._login_view, methods=("GET",), public=True, endpoint="oidc_login")
        auth.add_route(routes.callback, self._callback_view, methods=("GET",), public=True, endpoint="oidc_callback")
        auth.add_route(routes.logout, self._logout_view, methods=("GET", "POST"), public=True, endpoint="oidc_logout")
        auth.add_route(routes.logged_out, self._logged_out_view, methods=("GET",), public=True,
                       endpoint="oidc_logged_out")
        # (Plugin routes are public by themselves, rules with <idp> too; as public
        # routes they would also publish a page registered later under the rule.)
        if self.settings.idp_selection_route:
            auth.add_public_routes([self.settings.idp_selection_route])
        self._update_login_url()
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
    def authenticate(self, request: Request) -> Identity | object | None:
        # A signed-in browser sends the same cookies request after request: their
        # identity is remembered, so the session cookie is verified and decoded
        # only when it changes, when tokens are due for refresh, or every few minutes.
        raw = request.header("Cookie")
        if not raw:
            return None
        now = self._clock()
        stack = self._stack()
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
            return self._end_login(request, "malformed OIDC session state")
        refresh_at = state.get("r")
        if isinstance(refresh_at, (int, float)) and now >= refresh_at:
            if not request.is_websocket:
                return self._renew(request, state)  # the core's session reader gives the identity
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

    def _forget_identity(self, request: Request) -> None:
        raw = request.header("Cookie")
        if raw:
            with self._identities_lock:
                self._identities.pop(raw, None)

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
        state = session.get(STATE_KEY) if request.has_session_cookie else None
        if isinstance(state, dict):
            provider = self.providers.get(state.get("p"))  # type: ignore[arg-type]
            tokens = self.store.load(session) if provider is not None else None
            refresh_token = (tokens or {}).get("rt")
            revocable = provider is not None and isinstance(refresh_token, str)
            if revocable:
                allow_blocking(request)  # the provider is called: off the event loop, before any change
            self._before_logout(identity)
            if revocable:
                try:
                    if provider.revoke(refresh_token):
                        log.info("OIDC refresh token revoked at %r", provider.name)
                except LoginError as exc:
                    log.warning("OIDC refresh token not revoked: %s", exc.reason)
        self._forget_identity(request)
        self.store.clear(session)

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

    # -- refresh ----------------------------------------------------------

    def _token_state(self, idp: str, sub: str, token: Mapping[str, Any], now: float, has_refresh: bool) -> dict[str, Any]:
        expires_in = token.get("expires_in")
        if isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit():
            expires_in = int(expires_in)
        if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or expires_in <= 0:
            return {"p": idp, "s": sub, "e": None, "r": None}
        expires = int(now + expires_in)
        if not has_refresh:
            return {"p": idp, "s": sub, "e": expires, "r": expires}
        leeway = min(self.settings.refresh_leeway, expires_in / 2)
        return {"p": idp, "s": sub, "e": expires, "r": int(now + expires_in - leeway)}

    def _end_login(self, request: Request, reason: str) -> object:
        log.info("OIDC login ended, the user must sign in again: %s", reason)
        request.state[LOGIN_ENDED] = True
        ended = Identity.from_session(request.session.get(SESSION_KEY)) if request.has_session_cookie else None
        if ended is not None:
            self._stack().close_sockets(ended)  # they hold the old cookie, which HTTP now refuses
        self._forget_identity(request)
        self.store.clear(request.session)
        request.clear_session()
        return REJECT

    def _renew(self, request: Request, state: dict[str, Any]) -> object | None:
        allow_blocking(request)  # the refresh calls the provider: off the event loop on async backends
        now = self.clock()
        session = request.session
        provider = self.providers.get(state.get("p"))  # type: ignore[arg-type]
        if provider is None:
            return self._end_login(request, f"provider {state.get('p')!r} is no longer registered")
        expires = state.get("e")
        still_valid = isinstance(expires, (int, float)) and now < expires
        tokens = self.store.load(session) or {}
        refresh_token = tokens.get("rt")
        if not isinstance(refresh_token, str) or not refresh_token:
            if still_valid:
                session[STATE_KEY] = {**state, "r": expires}  # nothing to refresh with: check again at expiry
                return None
            return self._end_login(request, f"tokens from {provider.name!r} expired and there is no refresh token")
        subject = str(state.get("s"))
        try:
            fresh, user = self._refreshes.run(
                refresh_token, lambda: self._refresh(provider, refresh_token, subject, self._follows_groups(provider, state))
            )
        except ProviderUnavailable as exc:
            if still_valid:
                log.warning("OIDC token refresh postponed: %s", exc.reason)
                session[STATE_KEY] = {**state, "r": int(now + REFRESH_RETRY_SECONDS)}
                return None
            return self._end_login(request, exc.reason)
        except LoginError as exc:
            return self._end_login(request, exc.reason)
        stored = {
            "rt": fresh.get("refresh_token") or refresh_token,
            # The login's ID token, never a refreshed one, names the user in the provider's
            # logout URL: it carries the login's nonce, so no bearer check accepts it, and the
            # cookie keeps the size it had at sign-in (where it may have been left out).
            "it": tokens.get("it"),
        }
        if self.settings.store_access_token and fresh.get("access_token"):
            stored["at"] = fresh["access_token"]
        self.store.save(session, {k: v for k, v in stored.items() if isinstance(v, str) and v})
        session[STATE_KEY] = {**self._token_state(provider.name, subject, fresh, now, True), **_pinned(state)}
        log.info("OIDC tokens of %s refreshed with %r", subject, provider.name)
        if user is not None:
            self._regroup(session, provider, user)
        return None

    def _groups_claim(self, provider: Provider) -> str | None:
        """The claim ``provider``'s groups come from (its own setting, else the app's)."""
        return provider.config.groups_claim or self.settings.groups_claim

    def _login_user_callback(self, provider: Provider) -> Callable[..., Any] | None:
        return provider.config.login_user_callback or self.settings.login_user_callback

    def _follows_groups(self, provider: Provider, state: Mapping[str, Any]) -> bool:
        """Whether a refresh re-reads the user's groups from ``provider``.

        Not when the app chose them at sign-in: a ``login_user_callback`` wrote
        the stored user, or ``after_logged_in`` changed the groups claim (the
        login's state says so); neither runs again at a refresh.
        """
        if not self._groups_claim(provider) or self._login_user_callback(provider) is not None:
            return False
        if _PINNED in state:
            return not state[_PINNED]
        # A login from before the mark: its hook may have chosen the groups.
        return (provider.config.after_logged_in or self.settings.after_logged_in) is None

    def _refresh(
        self, provider: Provider, refresh_token: str, subject: str, regroup: bool
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """New tokens, and the user's claims as the provider gives them now (``None`` when not re-read).

        The claims come from a new ID token, if the answer has one, and from the
        userinfo endpoint; both must name the login's subject. A userinfo
        endpoint that fails leaves the login's claims standing.
        """
        fresh = provider.refresh(refresh_token)
        claims = None
        new_id_token = fresh.get("id_token")
        if new_id_token:
            claims = provider.validate_id_token(new_id_token, nonce=None, access_token=fresh.get("access_token"))
            if claims.get("sub") != subject:
                raise TokenValidationError("refreshed ID token is for another user", reason="refreshed ID token names another sub")
        if not regroup:
            return fresh, None
        try:
            info = provider.userinfo(fresh)
        except ProviderUnavailable as exc:
            log.warning("OIDC claims of %s not re-read after the refresh; the login's stand: %s", subject, exc.reason)
            info = None
        if claims is None and not info:
            return fresh, None
        return fresh, merge_userinfo(claims or {"sub": subject, "iss": provider.metadata().get("issuer")}, info)

    def _regroup(self, session: Any, provider: Provider, user: Mapping[str, Any]) -> None:
        """Store the groups the provider gives the user now (a group taken away at the provider goes).

        Claims that do not mention the groups claim leave the login's groups as they are.
        """
        groups_claim = self._groups_claim(provider)
        stored = session.get(SESSION_KEY)
        current = Identity.from_session(stored)
        if not groups_claim or current is None or not isinstance(stored, Mapping) or lookup(user, groups_claim) is None:
            return
        # user_groups see what they saw at sign-in as far as the session kept it, updated; an
        # address or number counts as verified only with the flag that comes with it now.
        kept = {k: v for k, v in current.claims.items() if k not in _NOT_CARRIED}
        user = {**kept, **user}
        try:
            latest = build_identity(
                user, provider.name, groups_claim=groups_claim, user_groups=self.settings.user_groups,
                session_claims=(), auth_time=current.auth_time,
            )
            latest = self._stack().groups_for(latest)
        except Exception:  # an app's user_groups that fails: the login's groups stand
            log.exception("OIDC groups of %s not re-read after the refresh", current.id)
            return
        if latest.groups == current.groups:
            return
        updated = {**stored, "groups": list(latest.groups)}
        claims = dict(stored.get("claims") or {})
        if PROVIDER_GROUPS_CLAIM in latest.claims:
            claims[PROVIDER_GROUPS_CLAIM] = latest.claims[PROVIDER_GROUPS_CLAIM]
        top = groups_claim.split(".")[0]
        if top in claims and top in user:
            claims[top] = user[top]  # the raw claim the groups came from, kept current too
        if claims:
            updated["claims"] = claims
        session[SESSION_KEY] = updated
        log.info("OIDC groups of %s changed at %r: %s", current.id, provider.name, ", ".join(latest.groups) or "none")

    # -- views ------------------------------------------------------------

    def _error_page(self, request: Request, exc: LoginError, idp: Any = None) -> Response:
        stack = self._stack()
        retry = None
        if exc.retry and isinstance(idp, str) and idp in self.providers:
            retry = self.login_url(idp)
        message = translate(request, exc.template, stack)
        if exc.params:
            message = message % exc.params
        heading = translate(request, exc.title, stack)
        if isinstance(exc, ProviderUnavailable):
            return unavailable_page(request, exc.status, message=message, heading=heading, retry_after=30,
                                    retry_url=retry or stack.requests_prefix)
        return error_page(request, exc.status, message, heading=heading, retry_url=retry, retry_id="oidc-retry",
                          stack=stack)

    def _choose_view(self, request: Request) -> Response:
        next_url = self._next(request.args.get("next"))
        if len(self.providers) == 1:
            return redirect(with_next(self.login_url(next(iter(self.providers))), next_url))
        stack = self._stack()
        if not self.providers:
            log.warning("sign-in requested but no OIDC provider is registered")
            return unavailable_page(
                request, 503, message=translate(request, "No sign-in provider is configured for this app.", stack),
                retry_after=None, retry_url=stack.requests_prefix,
            )
        providers = [
            {"name": name, "label": p.config.display_name or name, "url": with_next(self.login_url(name), next_url)}
            for name, p in self.providers.items()
        ]
        return render_page(request, "oidc_choose.html", 200, stack=stack, providers=providers, next_url=next_url)

    def _login_view(self, request: Request, idp: str) -> Response:
        try:
            provider = self.provider(idp)
            provider.metadata()  # fail before recording a pending state
            remembered = request.session.pop(NEXT_KEY, None) if request.has_session_cookie else None
            next_url = self._next(request.args.get("next") or remembered)
            pending = self.pending.start(request.session, idp, next_url)
            # Pending logins in a session that is large already (a signed-in user with many
            # groups) must not push the cookie past what browsers keep: the oldest go first.
            while _session_size(request.session) > SESSION_BUDGET and self.pending.drop_oldest(
                request.session, keep=pending.state
            ):
                pass
            url = provider.authorization_url(
                self.callback_url(request, idp), pending.state, pending.nonce, pending.code_verifier
            )
        except LoginError as exc:
            log.warning("OIDC sign-in via %r could not start: %s", idp, exc.reason)
            return self._error_page(request, exc, None)
        return redirect(url)

    def _callback_view(self, request: Request, idp: str) -> Response:
        try:
            return self._complete(request, idp)
        except LoginError as exc:
            log.warning("OIDC sign-in via %r refused: %s", idp, exc.reason)
            return self._error_page(request, exc, idp)

    def _complete(self, request: Request, idp: str) -> Response:
        provider = self.provider(idp)
        args = request.args
        error = args.get("error")
        if error is not None:
            # An error answer logs nobody in, so it is shown even when its state is
            # missing (some providers drop it); a matching pending state is used up.
            try:
                self.pending.finish(request.session, args.get("state"), idp)
                checked = "state ok"
            except BadCallback as exc:
                checked = exc.reason
            if provider.known_issuer is not None:
                # Another provider's error is not shown as this one's; a provider that cannot be
                # reached now is not asked just to show an error that logs nobody in.
                self._check_issuer(request, provider)
            code = str(error)[:64]
            description = str(args.get("error_description") or "")[:200]
            reason = f"provider answered error={code!r} {description!r} ({checked})"
            if code == "access_denied":
                raise ProviderRefused("You declined the sign-in, or the provider refused it.", reason=reason, status=403)
            raise ProviderRefused(
                "The sign-in provider reported an error (%(code)s).", reason=reason, status=401, params={"code": code}
            )
        pending = self.pending.finish(request.session, args.get("state"), idp)
        self._check_issuer(request, provider)  # before the code goes to any token endpoint
        code = args.get("code")
        if not isinstance(code, str) or not code or len(code) > 4096:
            raise BadCallback("The sign-in answer is incomplete. Sign in again.", reason="callback without a code")
        token = provider.exchange_code(code, self.callback_url(request, idp), pending.code_verifier)
        access_token = token.get("access_token")
        claims = provider.validate_id_token(
            token.get("id_token"), nonce=pending.nonce, access_token=access_token if isinstance(access_token, str) else None
        )
        user = merge_userinfo(claims, provider.userinfo(token))
        return self._log_in(request, provider, user, token, pending.next_url)

    @staticmethod
    def _check_issuer(request: Request, provider: Provider) -> None:
        """RFC 9207 mix-up defence: the answer's ``iss`` is the issuer of the provider the login started with."""
        meta = provider.metadata()
        check_issuer(
            [value for name, value in request.query_pairs if name == "iss"],
            meta["issuer"],
            meta.get("authorization_response_iss_parameter_supported") is True,
            provider.name,
        )

    def _log_in(
        self, request: Request, provider: Provider, user: dict[str, Any], token: dict[str, Any], next_url: str
    ) -> Response:
        settings = self.settings
        idp = provider.name
        now = self.clock()
        session = request.session
        user = {k: v for k, v in user.items() if k not in ("nonce", "at_hash", "c_hash")}
        subject = str(user.get("sub"))  # as the validated token said, whatever the hooks do to ``user``
        before = copy.deepcopy(user)  # a hook may edit nested values in place
        hooked = coerce_response(self.after_logged_in(user, idp, dict(token)), "after_logged_in")
        extras = {
            k: v for k, v in user.items()
            if (k not in before or before[k] != v) and _json_safe(v)
        }
        identity = build_identity(
            user, idp,
            groups_claim=self._groups_claim(provider),
            user_groups=settings.user_groups,
            session_claims=settings.session_claims,
            auth_time=now,
        )
        # The login this session held ends, unless it is this user's (by the provider's
        # subject: a login_user_callback may have renamed it), before anything rewrites it.
        held = session.get(STATE_KEY) if request.has_session_cookie else None
        if not (isinstance(held, dict) and held.get("p") == idp and held.get("s") == subject):
            self._stack().end_replaced_login(request)
        callback = self._login_user_callback(provider)
        response: Response | None = hooked
        if callback is not None:
            # Seed-style mixed logins: the callback writes the session itself.
            session.clear()
            try:
                native = callback(user, idp) if _arity(callback) >= 2 else callback(user)
            except BaseException:
                session.clear()  # what it wrote before refusing (or failing) signs nobody in
                raise
            written = session.get("user")
            kept = {k: v for k, v in session.items() if k != "user"}
            merged = {**identity.to_session(), **extras, **(dict(written) if isinstance(written, Mapping) else {})}
            # The login's time, not the provider's ``auth_time`` claim the callback may have
            # copied (an older single sign-on would make the core see an expired login).
            merged["auth_time"] = identity.auth_time
            identity = Identity.from_session(merged) or identity
            identity = self._stack_login(identity, request)
            for key, value in kept.items():
                session.setdefault(key, value)
            session["user"] = {**merged, "groups": list(identity.groups)}
            response = coerce_response(native, "login_user_callback") or response
        else:
            identity = self._stack_login(identity, request)
            if extras:
                session["user"] = {**extras, **identity.to_session()}
        session["idp"] = idp
        stored = {"rt": token.get("refresh_token"), "it": token.get("id_token")}
        if settings.store_access_token:
            stored["at"] = token.get("access_token")
        stored = {k: v for k, v in stored.items() if isinstance(v, str) and v}
        if stored:
            self.store.save(session, stored)
        # The provider's subject, which a refreshed ID token names again (a login_user_callback
        # may have given the identity another id, such as the e-mail address).
        state = self._token_state(idp, subject, token, now, bool(stored.get("rt")))
        groups_claim = self._groups_claim(provider)
        # Whether after_logged_in chose the groups (then refreshes leave them), said on every login.
        state[_PINNED] = int(bool(groups_claim) and lookup(before, groups_claim) != lookup(user, groups_claim))
        session[STATE_KEY] = state
        size = _session_size(session)
        if size > SESSION_BUDGET and "it" in stored:
            # The ID token only names the user to the provider's logout page
            # (which asks them itself without it): not worth a cookie browsers drop.
            del stored["it"]
            self.store.save(session, stored)
            size = _session_size(session)
        if size > SESSION_BUDGET:
            log.warning(
                "the session of %s is about %d bytes; browsers drop cookies over 4 KB and the user "
                "would have to sign in again and again: keep fewer session_claims, or use a "
                "server-side session or token store", subject, size,
            )
        if settings.log_signins:
            log.info("OIDC sign-in of %s (%s) via %r", identity.id, identity.email or "-", idp)
        return response or redirect(next_url)

    def _stack_login(self, identity: Identity, request: Request) -> Identity:
        """Rotate the session, store the identity, run ``on_login``; the identity as stored.

        (The core applies an app-wide ``user_groups`` there, if the stack has one.)
        """
        stored = self._stack().login(identity, request, end_previous=False)  # ended in _log_in
        return stored if isinstance(stored, Identity) else identity

    def _logout_view(self, request: Request) -> Response:
        stack = self._stack()
        url = self.url(self.settings.routes.logout)
        if request.method != "POST":
            return confirmation_page(request, stack, url, button_id="oidc-logout")
        try:
            submitted = request.form.get(csrf.FIELD)
        except BadRequest:
            submitted = None
        if not csrf.check(request, submitted):
            log.warning("OIDC sign-out refused: no valid CSRF token or a cross-site origin")
            return confirmation_page(request, stack, url, status=403, error="csrf", button_id="oidc-logout")
        session = request.session
        state = session.get(STATE_KEY)
        provider = self.providers.get(state.get("p")) if isinstance(state, dict) else None  # type: ignore[arg-type]
        tokens = self.store.load(session) if provider is not None else None
        stack.logout(request)  # on_logout: before_logout, the refresh token revoked
        if provider is not None:
            end = provider.end_session_url(
                id_token_hint=(tokens or {}).get("it"),
                post_logout_redirect_uri=self.post_logout_url(request, provider),
            )
            if end:
                log.info("OIDC sign-out continues at %r's end_session_endpoint", provider.name)
                return redirect(end, 303)
        return self._logged_out_response(request)

    def _logout_url_for(self, request: Request, identity: Identity | None) -> str | None:
        """Where ``LogoutButton`` signs out an OIDC login: this route, which continues at the provider."""
        if request.has_session_cookie and isinstance(request.session.get(STATE_KEY), dict):
            return self.url(self.settings.routes.logout)
        return None

    def _before_logout(self, identity: Identity | None) -> None:
        hook = self.settings.before_logout
        if hook is None:
            return
        try:
            if _arity(hook) >= 1:
                hook(identity)
            else:
                hook()
        except Exception:  # a failing hook must not keep the user signed in
            log.exception("before_logout raised; signing out anyway")

    def _logged_out_view(self, request: Request) -> Response:
        return self._logged_out_response(request)

    def _logged_out_response(self, request: Request) -> Response:
        page = self.settings.logout_page
        if callable(page) and not isinstance(page, Response):
            page = page()
        response = coerce_response(page, "logout_page") if page is not None else None
        if response is None:
            response = signed_out_page(request, self._stack(), message_id="oidc-signed-out")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Clear-Site-Data", '"cache"')
        return response

    # -- helpers for apps ---------------------------------------------------

    def tokens(self, request: Request) -> dict[str, Any] | None:
        """The stored tokens of ``request``'s session (``refresh_token``, ``id_token``, ``access_token``)."""
        if not request.has_session_cookie or not isinstance(request.session.get(STATE_KEY), dict):
            return None
        stored = self.store.load(request.session)
        if stored is None:
            return None
        names = {"rt": "refresh_token", "it": "id_token", "at": "access_token"}
        return {names[k]: v for k, v in stored.items() if k in names}
