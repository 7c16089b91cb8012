"""The stack's routes for pages and components.

``/_dash-auth/session``
    JSON for the Dash components (public): who is signed in (name, email,
    groups), where to sign in and out, the CSRF token of the sign-out form (for
    a signed-in session only, so no session is created for visitors) and the
    components' words in the browser's language. Never cached; other sites
    cannot read it (no CORS), so the token stays this site's.
``/_dash-auth/sign-in?next=<path>``
    Private: an anonymous browser gets the provider's challenge (a login
    page, the Basic prompt, the identity provider), which comes back here
    signed in and goes on to ``next`` (same-origin paths only). Components'
    "Sign in" links use it when no provider has a login page of its own.
``/_dash-auth/ui.css``
    The components' stylesheet with the app's theme.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import csrf
from ..context import current_user
from ..responses import Response, redirect, safe_next
from . import i18n
from .i18n import N_
from .render import stylesheet
from .settings import settings

if TYPE_CHECKING:
    from ..backends import Request
    from ..identity import Identity
    from ..stack_view import StackView

SESSION_ROUTE = "/_dash-auth/session"
SIGN_IN_ROUTE = "/_dash-auth/sign-in"
STYLESHEET_ROUTE = "/_dash-auth/ui.css"

#: The components' words (English source strings of the catalogue).
LABELS = {
    "sign_in": N_("Sign in"),
    "sign_out": N_("Sign out"),
    "groups": N_("Groups"),
}

LogoutResolver = Callable[["Request", "Identity | None"], "str | None"]


def add_logout_url(stack: StackView, resolver: LogoutResolver) -> None:
    """Let a plugin say where its logins sign out (``resolver(request, identity)`` -> URL or ``None``).

    The OIDC plugin does, so that ``LogoutButton`` ends an OIDC login at
    ``/oidc/logout`` (and the provider's end-session page), and every other
    login at the stack's ``logout_route``.
    """
    settings(stack).logout_resolvers.append(resolver)


def logout_url(stack: StackView, request: Request, identity: Identity | None) -> str:
    for resolver in settings(stack).logout_resolvers:
        found = resolver(request, identity)
        if isinstance(found, str) and found:
            return found
    return stack.url_for(stack.logout_route)


def sign_in_url(stack: StackView) -> str:
    """Where a "Sign in" link starts: the provider's login page, else the universal sign-in route."""
    return stack.login_url or stack.url_for(SIGN_IN_ROUTE)


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, json.dumps(payload), "application/json", {
        "Cache-Control": "no-store",
        "Vary": "Cookie, Authorization, Accept-Language",
        "X-Content-Type-Options": "nosniff",
    })


def install(stack: StackView) -> None:
    """Add the routes and the components' script to the app (the stack calls this once)."""

    def session_view(request: Request) -> Response:
        identity = current_user()  # the guard's verdict for this request
        found = settings(stack)
        language = i18n.choose(request, found.language, found.locale_folders)
        translations = i18n.translations(language, found.locale_folders)
        payload: dict[str, Any] = {
            "user": None,
            "login_url": sign_in_url(stack),
            "lang": language,
            "labels": {key: translations.gettext(text) for key, text in LABELS.items()},
        }
        if identity is not None:
            payload["user"] = {
                "name": identity.display_name,
                "email": identity.email,
                "groups": list(identity.groups),
            }
            payload["logout_url"] = logout_url(stack, request, identity)
            payload["csrf_field"] = csrf.FIELD
            payload["csrf_token"] = csrf.token(request)
        return _json(200, payload)

    def sign_in_view(request: Request) -> Response:
        # Reached only signed in (the route is private): on to where the link came from.
        return redirect(safe_next(request.args.get("next"), prefix=stack.requests_prefix), 303)

    def stylesheet_view(request: Request) -> Response:
        return Response(200, stylesheet(stack), "text/css; charset=utf-8", {"Cache-Control": "no-cache"})

    stack.add_route(SESSION_ROUTE, session_view, methods=("GET",), public=True, endpoint="dash_auth_session")
    stack.add_route(SIGN_IN_ROUTE, sign_in_view, methods=("GET",), public=False, endpoint="dash_auth_sign_in")
    stack.add_route(STYLESHEET_ROUTE, stylesheet_view, methods=("GET",), public=True, endpoint="dash_auth_ui_css")
    from .. import browser

    browser.install_components_script(stack.app, {
        "session": stack.url_for(SESSION_ROUTE),
        "signin": stack.url_for(SIGN_IN_ROUTE),
        "css": stack.url_for(STYLESHEET_ROUTE),
        "logout": stack.url_for(stack.logout_route),
    })
