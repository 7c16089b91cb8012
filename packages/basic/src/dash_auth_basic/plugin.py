"""The HTTP Basic provider as a dash-auth plugin."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from time import monotonic
from typing import Any

from dash_auth_core import (
    REJECT,
    AuthResult,
    AuthStack,
    Identity,
    Request,
    RequestRefused,
    Resource,
    Response,
    hookimpl,
)
from dash_auth_core.ui import sign_in_required_page

from .credentials import (
    AuthFunc,
    MalformedCredentials,
    UserTable,
    call_auth_func,
    decode_header,
    nfc,
    verify_with_function,
)
from .throttle import LoginThrottle, Throttled

log = logging.getLogger("dash_auth.basic")


FORGET_ROUTE = "/_dash-auth/basic/forget"
IDENTITY_CACHE_SIZE = 1024
PROVIDER = "basic"


class BasicAuthPlugin:
    """Authenticates ``Authorization: Basic`` headers; challenges with 401.

    A verified header's identity is remembered for ``identity_ttl`` seconds
    (groups from ``user_groups`` are re-resolved after that, at the next login).
    """

    requires_sessions = False

    def __init__(
        self,
        users: UserTable | None = None,
        auth_func: AuthFunc | None = None,
        realm: str = "Dash app",
        identity_ttl: float = 300.0,
    ) -> None:
        self.realm = realm.replace('"', "'")
        # Verified header -> (identity, expiry): a signed-in request costs one dict
        # lookup and touches neither the password hash nor the session. The keys
        # are header values the server holds anyway while it handles each request
        # (at most IDENTITY_CACHE_SIZE of them, each for identity_ttl seconds); a
        # fast digest of them would not protect a weak password from anyone who
        # can read this process's memory, and would cost more than the lookup.
        self.identity_ttl = identity_ttl
        # header -> (identity, expiry, the live user mapping or None, its key, the value verified against);
        # looked up with the request's header as it came, ``None`` when there is none (a miss).
        self._identities: OrderedDict[str | None, tuple[Identity, float, Any, str, object]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0  # bumped by forget()
        self._sources: list[tuple[UserTable | None, AuthFunc | None]] = []
        self.add_source(users, auth_func)
        # Credentials the signed-out page makes the browser cache instead of the real ones.
        self._forget_user = "signed-out"
        self._forget_password = secrets.token_urlsafe(12)
        #: Slows down password guessing through the header (shared with the login form).
        self.throttle = LoginThrottle()
        self.stack: AuthStack | None = None

    # -- hooks ------------------------------------------------------------

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        self.stack = auth
        # A login read from a session ends when its user leaves the table the app passed.
        auth.add_login_check(PROVIDER, self._login_check)
        auth.add_login_check("form", self._login_check)
        auth.add_route(FORGET_ROUTE, self._forget_view, methods=("GET",), public=True,
                       endpoint="dash_auth_basic_forget")
        auth.add_logout_snippet(self._forget_script(auth.url_for(FORGET_ROUTE)))

    @hookimpl
    def authenticate(self, request: Request) -> AuthResult:
        header = request.header("Authorization")
        # Only verified "Basic" headers are cached: no header, or another scheme, misses.
        cached = self._identities.get(header)
        if cached is not None and cached[1] > monotonic():
            # Still valid unless the app's user mapping changed that user (removed,
            # new password) or the login was revoked since (forget(), revoke_user).
            # A client without a session (a script) is served without writing one.
            table = cached[2]
            if table is None or table.get(cached[3]) is cached[4]:
                marks = self.stack.shared_state.marks  # type: ignore[union-attr] # set up before any request
                if not marks or not self._revoked(cached[0]):
                    return cached[0]
        if not header or (
            not header.startswith("Basic ") and header[:6].lower() != "basic " and header.strip().lower() != "basic"
        ):
            return None  # another scheme: not ours (a bare "Basic" is ours, and malformed)
        # Hashing a password (or calling auth_func) blocks: on Quart and FastAPI
        # this moves the guard off the event loop (nothing was changed so far).
        request.allow_blocking()
        generation = self._generation
        username = self._header_username(header)
        # The login this browser's session holds, if any (a script sends no session cookie).
        stored = request.session.get("user") if request.has_session_cookie else None
        if not isinstance(stored, dict) or stored.get("provider") not in (PROVIDER, "form"):
            stored = None
        try:
            verified = self.throttle.check(
                username, request.remote_addr, lambda: self._verify_once(header), shared=self._shared(),
                # A browser signed in as this user proves its password again: others'
                # failures at a shared address do not lock it out.
                count_address=not (username and stored is not None and stored.get("id") == nfc(username)),
            )
        except Throttled as exc:
            log.warning("Basic credentials refused without checking: too many failures (%s)",
                        self.throttle.keys(username, request.remote_addr)[0])
            retry = int(exc.retry_after) + 1
            raise RequestRefused(
                f"too many failed sign-ins; try again in {retry} s", 429, retry_after=retry
            ) from None
        if verified is None:
            log.info("Basic authentication failed for a request to %s", request.path)
            return REJECT
        identity = None
        if stored is not None and stored.get("id") == verified and stored.get("provider") == PROVIDER:
            identity = Identity.from_session(stored)
            # Kept only while the session's own lifetime lasts: a new login re-reads user_groups.
            lifetime = self.stack.session_lifetime if self.stack is not None else None
            if identity is not None and (
                (lifetime and time.time() - (identity.auth_time or 0) > lifetime) or self._revoked(identity)
            ):
                identity = None
        if identity is None:
            identity = self.log_in(request, verified, PROVIDER)
        live, key, value = self._verified_against(verified)
        with self._lock:
            if generation == self._generation:
                self._identities[header] = (identity, monotonic() + self.identity_ttl, live, key, value)
                while len(self._identities) > IDENTITY_CACHE_SIZE:
                    self._identities.popitem(last=False)
        return identity

    @hookimpl
    def challenge(self, request: Request, resource: Resource, reason: str) -> Response | None:
        if reason != "unauthenticated" or resource.wants_json:
            return None  # callbacks get the core's JSON 401: no browser prompt for a script's call
        return sign_in_required_page(
            request, basic=True,
            headers={"WWW-Authenticate": f'Basic realm="{self.realm}", charset="UTF-8"'},
        )

    def forget(self, username: str | None = None) -> None:
        """Drop verified headers (``username``'s, or all) so they are checked again; with a
        ``username``, end that user's logins too (sessions included, on every worker that
        shares the session store)."""
        with self._lock:
            self._generation += 1  # a check under way now must not cache what it verified
            if username is None:
                self._identities.clear()
            else:
                name = nfc(username)
                for header in [h for h, entry in self._identities.items() if entry[0].id == name]:
                    del self._identities[header]
        if username is not None and self.stack is not None:
            self.stack.revoke(nfc(username))

    def _revoked(self, identity: Identity) -> bool:
        stack = self.stack
        return stack is not None and stack.is_revoked(identity)

    def _login_check(self, identity: Identity) -> bool:
        # The usual case first: one live table (a dict), holding the user under their own name.
        live = self._single_live
        if live is not None and live.get(identity.id) is not None:
            return True
        return self.still_a_user(identity)

    def still_a_user(self, identity: Identity) -> bool:
        """Whether a user signed in here is still in the tables the app passed (``True`` when a
        source cannot tell: an ``auth_func``)."""
        return any(users is None or users.raw(identity.id) is not None for users, _auth_func in self._sources)

    def _verified_against(self, username: str) -> tuple[Any, str, object]:
        """The live mapping that holds ``username``, its key there and its value (``None``s if none)."""
        for users, _auth_func in self._sources:
            if users is not None and users.live is not None:
                value = users.raw(username)
                if value is not None:
                    return users.live, users.key(username), value
        return None, "", None

    def _shared(self) -> Any:
        """The shared state the throttle counts in (``None``: this process's own)."""
        stack = self.stack
        state = stack.shared_state if stack is not None else None
        return state if state is not None and state.shared else None

    def add_source(self, users: UserTable | None, auth_func: AuthFunc | None) -> None:
        """Accept another user table or ``auth_func`` (a second ``BasicAuth`` on the same app)."""
        if users is None and auth_func is None:
            raise ValueError("BasicAuth needs username_password_list or auth_func")
        self._sources.append((users, auth_func))
        #: The app's dict when it is the only source (the login check's fast path).
        only = self._sources[0][0] if len(self._sources) == 1 else None
        self._single_live = only.live if only is not None else None

    def log_in(self, request: Request, username: str, provider: str, remember: bool = False) -> Identity:
        """Start a session for a verified ``username``; the stack adds ``user_groups``."""
        identity = Identity(
            id=username,
            name=username,
            email=username,  # seed compatibility: restricted_users compare session["user"]["email"]
            provider=provider,
        )
        assert self.stack is not None
        return self.stack.login(identity, request, remember=remember)

    def verify_password(self, username: str, password: str) -> str | None:
        """The username if a form's username and password match any source."""
        username = nfc(username)
        for users, auth_func in self._sources:
            if users is not None:
                if users.check_password(username, password):
                    return username
            elif auth_func is not None and call_auth_func(auth_func, username, password):
                return username
        return None

    # -- helpers ----------------------------------------------------------

    @staticmethod
    def _header_username(header: str) -> str:
        """The username a Basic header names, for counting failures ("" if unreadable)."""
        try:
            return decode_header(header).partition(":")[0]
        except MalformedCredentials:
            return ""

    def _verify_once(self, header: str) -> str | None:
        """The header's username if it verifies (or a parallel request just verified it)."""
        cached = self._identities.get(header)
        if (
            cached is not None and cached[1] > monotonic() and not self._revoked(cached[0])
            and (cached[2] is None or cached[2].get(cached[3]) is cached[4])
        ):
            return cached[0].id
        try:
            return self._verify(header)
        except MalformedCredentials:
            log.info("malformed Basic credentials")
            return None

    def _verify(self, header: str) -> str | None:
        for users, auth_func in self._sources:
            if users is not None:
                username = users.verify(header)
            else:
                assert auth_func is not None
                username = verify_with_function(auth_func, header)
            if username is not None:
                return username
        return None

    def _forget_view(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        try:
            text = decode_header(header)
        except MalformedCredentials:
            text = ""
        if text == f"{self._forget_user}:{self._forget_password}":
            return Response(200, "signed out", headers={"Cache-Control": "no-store"})
        return Response(
            401,
            "",
            headers={"WWW-Authenticate": f'Basic realm="{self.realm}"', "Cache-Control": "no-store"},
        )

    def _forget_script(self, url: str) -> str:
        # An XMLHttpRequest with credentials given to open() answers the forget
        # route's 401 with harmless credentials, and the browser then caches those
        # for this realm instead of the real ones: the only way a page can make
        # most browsers forget Basic credentials.
        return (
            "<script>(function(){try{var x=new XMLHttpRequest();"
            f'x.open("GET",{json.dumps(url)},true,{json.dumps(self._forget_user)},{json.dumps(self._forget_password)});'
            "x.send();}catch(e){}})();</script>"
        )
