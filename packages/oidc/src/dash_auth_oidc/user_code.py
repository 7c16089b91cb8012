"""Calling the app's own functions: the hooks and callbacks given as options.

Seed code passes them in several shapes (``user_groups(user)`` or
``user_groups(user, idp)``; ``before_logout()`` or ``before_logout(identity)``),
and answers with a Flask response, an HTML string or nothing. These two
helpers are the one place that reads a function's shape and its answer.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from dash_auth_core import Response

log = logging.getLogger("dash_auth.oidc")

#: What :func:`arity` says of a function that takes ``*args``: as many as it is given.
ANY_NUMBER = 99


def arity(func: Callable[..., Any]) -> int:
    """How many positional arguments ``func`` takes (``ANY_NUMBER`` with ``*args``; 1 when unknown)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return ANY_NUMBER
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def coerce_response(value: Any, what: str) -> Response | None:
    """A user hook's return value as a core :class:`Response` (``None`` when it returned nothing).

    Accepts a :class:`Response`, an HTML string, ``(body, status)``, or a
    framework response object (Flask's ``redirect(...)`` from seed code).
    """
    if value is None:
        return None
    if isinstance(value, Response):
        return value
    if isinstance(value, (str, bytes)):
        return Response(200, value, "text/html; charset=utf-8", {"Cache-Control": "no-store"})
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (str, bytes)) and isinstance(value[1], int):
        return Response(value[1], value[0], "text/html; charset=utf-8", {"Cache-Control": "no-store"})
    status = getattr(value, "status_code", None)
    headers = getattr(value, "headers", None)
    get_data = getattr(value, "get_data", None)
    if isinstance(status, int) and headers is not None and callable(get_data):
        copied: dict[str, str] = {}
        repeated: list[tuple[str, str]] = []
        for key, item in headers.items():
            lower = key.lower()
            if lower in ("content-length", "content-type"):
                continue
            if lower in (k.lower() for k in copied):
                repeated.append((key, item))  # several Set-Cookie headers, say: keep them all
                continue
            copied[key] = item
        content_type = headers.get("Content-Type") or "text/html; charset=utf-8"
        return Response(status, get_data(), content_type, copied, repeated)
    log.error("%s returned %r, which is not a response; using the default redirect", what, type(value).__name__)
    return None
