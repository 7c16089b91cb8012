"""Clerk as a dash-auth plugin: its hooks, and the wiring of its parts.

Framework-neutral: hooks take the core's :class:`~dash_auth_core.Request` and
answer with its :class:`~dash_auth_core.Response`. What the hooks share with
the rest is :class:`~dash_auth_clerk.base.ClerkBase`; the session look-ups
behind ``authenticate`` are :mod:`.sessions`, the routes :mod:`.views`, the
browser side :mod:`.pages`; token checks live in :mod:`.tokens`, Backend API
calls in :mod:`.api`, the identity in :mod:`.claims`.
"""

from __future__ import annotations

import logging
from typing import Any

from dash_auth_core import (
    AuthResult,
    AuthStack,
    Identity,
    Request,
    Resource,
    Response,
    hookimpl,
    json_error,
    redirect,
)
from dash_auth_core.user_code import arity, as_response

from .base import STATE_KEY, ClerkBase
from .errors import ClerkError
from .sessions import BAD_BEARER, ClerkSessions
from .tokens import bearer_token
from .views import ClerkViews

log = logging.getLogger("dash_auth.clerk")


class ClerkPlugin(ClerkBase):
    """Signs browsers in with Clerk sessions, keeps them honest, and accepts Clerk tokens from scripts."""

    requires_sessions = True

    #: The session look-ups and the routes, wired in by ``setup`` (both act for an app's stack).
    sessions: ClerkSessions
    views: ClerkViews

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        self.sessions = ClerkSessions(self)
        self.views = ClerkViews(self, self.sessions)
        self.views.install(app, auth)

    @hookimpl
    def authenticate(self, request: Request) -> AuthResult:
        if self.settings.bearer_tokens and request.header("Authorization"):
            token = bearer_token(request)
            if token:
                found = self.sessions.bearer(request, token)
                if found is not None:
                    return found
        raw = request.header("Cookie")
        if not raw:
            return None
        now = self.clock()
        hit = self.identities.get(raw)
        if hit is not None and hit[1] > now and hit[2] not in self.ended_sessions:
            return hit[0]  # these cookies were checked moments ago (the cost of most requests)
        return self.sessions.browser(request, raw, now)

    @hookimpl(tryfirst=True)
    def challenge(self, request: Request, resource: Resource, reason: str, refused_by: Any) -> Response | None:
        """A refused Bearer token gets JSON 401; a browser's page without a login goes to sign in.

        Callbacks and other JSON resources (``resource.wants_json``) are left
        to the core's JSON 401 with the ``login_url`` (``None`` here), and so
        are requests with another provider's credentials.
        """
        if refused_by is self:
            bad = request.state.get(BAD_BEARER)
            if bad:
                answer = json_error(401, "invalid_token", str(bad))
                answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return answer
        if reason != "unauthenticated" or resource.wants_json or request.method not in ("GET", "HEAD"):
            return None
        if request.header("Authorization"):
            return None  # a script's credentials: let their provider answer (401, not a redirect)
        if self.login_request is not None:
            self.remember_next(request)
            custom = as_response(self.login_request(), "login_request", "continuing to the page asked for")
            if custom is not None:
                return custom
        return redirect(self.entry_url(request, self.next_url(self.browser_url(request))))

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
        self.ended_sessions.put(sid, self.clock())
        self.forget_identity(request)
        try:
            self.api.revoke(sid)
            log.info("Clerk session %s revoked", sid)
        except ClerkError as exc:
            log.warning("Clerk session %s not revoked at Clerk (it ends here all the same): %s", sid, exc.reason)

    def _before_logout(self, identity: Identity | None) -> None:
        hook = self.settings.before_logout
        if hook is None:
            return
        try:
            hook(identity) if arity(hook) >= 1 else hook()
        except Exception:  # a failing hook must not keep the user signed in
            log.exception("before_logout raised; signing out anyway")
