"""Cross-site request forgery protection for the stack's own forms.

A random token lives in the session and in the form; a POST must carry the
same token and, when the browser says where it comes from (``Origin`` or
``Referer``), come from this host.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from .backends import Request

_SESSION_KEY = "_dash_auth_csrf"
FIELD = "csrf_token"


def token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    value = request.session.get(_SESSION_KEY)
    if not isinstance(value, str) or len(value) < 32:
        value = secrets.token_urlsafe(32)
        request.session[_SESSION_KEY] = value
    return value


def same_origin(request: Request) -> bool:
    """False when ``Origin``/``Referer`` names another host (absent headers pass)."""
    origin = request.headers.get("Origin")
    if origin == "null":
        return False
    if origin is None:
        origin = request.headers.get("Referer")
        if origin is None:
            return True
    try:
        parts = urlsplit(origin)
    except ValueError:  # "http://[": not a URL, so not this site
        return False
    return parts.netloc == request.host and parts.scheme == request.scheme


def check(request: Request, submitted: object) -> bool:
    """Whether a POST carries this session's token and comes from this origin."""
    expected = request.session.get(_SESSION_KEY)
    if not isinstance(expected, str) or not isinstance(submitted, str):
        return False
    if not hmac.compare_digest(expected.encode(), submitted.encode()):
        return False
    return same_origin(request)
