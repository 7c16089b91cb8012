"""Clerk as a dash-auth plugin: the hooks, and the state that keeps them cheap.

Framework-neutral: hooks and views take the core's :class:`~dash_auth_core.Request`
and answer with its :class:`~dash_auth_core.Response`. Token checks live in
:mod:`.tokens`, Backend API calls in :mod:`.api`, the identity in
:mod:`.claims`, the browser side in :mod:`.pages`, the routes in :mod:`.views`.

A browser login is the app's own session (``session_lifetime``), started by
the callback route from a verified Clerk session token. Session layout::

    session["user"]      the core identity (or what a login_user_callback wrote)
    session["_clerk"]    {"sid": the Clerk session id}

While it lasts, each request (after the first with a given ``Cookie`` header,
which is remembered) checks that the browser's ``__session`` cookie still
names that Clerk session: clerk-js drops the cookie when the browser signs
out of Clerk, and replaces it when another user signs in, and the app login
ends at once. Every ``session_check_interval`` seconds the session's status
is asked of Clerk (``sessions.get``), so a session revoked elsewhere (the
dashboard, another device, a sign-out everywhere) ends within that time.

Scripts send a session token as ``Authorization: Bearer``: verified on
every new token (remembered until it expires), nothing stored.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from dash_auth_core import (
    LOGIN_ENDED,
    REJECT,
    SESSION_KEY,
    AuthResult,
    AuthStack,
    ConfigurationError,
    Identity,
    Reject,
    Request,
    RequestRefused,
    Resource,
    Response,
    hookimpl,
    json_error,
    redirect,
    safe_next,
    with_next,
)

from .api import LIVE_STATUSES, BackendAPI
from .claims import UserGroups, build_identity, user_fields
from .config import ClerkConfig
from .errors import ClerkError, ClerkRefused, ClerkUnavailable, TokenRejected
from .tokens import Verifier, bearer_token, peek, session_cookie

log = logging.getLogger("dash_auth.clerk")

#: The session key of a Clerk login.
STATE_KEY = "_clerk"
#: Where a page asked for is remembered while the user is on an app-made sign-in page.
NEXT_KEY = "_clerk_next"
MAX_NEXT_LENGTH = 1024
#: How long a verified ``Cookie`` header's identity is reused at most (seconds).
IDENTITY_CACHE_SECONDS = 300.0
CACHE_SIZE = 2048
#: How long a user record fetched for Bearer tokens is reused (seconds).
USER_CACHE_SECONDS = 300.0
#: After a session check could not reach Clerk, wait this long before asking again (seconds).
CHECK_RETRY_SECONDS = 15.0

#: ``request.state`` key: why this plugin refused a Bearer token (its ``challenge`` answers with it).
_BAD_BEARER = "dash_auth_clerk.bad_bearer"
#: What a request gets while Clerk cannot be asked (a 503 with ``Retry-After``: the unavailable
#: page for a browser's page, JSON ``{"error": "clerk_unavailable"}`` for callbacks and scripts).
UNAVAILABLE_MESSAGE = "Clerk cannot be reached to check this sign-in. Try again in a moment."

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


def _wants_html(request: Request) -> bool:
    """Whether a browser asked for a page (not an image or a script fetched by one)."""
    accept = request.header("Accept")
    return not accept or "text/html" in accept or accept.strip() == "*/*"


class _Bounded(OrderedDict[Any, Any]):
    """An insertion-ordered dict that forgets its oldest entries past ``size``."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self[key] = value
            self.move_to_end(key)
            while len(self) > self.size:
                self.popitem(last=False)


class ClerkPlugin:
    """Signs browsers in with Clerk sessions, keeps them honest, and accepts Clerk tokens from scripts."""

    requires_sessions = True

    def __init__(
        self, config: ClerkConfig, settings: ClerkSettings, api: BackendAPI, verifier: Verifier,
        *, clock: Callable[[], float] = time.time,
    ) -> None:
        settings.check()
        self.config = config
        self.settings = settings
        self.api = api
        self.verifier = verifier
        self.clock = clock
        self.issuer = config.issuer
        self.stack: AuthStack | None = None
        #: Cookie header -> (identity, valid until, Clerk session id).
        self._identities = _Bounded()
        #: Bearer token -> (identity, valid until).
        self._bearers = _Bounded()
        #: User id -> (fields of the user record, fetched at), for Bearer tokens.
        self._users = _Bounded()
        #: Clerk session id -> when Clerk last said it is active (in this process).
        self._confirmed = _Bounded(16 * CACHE_SIZE)
        #: Clerk session id -> when a failed check may be tried again.
        self._retry_at = _Bounded()
        #: Clerk session ids whose login ended here (signed out, revoked): never accepted again.
        self._ended = _Bounded(16 * CACHE_SIZE)
        #: Digests of tokens used to sign in (a replayed callback is refused) -> their expiry.
        self._used = _Bounded(16 * CACHE_SIZE)
        #: Set by a seed-style ``ClerkAuth`` subclass that overrides ``login_request``.
        self.login_request: Callable[[], Any] | None = None
        from .views import ClerkViews

        self.views = ClerkViews(self)

    # -- URLs ---------------------------------------------------------------

    def _stack(self) -> AuthStack:
        if self.stack is None:
            raise ConfigurationError("the Clerk plugin is not part of an app's stack yet")
        return self.stack

    def url(self, route: str) -> str:
        """The browser-visible URL of an app path (with ``requests_pathname_prefix``)."""
        return self._stack().url_for(route)

    def next_url(self, value: Any) -> str:
        """A safe ``next`` inside the app, short enough to keep, and never a sign-in page."""
        root = self._stack().requests_prefix
        target = safe_next(value, prefix=root)
        path = target.split("?", 1)[0]
        if len(target) > MAX_NEXT_LENGTH or path in self.sign_in_paths():
            return root
        return target

    def sign_in_paths(self) -> tuple[str, ...]:
        routes = self.settings.routes
        paths = [self.url(routes.sign_in), self.url(routes.callback), self.url(routes.login)]
        if self.settings.sign_in.startswith("/"):
            paths.append(self.url(self.settings.sign_in))
        return tuple(paths)

    def origin(self, request: Request) -> str:
        """This request's own scheme and host (never a forwarded header)."""
        return f"{request.scheme}://{request.host}"

    def entry_url(self, request: Request, next_url: str) -> str:
        """Where an unauthenticated browser goes to sign in, coming back to ``next_url``."""
        mode = self.settings.sign_in
        if mode == "hosted":
            back = self.origin(request) + with_next(self.url(self.settings.routes.callback), next_url)
            return f"{self.config.sign_in_url}?{urlencode({'redirect_url': back}, quote_via=quote)}"
        if next_url != self._stack().requests_prefix and _wants_html(request):
            # An app-made page may lose ?next= on the way (a favicon fetch is not a page asked for).
            request.session[NEXT_KEY] = next_url
        page = self.settings.routes.sign_in if mode == "embedded" else mode
        return with_next(self.url(page), next_url)

    def browser_url(self, request: Request) -> str:
        """The URL the browser asked for, as it sees it (requests prefix and query)."""
        stack = self._stack()
        prefix = stack.routes_prefix
        path = request.path
        rel = path[len(prefix) - 1:] if path.startswith(prefix) else path
        query = urlencode(list(request.args.items()))
        target = stack.url_for(rel)
        return f"{target}?{query}" if query else target

    # -- hooks --------------------------------------------------------------

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        self.views.install(app, auth)

    @hookimpl
    def authenticate(self, request: Request) -> AuthResult:
        if self.settings.bearer_tokens and request.header("Authorization"):
            token = bearer_token(request)
            if token:
                found = self._bearer(request, token)
                if found is not None:
                    return found
        raw = request.header("Cookie")
        if not raw:
            return None
        now = self.clock()
        hit = self._identities.get(raw)
        if hit is not None and hit[1] > now and hit[2] not in self._ended:
            return hit[0]
        if not request.has_session_cookie:
            return None
        session = request.session
        state = session.get(STATE_KEY)
        if state is None:
            return None  # not a Clerk login
        sid = state.get("sid") if type(state) is dict else None
        if not isinstance(sid, str) or not sid:
            return self._end(request, "malformed Clerk session state")
        if sid in self._ended:
            return self._end(request, f"Clerk session {sid} has ended")
        cookie = session_cookie(request.cookies)
        if cookie is None:
            return self._end(request, "the browser signed out of Clerk (no __session cookie)")
        claims = peek(cookie)
        if claims is None or claims.get("sid") != sid:
            return self._end(request, "the browser's Clerk session is another one now")
        identity = Identity.from_session(session.get(SESSION_KEY))
        if identity is None:
            return None
        until = now + IDENTITY_CACHE_SECONDS
        lifetime = self._stack().session_lifetime
        if lifetime and identity.auth_time:
            if now - identity.auth_time > lifetime:
                return None  # expired: the core's reader refuses it too
            until = min(until, identity.auth_time + lifetime)
        confirmed = self._confirm(request, sid, identity, now)
        if confirmed is REJECT:
            return REJECT
        if isinstance(confirmed, float):
            until = min(until, confirmed)
        self._identities.put(raw, (identity, until, sid))
        return identity

    def _confirm(self, request: Request, sid: str, identity: Identity, now: float) -> float | Reject | None:
        """Ask Clerk whether session ``sid`` is still active, when the last answer is old enough.

        Returns until when the answer holds (``None``: no checks configured),
        or ``REJECT`` when the session ended; raises ``RequestRefused`` (503)
        when Clerk has not been able to say for too long.
        """
        interval = self.settings.session_check_interval
        if interval is None:
            return None
        checked = self._confirmed.get(sid)
        if checked is not None and now - checked < interval:
            return float(checked + interval)
        last = checked if checked is not None else identity.auth_time
        if now < self._retry_at.get(sid, 0.0):
            return self._outage(request, sid, last, now, interval, "Clerk was unreachable moments ago")
        request.allow_blocking()  # a Backend API call: off the event loop, before anything changes
        try:
            status = self.api.session_status(sid)
        except ClerkRefused as exc:
            status = f"unknown ({exc.reason})"
        except ClerkUnavailable as exc:
            self._retry_at.put(sid, now + CHECK_RETRY_SECONDS)
            return self._outage(request, sid, last, now, interval, exc.reason)
        if status not in LIVE_STATUSES:
            self._ended.put(sid, now)
            return self._end(request, f"Clerk session {sid} is {status}")
        self._confirmed.put(sid, now)
        return float(now + interval)

    def _outage(self, request: Request, sid: str, last: float, now: float, interval: float, reason: str) -> float:
        """While Clerk cannot be asked, a login confirmed within two intervals holds (briefly);
        after that the request is refused with a 503 (:class:`~dash_auth_core.RequestRefused`)."""
        if now - last < 2 * interval:
            log.warning("Clerk session %s not checked, the login holds for now: %s", sid, reason)
            return float(min(now + CHECK_RETRY_SECONDS, last + 2 * interval))
        log.warning("Clerk session %s could not be checked for too long; refused: %s", sid, reason)
        raise _unavailable()

    def _bearer(self, request: Request, token: str) -> AuthResult:
        """A session token sent by a script; ``None`` when it is not this instance's (another provider's)."""
        now = self.clock()
        hit = self._bearers.get(token)
        if hit is not None and hit[1] > now and hit[2] not in self._ended:
            return hit[0]
        unverified = peek(token)
        if unverified is None or unverified.get("iss") != self.issuer:
            return None  # not a Clerk session token of this instance
        try:
            if self.verifier.needs_network(token):
                request.allow_blocking()
            claims = self.verifier.verify(token)
            if claims["sid"] in self._ended:
                raise TokenRejected("This Clerk session has ended.", reason=f"session {claims['sid']} ended here")
            fields = self._user_fields(request, claims["sub"], now)
        except TokenRejected as exc:
            log.info("Clerk Bearer token refused: %s", exc.reason)
            request.state[_BAD_BEARER] = exc.message
            return REJECT
        except ClerkRefused as exc:
            log.info("Clerk Bearer token refused: %s", exc.reason)
            request.state[_BAD_BEARER] = "Clerk does not know this user."
            return REJECT
        except ClerkUnavailable as exc:
            log.warning("Clerk Bearer token not checked: %s", exc.reason)
            raise _unavailable() from None
        iat = claims.get("iat")
        identity = self.identity(fields, claims, auth_time=float(iat) if isinstance(iat, (int, float)) else now)
        identity = self._stack().groups_for(identity)
        self._bearers.put(token, (identity, float(claims["exp"]), claims["sid"]))
        return identity

    def _user_fields(self, request: Request, user_id: str, now: float) -> dict[str, Any]:
        hit = self._users.get(user_id)
        if hit is not None and now - hit[1] < USER_CACHE_SECONDS:
            return hit[0]
        request.allow_blocking()
        fields = user_fields(self.api.user(user_id))
        if fields.get("id") != user_id:
            raise ClerkRefused("Clerk described another user.", reason=f"users.get({user_id!r}) answered another id")
        if fields.get("banned") or fields.get("locked"):
            raise ClerkRefused("This account is locked at Clerk.", reason=f"user {user_id} is banned or locked")
        self._users.put(user_id, (fields, now))
        return fields

    def identity(self, fields: dict[str, Any], claims: dict[str, Any], *, auth_time: float) -> Identity:
        settings = self.settings
        return build_identity(
            fields, claims,
            user_groups=settings.user_groups,
            organization_groups=settings.organization_groups,
            metadata_groups_key=settings.metadata_groups_key,
            auth_time=auth_time,
        )

    def _end(self, request: Request, reason: str) -> Reject:
        """End this request's Clerk login: the session is cleared, open sockets close, ``REJECT``."""
        log.info("Clerk login ended, the user must sign in again: %s", reason)
        request.state[LOGIN_ENDED] = True
        ended = Identity.from_session(request.session.get(SESSION_KEY)) if request.has_session_cookie else None
        if ended is not None:
            self._stack().close_sockets(ended)
        self._forget(request)
        request.clear_session()
        return REJECT

    def _forget(self, request: Request) -> None:
        raw = request.header("Cookie")
        if raw:
            with self._identities.lock:
                self._identities.pop(raw, None)

    @hookimpl(tryfirst=True)
    def challenge(self, request: Request, resource: Resource, reason: str, refused_by: Any) -> Response | None:
        """A refused Bearer token gets JSON 401; a browser's page without a login goes to sign in.

        Callbacks and other JSON resources (``resource.wants_json``) are left
        to the core's JSON 401 with the ``login_url`` (``None`` here), and so
        are requests with another provider's credentials.
        """
        if refused_by is self:
            bad = request.state.get(_BAD_BEARER)
            if bad:
                answer = json_error(401, "invalid_token", str(bad))
                answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return answer
        if reason != "unauthenticated" or resource.wants_json or request.method not in ("GET", "HEAD"):
            return None
        if request.header("Authorization"):
            return None  # a script's credentials: let their provider answer (401, not a redirect)
        if self.login_request is not None:
            from .views import native_response

            self.remember_next(request)
            custom = native_response(self.login_request(), "login_request")
            if custom is not None:
                return custom
        return redirect(self.entry_url(request, self.next_url(self.browser_url(request))))

    def remember_next(self, request: Request) -> None:
        """Keep the page ``request`` asked for in its session, for after the sign-in."""
        target = self.next_url(self.browser_url(request))
        if target != self._stack().requests_prefix and _wants_html(request):
            request.session[NEXT_KEY] = target

    @hookimpl
    def on_logout(self, identity: Identity | None, request: Request) -> None:
        """End the Clerk session too, whichever route signs out (or a new login replaces it).

        ``before_logout`` runs, and the session is revoked at Clerk
        (``sessions.revoke``): a copy of the old cookies renews nothing, and
        the browser's other tabs are signed out of Clerk as well.
        """
        state = request.session.get(STATE_KEY) if request.has_session_cookie else None
        sid = state.get("sid") if isinstance(state, dict) else None
        if not isinstance(sid, str):
            return
        request.allow_blocking()  # the revocation calls Clerk: off the event loop, before any change
        self._before_logout(identity)
        self._ended.put(sid, self.clock())
        self._forget(request)
        try:
            self.api.revoke(sid)
            log.info("Clerk session %s revoked", sid)
        except ClerkError as exc:
            log.warning("Clerk session %s not revoked at Clerk (it ends here all the same): %s", sid, exc.reason)

    def _before_logout(self, identity: Identity | None) -> None:
        hook = self.settings.before_logout
        if hook is None:
            return
        from .views import arity

        try:
            hook(identity) if arity(hook) >= 1 else hook()
        except Exception:  # a failing hook must not keep the user signed in
            log.exception("before_logout raised; signing out anyway")

    # -- used by the views ----------------------------------------------------

    def mark_used(self, token: str, expires: float, *, check_only: bool = False) -> bool:
        """Record a token used to sign in; ``False`` if it was used before (a replay).

        ``check_only`` only asks (a sign-in that may still fail must not use its token up).
        """
        digest = hashlib.sha256(token.encode()).digest()
        now = self.clock()
        with self._used.lock:
            seen = self._used.get(digest)
            if seen is not None and seen > now:
                return False
            if check_only:
                return True
            self._used[digest] = expires + self.verifier.clock_skew
            while len(self._used) > self._used.size:
                self._used.popitem(last=False)
        return True

    def confirmed(self, sid: str) -> None:
        """Clerk vouched for ``sid`` just now (a verified token at sign-in)."""
        self._confirmed.put(sid, self.clock())

    def has_ended(self, sid: str) -> bool:
        return sid in self._ended


def _unavailable() -> RequestRefused:
    """The refusal while Clerk cannot be asked: 503, ``Retry-After``, whichever resource it is."""
    return RequestRefused(UNAVAILABLE_MESSAGE, 503, error="clerk_unavailable", retry_after=CHECK_RETRY_SECONDS)
