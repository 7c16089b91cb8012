"""The HTTP Basic provider as a dash-auth plugin."""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dash_auth_core import REJECT, AuthStack, Identity, Request, Resource, Response, hookimpl, html_page

from .credentials import (
    AuthFunc,
    MalformedCredentials,
    UserTable,
    call_auth_func,
    decode_header,
    nfc,
    verify_with_function,
)

log = logging.getLogger("dash_auth.basic")

UserGroups = Mapping[str, Iterable[str]] | Callable[[str], Iterable[str] | None]

FORGET_ROUTE = "/_dash-auth/basic/forget"
PROVIDER = "basic"


class BasicAuthPlugin:
    """Authenticates ``Authorization: Basic`` headers; challenges with 401."""

    requires_sessions = False

    def __init__(
        self,
        users: UserTable | None = None,
        auth_func: AuthFunc | None = None,
        user_groups: UserGroups | None = None,
        realm: str = "Dash app",
    ) -> None:
        self.realm = realm.replace('"', "'")
        self._sources: list[tuple[UserTable | None, AuthFunc | None, UserGroups | None]] = []
        self.add_source(users, auth_func, user_groups)
        # Credentials the signed-out page makes the browser cache instead of the real ones.
        self._forget_user = "signed-out"
        self._forget_password = secrets.token_urlsafe(12)
        self.stack: AuthStack | None = None

    # -- hooks ------------------------------------------------------------

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        self.stack = auth
        auth.add_route(FORGET_ROUTE, self._forget_view, methods=("GET",), public=True,
                       endpoint="dash_auth_basic_forget")
        auth.add_logout_snippet(self._forget_script(auth.url_for(FORGET_ROUTE)))

    @hookimpl
    def authenticate(self, request: Request) -> Identity | object | None:
        header = request.headers.get("Authorization")
        if not header or header[:6].lower() != "basic ":
            return None
        try:
            verified = self._verify(header)
        except MalformedCredentials:
            log.info("malformed Basic credentials on a request to %s", request.path)
            return REJECT
        if verified is None:
            log.info("Basic authentication failed for a request to %s", request.path)
            return REJECT
        username, user_groups = verified
        stored = request.session.get("user")
        if isinstance(stored, dict) and stored.get("id") == username and stored.get("provider") == PROVIDER:
            identity = Identity.from_session(stored)
            if identity is not None:
                return identity
        return self.log_in(request, username, user_groups, PROVIDER)

    @hookimpl
    def challenge(self, request: Request, resource: Resource, reason: str) -> Response | None:
        if reason != "unauthenticated":
            return None
        return html_page(
            401,
            "Sign-in required",
            "<p>This app needs a username and password.</p>",
            headers={"WWW-Authenticate": f'Basic realm="{self.realm}", charset="UTF-8"'},
        )

    def add_source(
        self, users: UserTable | None, auth_func: AuthFunc | None, user_groups: UserGroups | None
    ) -> None:
        """Accept another user table or ``auth_func`` (a second ``BasicAuth`` on the same app)."""
        if users is None and auth_func is None:
            raise ValueError("BasicAuth needs username_password_list or auth_func")
        self._sources.append((users, auth_func, user_groups))

    def log_in(self, request: Request, username: str, user_groups: UserGroups | None, provider: str) -> Identity:
        """Start a session for a verified ``username`` (groups resolved now, at login)."""
        identity = Identity(
            id=username,
            name=username,
            email=username,  # seed compatibility: restricted_users compare session["user"]["email"]
            groups=tuple(self._groups_for(username, user_groups)),
            provider=provider,
        )
        assert self.stack is not None
        self.stack.login(identity, request)
        return identity

    def verify_password(self, username: str, password: str) -> tuple[str, UserGroups | None] | None:
        """Check a username and password from a form against every source."""
        username = nfc(username)
        for users, auth_func, user_groups in self._sources:
            if users is not None:
                if users.check_password(username, password):
                    return username, user_groups
            elif auth_func is not None and call_auth_func(auth_func, username, password):
                return username, user_groups
        return None

    # -- helpers ----------------------------------------------------------

    def _verify(self, header: str) -> tuple[str, UserGroups | None] | None:
        for users, auth_func, user_groups in self._sources:
            if users is not None:
                username = users.verify(header)
            else:
                assert auth_func is not None
                username = verify_with_function(auth_func, header)
            if username is not None:
                return username, user_groups
        return None

    @staticmethod
    def _groups_for(username: str, source: UserGroups | None) -> list[str]:
        if source is None:
            return []
        groups = source(username) if callable(source) else source.get(username)
        if not groups:
            return []
        if isinstance(groups, str):
            return [groups]
        return [g for g in groups if isinstance(g, str)]

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
        # XMLHttpRequest with explicit credentials replaces the browser's cached
        # Basic credentials for this realm with harmless ones; it is the only
        # way a page can make most browsers forget them.
        token = base64.b64encode(f"{self._forget_user}:{self._forget_password}".encode()).decode()
        return (
            "<script>(function(){try{var x=new XMLHttpRequest();"
            f'x.open("GET",{url!r},true,{self._forget_user!r},{self._forget_password!r});'
            f'x.setRequestHeader("Authorization","Basic {token}");x.send();}}catch(e){{}}}})();</script>'
        )
