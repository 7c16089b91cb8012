"""What the Clerk plugin's hooks, session look-ups and views share.

:class:`ClerkBase` holds the plugin's parts (Clerk's keys, the app's options,
the Backend API, the token verifier, the clock, the app's stack) and answers
the questions every flow asks: which URL, where to go after signing in, which
identity a user record makes. :class:`~dash_auth_clerk.plugin.ClerkPlugin`
adds the hooks on top and wires in :class:`~dash_auth_clerk.sessions.ClerkSessions`
and :class:`~dash_auth_clerk.views.ClerkViews`, which take this class (never
the plugin), so no module of the package imports the one above it.

Session layout of a Clerk login::

    session["user"]        the core identity (or what a login_user_callback wrote)
    session["_clerk"]      {"sid": the Clerk session id}
    session["_clerk_next"] the page asked for, while an app-made sign-in page is shown
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from dash_auth_core import (
    LOGIN_ENDED,
    REJECT,
    SESSION_KEY,
    AuthStack,
    ConfigurationError,
    Identity,
    Reject,
    Request,
    safe_next,
    with_next,
)

from .api import BackendAPI
from .claims import build_identity
from .config import ClerkConfig
from .settings import ClerkSettings
from .tokens import Verifier

log = logging.getLogger("dash_auth.clerk")

#: The session key of a Clerk login.
STATE_KEY = "_clerk"
#: Where a page asked for is remembered while the user is on an app-made sign-in page.
NEXT_KEY = "_clerk_next"
MAX_NEXT_LENGTH = 1024
CACHE_SIZE = 2048


def wants_html(request: Request) -> bool:
    """Whether a browser asked for a page (not an image or a script fetched by one)."""
    accept = request.header("Accept")
    return not accept or "text/html" in accept or accept.strip() == "*/*"


class Bounded(OrderedDict[Any, Any]):
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


class ClerkBase:
    """The Clerk plugin's parts, URLs and identities (its hooks are :class:`ClerkPlugin`'s)."""

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
        #: Set by a seed-style ``ClerkAuth`` subclass that overrides ``login_request``.
        self.login_request: Callable[[], Any] | None = None
        #: Cookie header -> (identity, valid until, Clerk session id): see ``ClerkPlugin.authenticate``.
        self.identities = Bounded()
        #: Clerk session ids whose login ended here (signed out, revoked): never accepted again.
        self.ended_sessions = Bounded(16 * CACHE_SIZE)

    def identity(self, fields: dict[str, Any], claims: dict[str, Any], *, auth_time: float) -> Identity:
        settings = self.settings
        return build_identity(
            fields, claims,
            user_groups=settings.user_groups,
            organization_groups=settings.organization_groups,
            metadata_groups_key=settings.metadata_groups_key,
            auth_time=auth_time,
        )

    # -- URLs ---------------------------------------------------------------

    def require_stack(self) -> AuthStack:
        if self.stack is None:
            raise ConfigurationError("the Clerk plugin is not part of an app's stack yet")
        return self.stack

    def url(self, route: str) -> str:
        """The browser-visible URL of an app path (with ``requests_pathname_prefix``)."""
        return self.require_stack().url_for(route)

    def next_url(self, value: Any) -> str:
        """A safe ``next`` inside the app, short enough to keep, and never a sign-in page."""
        root = self.require_stack().requests_prefix
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
        if next_url != self.require_stack().requests_prefix and wants_html(request):
            # An app-made page may lose ?next= on the way (a favicon fetch is not a page asked for).
            request.session[NEXT_KEY] = next_url
        page = self.settings.routes.sign_in if mode == "embedded" else mode
        return with_next(self.url(page), next_url)

    def browser_url(self, request: Request) -> str:
        """The URL the browser asked for, as it sees it (requests prefix and query)."""
        stack = self.require_stack()
        prefix = stack.routes_prefix
        path = request.path
        rel = path[len(prefix) - 1:] if path.startswith(prefix) else path
        query = urlencode(list(request.args.items()))
        target = stack.url_for(rel)
        return f"{target}?{query}" if query else target

    def remember_next(self, request: Request) -> None:
        """Keep the page ``request`` asked for in its session, for after the sign-in."""
        target = self.next_url(self.browser_url(request))
        if target != self.require_stack().requests_prefix and wants_html(request):
            request.session[NEXT_KEY] = target

    # -- the end of a login ---------------------------------------------------

    def end_login(self, request: Request, reason: str) -> Reject:
        """End this request's Clerk login: the session is cleared, open sockets close, ``REJECT``."""
        log.info("Clerk login ended, the user must sign in again: %s", reason)
        request.state[LOGIN_ENDED] = True
        ended = Identity.from_session(request.session.get(SESSION_KEY)) if request.has_session_cookie else None
        if ended is not None:
            self.require_stack().close_sockets(ended)
        self.forget_identity(request)
        request.clear_session()
        return REJECT

    def forget_identity(self, request: Request) -> None:
        """Forget the identity remembered for ``request``'s ``Cookie`` header."""
        raw = request.header("Cookie")
        if raw:
            with self.identities.lock:
                self.identities.pop(raw, None)

    def has_ended(self, sid: str) -> bool:
        return sid in self.ended_sessions
