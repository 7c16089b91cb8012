"""An HTML login form for the same users as ``BasicAuth``.

``BasicAuth(app, users, login_form=True, secret_key=...)`` sends browsers to
``/login?next=<page>`` instead of the browser's Basic prompt. The form posts
the CSRF token of the session; a good password rotates the session and
redirects to ``next`` when it is a same-origin path inside the app, else to
the app's root. Basic headers keep working for scripts.
"""

from __future__ import annotations

import html
import logging
from typing import Any
from urllib.parse import urlencode

from dash_auth_core import (
    AuthStack,
    BadRequest,
    Request,
    Resource,
    Response,
    csrf,
    hookimpl,
    html_page,
    redirect,
    safe_next,
    with_next,
)

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
        return redirect(with_next(self.stack.login_url or "/", self._browser_url(request)))

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
        return self._form(request, self._next(request.args.get("next")), status=200)

    def _form(self, request: Request, next_url: str, status: int, message: str = "") -> Response:
        assert self.stack is not None
        token = csrf.token(request)
        action = self.stack.login_url or ""
        note = f'<p role="alert" style="color:#b00">{html.escape(message)}</p>' if message else ""
        return html_page(
            status,
            "Sign in",
            f'{note}<form method="post" action="{html.escape(action)}">'
            f'<input type="hidden" name="{csrf.FIELD}" value="{html.escape(token)}">'
            f'<input type="hidden" name="next" value="{html.escape(next_url)}">'
            '<p><label>Username <input name="username" id="username" autocomplete="username" required></label></p>'
            '<p><label>Password <input name="password" id="password" type="password" '
            'autocomplete="current-password" required></label></p>'
            f"{self._remember_box()}"
            '<p><button type="submit" id="login-submit">Sign in</button></p></form>',
        )

    def _remember_box(self) -> str:
        """The remember-me checkbox (when the app keeps remembered logins: ``remember_lifetime``)."""
        assert self.stack is not None
        days = (self.stack.remember_lifetime or 0) / 86400
        if not days:
            return ""
        span = f"{days:g} days" if days >= 1 else "a while"
        return ('<p><label><input type="checkbox" name="remember" value="1" id="remember"> '
                f"Keep me signed in on this device for {html.escape(span)}</label></p>")

    def _submit(self, request: Request) -> Response:
        try:
            form = request.form
            username, password = form.get("username"), form.get("password")
            submitted, next_value = form.get(csrf.FIELD), form.get("next")
            remember = form.get("remember") == "1" and bool(self.stack and self.stack.remember_lifetime)
        except BadRequest as exc:
            return html_page(exc.status, "Bad request", "<p>The sign-in form could not be read.</p>")
        next_url = self._next(next_value)
        if not csrf.check(request, submitted):
            return html_page(403, "Sign-in not accepted", "<p>This form did not come from this site. Reload and try again.</p>")
        if not isinstance(username, str) or not isinstance(password, str) or not username or len(username) > 256 or len(password) > 1024:
            return self._form(request, next_url, 400, "Enter a username and a password.")
        try:
            # The same counts as the Basic header's: a username at an address, and the address.
            verified = self.throttle.check(
                username, request.remote_addr, lambda: self.basic.verify_password(username, password),
                shared=self.basic._shared(),
            )
        except Throttled as exc:
            response = self._form(request, next_url, 429, "Too many failed sign-ins. Wait a minute and try again.")
            response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
            return response
        if verified is None:
            log.info("failed sign-in on the login form from %s", request.remote_addr)
            return self._form(request, next_url, 401, "Wrong username or password.")
        self.basic.log_in(request, verified, PROVIDER, remember=remember)
        return redirect(next_url, 303)
