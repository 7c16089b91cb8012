"""The core's own plugin: identity from the session, and the fallback answers.

Registered into every stack before anything else. Both implementations are
``trylast`` so any provider answers first; the chain asks the session reader
only when no other plugin vouched for anyone.
"""

from __future__ import annotations

from .backends import Request
from .hookspecs import hookimpl
from .identity import SESSION_KEY, Identity
from .resources import Resource
from .responses import Response, refusal
from .sessions.lifecycle import login_holds
from .ui import pages as pages_ui


@hookimpl(trylast=True)
def authenticate(request: Request) -> Identity | None:
    """The identity a provider stored in the session at login, if still valid."""
    if not request.has_session_cookie:
        return None  # don't create (and later answer with) an empty session
    data = request.session.get(SESSION_KEY)
    if data is None:
        return None
    identity = Identity.from_session(data)
    if identity is None:
        return None
    stack = request.auth  # set by the guard; without it, no lifetime applies
    if stack is not None and not login_holds(stack, identity, request.session):
        return None  # expired, idle too long, revoked, or its user is gone
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
