"""An HTML login form for the same users as ``BasicAuth``.

``BasicAuth(app, users, login_form=True, secret_key=...)`` sends browsers to
``/login?next=<page>`` instead of the browser's Basic prompt. The form posts
the CSRF token of the session; a good password rotates the session and
redirects to ``next`` when it is a same-origin path inside the app, else to
the app's root. Basic headers keep working for scripts.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from dash_auth_core import (
    SESSION_KEY,
    AuthStack,
    BadRequest,
    Request,
    Resource,
    Response,
    csrf,
    hookimpl,
    redirect,
    safe_next,
    with_next,
)
from dash_auth_core.ui import error_page, render_page, translate

from .plugin import BasicAuthPlugin
from .throttle import LoginThrottle, Throttled

log = logging.getLogger("dash_auth.basic")

PROVIDER = "form"


class LoginFormPlugin:
    """Serves the login form and redirects unauthenticated page requests to it."""

    requires_sessions = True

    def __init__(self, basic: BasicAuthPlugin, route: str = "/login", throttle: LoginThrottle | None = None) -> None:
        self.basic = basic
        self.route = route
        self._throttle = throttle
        self.stack: AuthStack | None = None

    @property
    def throttle(self) -> LoginThrottle:
        """The Basic provider's (shared with the header, and replaced by a later ``BasicAuth(throttle=...)``)."""
        return self._throttle or self.basic.throttle

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        self.stack = auth
        auth.add_route(self.route, self._view, methods=("GET", "POST"), public=True, endpoint="dash_auth_login")
        auth.login_url = auth.url_for(self.route)

    @hookimpl(tryfirst=True)
    def challenge(self, request: Request, resource: Resource, reason: str) -> Response | None:
        if reason != "unauthenticated" or resource.wants_json or request.method not in ("GET", "HEAD"):
            return None
        assert self.stack is not None
        url = with_next(self.stack.login_url or "/", self._browser_url(request))
        if request.has_session_cookie and request.session.get(SESSION_KEY) is not None:
            url += "&reason=expired"  # a login the session still names, no longer valid: say so on the form
        return redirect(url)

    # -- the form ---------------------------------------------------------

    def _browser_url(self, request: Request) -> str:
        """The URL the browser asked for, as it sees it (requests prefix, query)."""
        assert self.stack is not None
        routes_prefix = self.stack.routes_prefix
        path = request.path
        # A server route outside Dash's prefix keeps its own path (``safe_next``
        # then decides whether the form may return there).
        target = self.stack.url_for(path[len(routes_prefix) - 1:]) if path.startswith(routes_prefix) else path
        query = urlencode(request.query_pairs)
        return f"{target}?{query}" if query else target

    def _next(self, value: object) -> str:
        assert self.stack is not None
        return safe_next(value, prefix=self.stack.requests_prefix)

    def _view(self, request: Request) -> Response:
        assert self.stack is not None
        if request.method == "POST":
            return self._submit(request)
        # "expired": the page script sends a session that ended while a page was open here.
        reason = "expired" if request.args.get("reason") == "expired" else None
        return self._form(request, self._next(request.args.get("next")), status=200, error=reason)

    def _form(
        self, request: Request, next_url: str, status: int, error: str | None = None,
        username: str | None = None, retry_after: float | None = None,
    ) -> Response:
        """The sign-in page (``login.html``); after a failure, with the username as typed and why."""
        assert self.stack is not None
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        return render_page(
            request, "login.html", status, stack=self.stack, headers=headers,
            action=self.stack.login_url or "", csrf_token=csrf.token(request), next_url=next_url,
            username=username[:256] if isinstance(username, str) else None, error=error,
            retry_after=None if retry_after is None else int(headers["Retry-After"]), user=None,
            remember_days=self._remember_days(),
        )

    def _remember_days(self) -> int | None:
        """Days a remembered login lasts, for the form's checkbox (``None``: the app keeps none)."""
        assert self.stack is not None
        lifetime = self.stack.remember_lifetime or 0
        return max(1, round(lifetime / 86400)) if lifetime else None

    def _submit(self, request: Request) -> Response:
        try:
            form = request.form
            username, password = form.get("username"), form.get("password")
            submitted, next_value = form.get(csrf.FIELD), form.get("next")
            remember = form.get("remember") == "1" and bool(self.stack and self.stack.remember_lifetime)
        except BadRequest as exc:
            return error_page(request, exc.status, translate(request, "The sign-in form could not be read."),
                              retry_url=self.stack.login_url if self.stack else None, stack=self.stack)
        next_url = self._next(next_value)
        typed = username if isinstance(username, str) else None
        if not csrf.check(request, submitted):
            return self._form(request, next_url, 403, "csrf", typed)
        if (not isinstance(username, str) or not isinstance(password, str) or not username or not password
                or len(username) > 256 or len(password) > 1024):
            return self._form(request, next_url, 400, "missing", typed)
        try:
            # The same counts as the Basic header's: a username at an address, and the address.
            verified = self.throttle.check(
                username, request.remote_addr, lambda: self.basic.verify_password(username, password),
                shared=self.basic._shared(),
            )
        except Throttled as exc:
            return self._form(request, next_url, 429, "too_many", typed, retry_after=exc.retry_after)
        if verified is None:
            log.info("failed sign-in on the login form from %s", request.remote_addr)
            return self._form(request, next_url, 401, "wrong_credentials", typed)
        self.basic.log_in(request, verified, PROVIDER, remember=remember)
        return redirect(next_url, 303)
