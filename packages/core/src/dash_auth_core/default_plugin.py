"""The core's own plugin: identity from the session, and the fallback answers.

Registered into every stack before anything else. Both implementations are
``trylast`` so any provider answers first; the chain asks the session reader
only when no other plugin vouched for anyone.
"""

from __future__ import annotations

import time

from .backends import Request
from .hookspecs import hookimpl
from .identity import SESSION_KEY, Identity
from .resources import Resource
from .responses import Response, refusal
from .sessions import logins
from .sessions.cookies import CACHEABLE_METHODS
from .sessions.lifecycle import holds_until, login_holds, still_holds
from .sessions.server import HANDLE
from .ui import pages as pages_ui

_time = time.time


@hookimpl(trylast=True)
def authenticate(request: Request) -> Identity | None:
    """The identity a provider stored in the session at login, if still valid."""
    stack = request.auth  # set by the guard; without it, no lifetime applies
    # A session seen before, by what holds it: the signed cookie, or the store's record as read.
    # Its login, without decoding it again.
    if stack is not None and stack.session_store is not None:
        handle = getattr(request.session, HANDLE, None)
        raw: str | bytes | None = handle.raw if handle is not None else None
        if raw is None and not request.has_session_cookie:  # (a record read implies its cookie)
            return None
    elif not request.has_session_cookie:
        return None  # don't create (and later answer with) an empty session
    elif stack is None:
        return Identity.from_session(request.session.get(SESSION_KEY))
    else:
        raw = request.header("Cookie")
    hit: tuple[Identity, float] | None = stack.session_logins.get(raw) if raw else None
    if hit is not None and hit[1] > _time() and still_holds(stack, hit[0]):
        if request.method in CACHEABLE_METHODS and stack.session_store is None:
            # A page, which a cache may store: read the signed session as the framework sees it,
            # so that its answer says it varies by cookie (a stored session's save step says so).
            request.session.get(SESSION_KEY)
        return hit[0]
    session = request.session
    identity = Identity.from_session(session.get(SESSION_KEY))
    if identity is None:
        return None
    now = _time()
    until = holds_until(stack, identity, session) if raw else None  # before login_holds stamps
    if not login_holds(stack, identity, session, now):
        return None  # expired, idle too long, revoked, or its user is gone
    if raw:
        until = now + logins.SECONDS if until is None else min(until, now + logins.SECONDS)
        if until > now:
            stack.session_logins.put(raw, identity, until)
    return identity


@hookimpl(trylast=True)
def challenge(request: Request, resource: Resource, reason: str) -> Response:
    """A JSON 401/403 for callbacks, a plain 401 or 403 page otherwise, when no provider offers a login."""
    if resource.wants_json:
        stack = request.auth
        return refusal(resource, reason, stack.login_url if stack is not None else None)
    if reason == "forbidden":
        return pages_ui.forbidden_page(request, resource)
    return pages_ui.sign_in_required_page(request)
