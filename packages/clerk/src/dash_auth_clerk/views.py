"""The Clerk plugin's routes: where sign-ins start and complete, and what the browser loads.

``/clerk/login``       starts a sign-in: the hosted page, the embedded one, or the app's own
``/clerk/callback``    GET: the hosted page returns here (the ``__session`` cookie, else a page
                       whose listener completes it); POST: the listener sends a session token
                       with the session's CSRF token
``/clerk/state``       the session's CSRF token, for the listener (same-origin reads only)
``/clerk/sign-in``     the built-in embedded sign-in page (``sign_in="embedded"``)
``/clerk/listener.js`` the listener script every Dash page loads with clerk-js
``/clerk/signed-out``  the app's ``logout_page``, after the browser signed out of Clerk

Logout is the stack's own CSRF-checked ``POST /logout``: the plugin's
``on_logout`` revokes the Clerk session, and the signed-out page signs the
browser out of Clerk (see :func:`.pages.signed_out_snippet`).

Pages are the package's templates (``clerk_sign_in.html``,
``clerk_callback.html``) and the core's (``error.html``,
``unavailable.html``, ``signed_out.html``), rendered through
:mod:`dash_auth_core.ui`: themed, translated, escaped, replaceable by name.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping
from typing import Any

from dash_auth_core import (
    SESSION_KEY,
    AuthStack,
    BadRequest,
    ConfigurationError,
    Identity,
    Request,
    Response,
    csrf,
    json_error,
    redirect,
    with_next,
)
from dash_auth_core.ui import error_page, render_page, translate, unavailable_page
from dash_auth_core.user_code import arity, as_response

from . import pages
from .base import NEXT_KEY, STATE_KEY, ClerkBase
from .claims import PROVIDER, user_fields
from .errors import BadCallback, ClerkError, ClerkUnavailable, LoginRefused, TokenRejected
from .sessions import ClerkSessions
from .tokens import session_cookie

log = logging.getLogger("dash_auth.clerk")


class ClerkViews:
    """The routes of one :class:`~dash_auth_clerk.base.ClerkBase` (the plugin's ``setup`` installs them)."""

    def __init__(self, plugin: ClerkBase, sessions: ClerkSessions) -> None:
        self.plugin = plugin
        self.sessions = sessions

    # -- set-up -------------------------------------------------------------

    def install(self, app: Any, auth: AuthStack) -> None:
        plugin = self.plugin
        routes = plugin.settings.routes
        self._check_pages(routes.all())
        for path in routes.all():
            if auth.has_route(path):  # before adding any: a clash leaves nothing half-registered
                raise ConfigurationError(f"two dash-auth views for {path}: give the Clerk one another route")
        plugin.stack = auth
        auth.add_route(routes.login, self.login_view, methods=("GET",), endpoint="clerk_login")
        auth.add_route(routes.callback, self.callback_view, methods=("GET", "POST"), endpoint="clerk_callback")
        auth.add_route(routes.state, self.state_view, methods=("GET",), endpoint="clerk_state")
        auth.add_route(routes.sign_in, self.sign_in_view, methods=("GET",), endpoint="clerk_sign_in")
        auth.add_route(routes.listener, self.listener_view, methods=("GET",), endpoint="clerk_listener")
        auth.add_route(routes.signed_out, self.signed_out_view, methods=("GET",), endpoint="clerk_signed_out")
        if plugin.settings.sign_in.startswith("/"):
            auth.add_public_routes([plugin.settings.sign_in])  # the app's own sign-in page
        auth.login_url = plugin.url(routes.login)
        # clerk-js and the listener on every Dash page (``window.Clerk`` for the app's own code too).
        scripts = app.config.external_scripts
        for entry in (self._clerk_js_entry(), self._listener_entry()):
            if entry not in scripts:
                scripts.append(entry)
        then = plugin.url(routes.signed_out) if plugin.settings.logout_page is not None else None
        auth.add_logout_snippet(pages.signed_out_snippet(self._clerk_js_tag(), then))

    @staticmethod
    def _check_pages(paths: tuple[str, ...]) -> None:
        import dash

        prefixes = {"/" + p.strip("/").split("/")[0] for p in paths}
        for page in dash.page_registry.values():
            for key in ("path", "path_template"):
                path = page.get(key)
                if isinstance(path, str) and any(path == p or path.startswith(p + "/") for p in prefixes):
                    raise ConfigurationError(
                        f"the page {page.get('module')!r} at {path!r} lies under the Clerk routes "
                        f"({', '.join(sorted(prefixes))}); move the page"
                    )

    def _clerk_js_entry(self) -> dict[str, str]:
        config = self.plugin.config
        return {
            "src": html.escape(config.clerk_js_url), "async": "async", "crossorigin": "anonymous",
            "data-clerk-publishable-key": html.escape(config.publishable_key), "type": "text/javascript",
        }

    def _clerk_js_tag(self) -> str:
        return pages.clerk_js_tag(self.plugin.config.clerk_js_url, self.plugin.config.publishable_key)

    def _listener_urls(self) -> dict[str, str]:
        plugin = self.plugin
        routes = plugin.settings.routes
        mode = plugin.settings.sign_in
        page = routes.sign_in if mode in ("hosted", "embedded") else mode
        return {
            "src": plugin.url(routes.listener), "callback": plugin.url(routes.callback),
            "state": plugin.url(routes.state), "sign_in": plugin.url(page),
        }

    def _listener_entry(self) -> dict[str, str]:
        urls = self._listener_urls()
        return pages.listener_attributes(urls["src"], urls["callback"], urls["state"], urls["sign_in"])

    def script_context(self) -> dict[str, Any]:
        """What ``clerk_scripts.html`` needs: clerk-js and the listener, for the plugin's own pages."""
        config = self.plugin.config
        return {"clerk_js_url": config.clerk_js_url, "publishable_key": config.publishable_key,
                "listener": self._listener_urls()}

    # -- views --------------------------------------------------------------

    def login_view(self, request: Request) -> Response:
        remembered = request.session.get(NEXT_KEY) if request.has_session_cookie else None
        target = self.plugin.next_url(request.args.get("next") or remembered)
        return redirect(self.plugin.entry_url(request, target))

    def state_view(self, request: Request) -> Response:
        body = json.dumps({"state": csrf.token(request)})
        return Response(200, body, "application/json", {"Cache-Control": "no-store"})

    def listener_view(self, request: Request) -> Response:
        return Response(200, pages.LISTENER_JS, "text/javascript; charset=utf-8", {"Cache-Control": "no-cache"})

    def sign_in_view(self, request: Request) -> Response:
        """The built-in embedded sign-in page (``clerk_sign_in.html``): Clerk's form, mounted by clerk-js."""
        return render_page(request, "clerk_sign_in.html", 200, stack=self.plugin.require_stack(), **self.script_context())

    def signed_out_view(self, request: Request) -> Response:
        """The app's ``logout_page``, once the signed-out page has signed the browser out of Clerk.

        Without one (or when it answers nothing usable) the core's signed-out
        page, without the plugins' snippets: Clerk's would come back here.
        """
        page = self.plugin.settings.logout_page
        if callable(page) and not isinstance(page, Response):
            page = page()
        response = as_response(page, "logout_page", "using the default page") if page is not None else None
        if response is None:
            response = render_page(request, "signed_out.html", 200, stack=self.plugin.require_stack(), snippets="",
                                   message_id="dash-auth-signed-out", user=None)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def callback_view(self, request: Request) -> Response:
        wants_json = "application/json" in (request.header("Accept") or "")
        if request.method == "POST":
            return self._posted(request, wants_json)
        plugin = self.plugin
        next_url = self._next(request, request.args.get("next"))
        token = session_cookie(request.cookies)
        if token:
            try:
                return self._complete(request, token, next_url, wants_json=False, method="GET")
            except TokenRejected as exc:
                # A stale cookie (clerk-js refreshes it once the page runs): the page completes it.
                log.info("Clerk callback: the __session cookie was not used (%s)", exc.reason)
            except ClerkError as exc:
                return self._failed(request, exc, wants_json, next_url)
        return render_page(request, "clerk_callback.html", 200, stack=plugin.require_stack(), **self.script_context(),
                           sign_in_url=with_next(plugin.url(plugin.settings.routes.login), next_url))

    def _posted(self, request: Request, wants_json: bool) -> Response:
        try:
            form = request.form
            token, state, next_value, page = form.get("token"), form.get("state"), form.get("next"), form.get("page")
        except BadRequest:
            token = state = next_value = page = None
        next_url = self._next(request, next_value, page)
        try:
            if not csrf.check(request, state):
                raise BadCallback(
                    "This sign-in did not come from this site's page. Reload the page and try again.",
                    reason="callback POST without this session's CSRF token, or from another origin",
                    status=403,
                )
            if not isinstance(token, str) or not token:
                raise BadCallback("The sign-in answer is incomplete.", reason="callback POST without a token")
            return self._complete(request, token, next_url, wants_json=wants_json, method="POST")
        except ClerkError as exc:
            return self._failed(request, exc, wants_json, next_url)

    def _next(self, request: Request, value: Any, page: Any = None) -> str:
        """Where to continue: ``value`` (the ``?next=`` the sign-in page was given) when it is a page
        of the app, else the page remembered when the challenge sent the browser to sign in, else
        ``page`` (the page the sign-in happened on), else the root."""
        remembered = request.session.pop(NEXT_KEY, None) if request.has_session_cookie else None
        root = self.plugin.require_stack().requests_prefix
        for candidate in (value, remembered, page):
            if not isinstance(candidate, str) or not candidate:
                continue
            target = self.plugin.next_url(candidate)
            if target != root or candidate.split("?", 1)[0] == root:
                return target  # a page of the app (the root too, when asked for by name)
        return root

    def _failed(self, request: Request, exc: ClerkError, wants_json: bool, next_url: str) -> Response:
        """A sign-in that did not complete: JSON for the listener (which shows the message), else a page.

        The message is in the user's language either way; an outage (424,
        503) gets the unavailable page with ``Retry-After``.
        """
        log.warning("Clerk sign-in refused: %s", exc.reason)
        stack = self.plugin.require_stack()
        message = translate(request, exc.message, stack)
        retry_after = 30 if isinstance(exc, ClerkUnavailable) or exc.status == 503 else None
        if wants_json:
            answer = json_error(exc.status, type(exc).__name__, message)
            if retry_after is not None:
                answer.headers["Retry-After"] = str(retry_after)
            return answer
        retry = with_next(self.plugin.url(self.plugin.settings.routes.login), next_url)
        heading = translate(request, exc.title, stack)
        if retry_after is not None:
            return unavailable_page(request, exc.status, message=message, heading=heading,
                                    retry_after=retry_after, retry_url=retry)
        return error_page(request, exc.status, message, heading=heading, retry_url=retry, retry_id="clerk-retry",
                          stack=stack)

    # -- completing a sign-in --------------------------------------------------

    def _complete(self, request: Request, token: str, next_url: str, *, wants_json: bool, method: str) -> Response:
        plugin = self.plugin
        if plugin.verifier.needs_network(token):
            request.allow_blocking()
        claims = plugin.verifier.verify(token)
        sid, user_id = claims["sid"], claims["sub"]
        if plugin.has_ended(sid):
            raise TokenRejected("This Clerk session has ended. Sign in again.", reason=f"session {sid} ended here")
        held = request.session.get(STATE_KEY) if request.has_session_cookie else None
        if method == "GET" and isinstance(held, dict) and held.get("sid") == sid:
            return redirect(next_url)  # a reload of the callback: this session is signed in already
        if not self.sessions.mark_used(token, float(claims["exp"]), check_only=True):
            raise BadCallback("This sign-in was used already. Sign in again.", reason=f"replayed token of {sid}")
        request.allow_blocking()  # users.get: the Backend API, once per login
        user = plugin.api.user(user_id)
        fields = user_fields(user)
        if fields.get("id") != user_id:
            raise TokenRejected("Clerk described another user.", reason=f"users.get({user_id!r}) answered another id")
        if fields.get("banned") or fields.get("locked"):
            raise LoginRefused("This account is locked at Clerk.", reason=f"user {user_id} is banned or locked")
        try:
            identity = plugin.identity(fields, claims, auth_time=plugin.clock())
        except Exception as exc:  # the app's user_groups failed: no login with unknown groups
            log.exception("user_groups failed for %s", user_id)
            raise ClerkError("Your groups could not be determined. Try again later.",
                             reason=f"user_groups raised {type(exc).__name__}", status=503) from None
        if not self.sessions.mark_used(token, float(claims["exp"])):
            raise BadCallback("This sign-in was used already. Sign in again.", reason=f"replayed token of {sid}")
        native = self._log_in(request, identity, user, sid)
        self.sessions.confirmed(sid)
        if plugin.settings.log_signins:
            log.info("Clerk sign-in of %s (%s), session %s", identity.id, identity.email or "-", sid)
        if wants_json:
            target = next_url
            if native is not None and native.is_redirect:
                target = native.headers.get("Location") or next_url
            return Response(200, json.dumps({"next": target}), "application/json", {"Cache-Control": "no-store"})
        return native or redirect(next_url, 303 if method == "POST" else 302)

    def _log_in(self, request: Request, identity: Identity, user: Any, sid: str) -> Response | None:
        """Start the app's session; a seed-style ``login_user_callback(user, idp)`` may write it itself."""
        stack = self.plugin.require_stack()
        session = request.session
        stack.end_replaced_login(request, identity)  # another user's login in this browser ends
        state = {"sid": sid}
        callback = self.plugin.settings.login_user_callback
        if callback is None:
            stack.login(identity, request, end_previous=False, session_data={STATE_KEY: state})
            return None
        session.clear()
        try:
            native = callback(user, PROVIDER) if arity(callback) >= 2 else callback(user)
        except BaseException:  # a refusal, or a failure: what it wrote before signs nobody in
            session.clear()
            raise
        written = session.get(SESSION_KEY)
        kept = {k: v for k, v in session.items() if k != SESSION_KEY}
        merged = {**identity.to_session(), **(dict(written) if isinstance(written, Mapping) else {})}
        merged["auth_time"] = identity.auth_time  # the login's time, whatever the callback copied
        merged["provider"] = PROVIDER
        stored = stack.login(Identity.from_session(merged) or identity, request, end_previous=False,
                             session_data={STATE_KEY: state})
        for key, value in kept.items():
            session.setdefault(key, value)
        session[SESSION_KEY] = {**merged, "groups": list(stored.groups)}
        return as_response(native, "login_user_callback", "continuing to the page asked for")

