"""Calling the app's own functions: the hooks and callbacks given as options.

Seed code passes them in several shapes (``user_groups(email)`` or
``user_groups(email, fields)``; ``before_logout()`` or ``before_logout(identity)``),
and answers with a Flask response, an HTML string or nothing. These two
helpers are the one place that reads a function's shape and its answer.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from dash_auth_core import Response

log = logging.getLogger("dash_auth.clerk")


def arity(func: Callable[..., Any]) -> int:
    """How many positional arguments ``func`` takes (seed-style hooks come in several shapes)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 99
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def native_response(value: Any, what: str) -> Response | None:
    """A user hook's answer as a core :class:`Response`: a ``Response``, an HTML string,
    ``(body, status)``, or a framework response object (Flask's ``redirect(...)`` in seed code)."""
    if value is None:
        return None
    if isinstance(value, Response):
        return value
    if isinstance(value, (str, bytes)):
        return Response(200, value, "text/html; charset=utf-8", {"Cache-Control": "no-store"})
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (str, bytes)) and isinstance(value[1], int):
        return Response(value[1], value[0], "text/html; charset=utf-8", {"Cache-Control": "no-store"})
    status, headers, get_data = (getattr(value, name, None) for name in ("status_code", "headers", "get_data"))
    if isinstance(status, int) and headers is not None and callable(get_data):
        copied: dict[str, str] = {}
        repeated: list[tuple[str, str]] = []
        for key, item in headers.items():
            if key.lower() in ("content-length", "content-type"):
                continue
            if any(k.lower() == key.lower() for k in copied):
                repeated.append((key, item))  # several Set-Cookie headers: keep them all
            else:
                copied[key] = item
        return Response(status, get_data(), headers.get("Content-Type") or "text/html; charset=utf-8", copied, repeated)
    log.error("%s returned %r, which is not a response; continuing to the page asked for", what, type(value).__name__)
    return None
