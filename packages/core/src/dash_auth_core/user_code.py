"""Calling the app's own functions: the hooks and callbacks an app gives a provider as options.

Seed-library code passes them in several shapes (``user_groups(user)`` or
``user_groups(user, idp)``; ``before_logout()`` or ``before_logout(identity)``)
and answers with a framework response, an HTML string or nothing. Provider
plugins read a function's shape with :func:`arity` and its answer with
:func:`as_response`, so every provider treats the app's code alike.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from .responses import Response

__all__ = ["ANY_NUMBER", "arity", "as_response"]

log = logging.getLogger("dash_auth")

#: What :func:`arity` says of a function that takes ``*args``: as many as it is given.
ANY_NUMBER = 99

_HTML = "text/html; charset=utf-8"


def arity(func: Callable[..., Any]) -> int:
    """How many positional arguments ``func`` takes (``ANY_NUMBER`` with ``*args``; 1 when unknown)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return ANY_NUMBER
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def as_response(value: Any, what: str, otherwise: str = "continuing without it") -> Response | None:
    """The answer of the app's function ``what`` as a :class:`Response`; ``None`` when it gave none.

    Takes a :class:`Response`, an HTML string, ``(body, status)``, or a
    framework response object (Flask's ``redirect(...)`` in seed code; every
    ``Set-Cookie`` it carries is kept). Anything else is logged as an error,
    saying ``otherwise`` (what the provider does instead), and gives ``None``.
    """
    if value is None:
        return None
    if isinstance(value, Response):
        return value
    if isinstance(value, (str, bytes)):
        return Response(200, value, _HTML, {"Cache-Control": "no-store"})
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (str, bytes)) and isinstance(value[1], int):
        return Response(value[1], value[0], _HTML, {"Cache-Control": "no-store"})
    status, headers, get_data = (getattr(value, name, None) for name in ("status_code", "headers", "get_data"))
    if isinstance(status, int) and headers is not None and callable(get_data):
        copied: dict[str, str] = {}
        repeated: list[tuple[str, str]] = []
        for key, item in headers.items():
            lower = key.lower()
            if lower in ("content-length", "content-type"):
                continue
            if any(k.lower() == lower for k in copied):
                repeated.append((key, item))  # several Set-Cookie headers: keep them all
            else:
                copied[key] = item
        return Response(status, get_data(), headers.get("Content-Type") or _HTML, copied, repeated)
    log.error("%s returned %r, which is not a response; %s", what, type(value).__name__, otherwise)
    return None
