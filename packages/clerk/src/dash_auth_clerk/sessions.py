"""Which Clerk session a request holds, and whether it still holds: the look-ups behind ``authenticate``.

A browser login is the app's own session (``session_lifetime``), started by
the callback route from a verified Clerk session token. While it lasts, each
request (after the first with a given ``Cookie`` header, which is remembered)
checks that the browser's ``__session`` cookie still names that Clerk session:
clerk-js drops the cookie when the browser signs out of Clerk, and replaces it
when another user signs in, and the app login ends at once. Every
``session_check_interval`` seconds the session's status is asked of Clerk
(``sessions.get``), so a session revoked elsewhere (the dashboard, another
device, a sign-out everywhere) ends within that time.

Scripts send a session token as ``Authorization: Bearer``: verified on every
new token (remembered until it expires), nothing stored.

Everything here is per process: what Clerk last said of a session, the
tokens used to sign in (a replayed callback is refused), the user records
fetched for Bearer tokens. The remembered ``Cookie`` headers and the sessions
that ended here are :class:`~dash_auth_clerk.base.ClerkBase`'s: the plugin's
``authenticate`` answers most requests from them without calling in here.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from dash_auth_core import (
    REJECT,
    SESSION_KEY,
    AuthResult,
    Identity,
    Reject,
    Request,
    RequestRefused,
)

from .api import LIVE_STATUSES
from .base import CACHE_SIZE, STATE_KEY, Bounded, ClerkBase
from .claims import user_fields
from .errors import ClerkRefused, ClerkUnavailable, TokenRejected
from .tokens import peek, session_cookie

log = logging.getLogger("dash_auth.clerk")

#: How long a verified ``Cookie`` header's identity is reused at most (seconds).
IDENTITY_CACHE_SECONDS = 300.0
#: How long a user record fetched for Bearer tokens is reused (seconds).
USER_CACHE_SECONDS = 300.0
#: After a session check could not reach Clerk, wait this long before asking again (seconds).
CHECK_RETRY_SECONDS = 15.0
#: ``request.state`` key: why a Bearer token was refused (the plugin's ``challenge`` answers with it).
BAD_BEARER = "dash_auth_clerk.bad_bearer"
#: What a request gets while Clerk cannot be asked (a 503 with ``Retry-After``: the unavailable
#: page for a browser's page, JSON ``{"error": "clerk_unavailable"}`` for callbacks and scripts).
UNAVAILABLE_MESSAGE = "Clerk cannot be reached to check this sign-in. Try again in a moment."


def _unavailable() -> RequestRefused:
    """The refusal while Clerk cannot be asked: 503, ``Retry-After``, whichever resource it is."""
    return RequestRefused(UNAVAILABLE_MESSAGE, 503, error="clerk_unavailable", retry_after=CHECK_RETRY_SECONDS)


class ClerkSessions:
    """What this process knows of the Clerk sessions of one :class:`~dash_auth_clerk.base.ClerkBase`."""

    def __init__(self, plugin: ClerkBase) -> None:
        self.plugin = plugin
        #: Bearer token -> (identity, valid until).
        self._bearers = Bounded()
        #: User id -> (fields of the user record, fetched at), for Bearer tokens.
        self._users = Bounded()
        #: Clerk session id -> when Clerk last said it is active (in this process).
        self._confirmed = Bounded(16 * CACHE_SIZE)
        #: Clerk session id -> when a failed check may be tried again.
        self._retry_at = Bounded()
        #: Digests of tokens used to sign in (a replayed callback is refused) -> their expiry.
        self._used = Bounded(16 * CACHE_SIZE)

    # -- browsers -----------------------------------------------------------

    def browser(self, request: Request, raw: str, now: float) -> AuthResult:
        """The identity of the Clerk login in ``request``'s session, whose ``Cookie`` header (``raw``)
        is not remembered yet (or no longer): checked, and remembered."""
        plugin = self.plugin
        if not request.has_session_cookie:
            return None
        session = request.session
        state = session.get(STATE_KEY)
        if state is None:
            return None  # not a Clerk login
        sid = state.get("sid") if type(state) is dict else None
        if not isinstance(sid, str) or not sid:
            return plugin.end_login(request, "malformed Clerk session state")
        if sid in plugin.ended_sessions:
            return plugin.end_login(request, f"Clerk session {sid} has ended")
        cookie = session_cookie(request.cookies)
        if cookie is None:
            return plugin.end_login(request, "the browser signed out of Clerk (no __session cookie)")
        claims = peek(cookie)
        if claims is None or claims.get("sid") != sid:
            return plugin.end_login(request, "the browser's Clerk session is another one now")
        identity = Identity.from_session(session.get(SESSION_KEY))
        if identity is None:
            return None
        until = now + IDENTITY_CACHE_SECONDS
        lifetime = plugin.require_stack().session_lifetime
        if lifetime and identity.auth_time:
            if now - identity.auth_time > lifetime:
                return None  # expired: the core's reader refuses it too
            until = min(until, identity.auth_time + lifetime)
        confirmed = self._confirm(request, sid, identity, now)
        if confirmed is REJECT:
            return REJECT
        if isinstance(confirmed, float):
            until = min(until, confirmed)
        plugin.identities.put(raw, (identity, until, sid))
        return identity

    def _confirm(self, request: Request, sid: str, identity: Identity, now: float) -> float | Reject | None:
        """Ask Clerk whether session ``sid`` is still active, when the last answer is old enough.

        Returns until when the answer holds (``None``: no checks configured),
        or ``REJECT`` when the session ended; raises ``RequestRefused`` (503)
        when Clerk has not been able to say for too long.
        """
        interval = self.plugin.settings.session_check_interval
        if interval is None:
            return None
        checked = self._confirmed.get(sid)
        if checked is not None and now - checked < interval:
            return float(checked + interval)
        last = checked if checked is not None else identity.auth_time
        if now < self._retry_at.get(sid, 0.0):
            return self._outage(sid, last, now, interval, "Clerk was unreachable moments ago")
        request.allow_blocking()  # a Backend API call: off the event loop, before anything changes
        try:
            status = self.plugin.api.session_status(sid)
        except ClerkRefused as exc:
            status = f"unknown ({exc.reason})"
        except ClerkUnavailable as exc:
            self._retry_at.put(sid, now + CHECK_RETRY_SECONDS)
            return self._outage(sid, last, now, interval, exc.reason)
        if status not in LIVE_STATUSES:
            self.plugin.ended_sessions.put(sid, now)
            return self.plugin.end_login(request, f"Clerk session {sid} is {status}")
        self._confirmed.put(sid, now)
        return float(now + interval)

    @staticmethod
    def _outage(sid: str, last: float, now: float, interval: float, reason: str) -> float:
        """While Clerk cannot be asked, a login confirmed within two intervals holds (briefly);
        after that the request is refused with a 503 (:class:`~dash_auth_core.RequestRefused`)."""
        if now - last < 2 * interval:
            log.warning("Clerk session %s not checked, the login holds for now: %s", sid, reason)
            return float(min(now + CHECK_RETRY_SECONDS, last + 2 * interval))
        log.warning("Clerk session %s could not be checked for too long; refused: %s", sid, reason)
        raise _unavailable()

    # -- scripts ------------------------------------------------------------

    def bearer(self, request: Request, token: str) -> AuthResult:
        """A session token sent by a script; ``None`` when it is not this instance's (another provider's)."""
        plugin = self.plugin
        now = plugin.clock()
        hit = self._bearers.get(token)
        if hit is not None and hit[1] > now and hit[2] not in plugin.ended_sessions:
            return hit[0]
        unverified = peek(token)
        if unverified is None or unverified.get("iss") != plugin.issuer:
            return None  # not a Clerk session token of this instance
        try:
            if plugin.verifier.needs_network(token):
                request.allow_blocking()
            claims = plugin.verifier.verify(token)
            if claims["sid"] in plugin.ended_sessions:
                raise TokenRejected("This Clerk session has ended.", reason=f"session {claims['sid']} ended here")
            fields = self._user_fields(request, claims["sub"], now)
        except TokenRejected as exc:
            log.info("Clerk Bearer token refused: %s", exc.reason)
            request.state[BAD_BEARER] = exc.message
            return REJECT
        except ClerkRefused as exc:
            log.info("Clerk Bearer token refused: %s", exc.reason)
            request.state[BAD_BEARER] = "Clerk does not know this user."
            return REJECT
        except ClerkUnavailable as exc:
            log.warning("Clerk Bearer token not checked: %s", exc.reason)
            raise _unavailable() from None
        iat = claims.get("iat")
        identity = plugin.identity(fields, claims, auth_time=float(iat) if isinstance(iat, (int, float)) else now)
        identity = plugin.require_stack().groups_for(identity)
        self._bearers.put(token, (identity, float(claims["exp"]), claims["sid"]))
        return identity

    def _user_fields(self, request: Request, user_id: str, now: float) -> dict[str, Any]:
        hit = self._users.get(user_id)
        if hit is not None and now - hit[1] < USER_CACHE_SECONDS:
            return hit[0]
        request.allow_blocking()
        fields = user_fields(self.plugin.api.user(user_id))
        if fields.get("id") != user_id:
            raise ClerkRefused("Clerk described another user.", reason=f"users.get({user_id!r}) answered another id")
        if fields.get("banned") or fields.get("locked"):
            raise ClerkRefused("This account is locked at Clerk.", reason=f"user {user_id} is banned or locked")
        self._users.put(user_id, (fields, now))
        return fields

    # -- sign-ins -----------------------------------------------------------

    def mark_used(self, token: str, expires: float, *, check_only: bool = False) -> bool:
        """Record a token used to sign in; ``False`` if it was used before (a replay).

        ``check_only`` only asks (a sign-in that may still fail must not use its token up).
        """
        digest = hashlib.sha256(token.encode()).digest()
        now = self.plugin.clock()
        with self._used.lock:
            seen = self._used.get(digest)
            if seen is not None and seen > now:
                return False
            if check_only:
                return True
            self._used[digest] = expires + self.plugin.verifier.clock_skew
            while len(self._used) > self._used.size:
                self._used.popitem(last=False)
        return True

    def confirmed(self, sid: str) -> None:
        """Clerk vouched for ``sid`` just now (a verified token at sign-in)."""
        self._confirmed.put(sid, self.plugin.clock())
