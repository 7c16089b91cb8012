"""The FastAPI adapter (``Dash(backend="fastapi")``): a pure ASGI middleware around everything.

Dash's ``before_request`` functions on FastAPI cannot refuse a request and
see only ``/`` and ``/_dash-*``, so the guard is an ASGI middleware of its
own. It is put first in the app's middleware when the app builds its stack
(right inside Starlette's error handler), so it sees every HTTP path and
every WebSocket scope, including those of middleware the user adds later:

* callback bodies (and form posts) are read once, judged, and replayed to
  Dash unchanged; Dash's middleware gets the guard's parse of the same bytes
  rather than parsing them again;
* sessions are Starlette's ``SessionMiddleware``, put just outside the guard:
  the one the user added (moved there, with the user's settings), or ours,
  signed with the stack's secret, ``Secure`` on HTTPS requests;
* FastAPI's ``/docs``, ``/redoc`` and ``/openapi.json`` are ordinary paths to
  the guard: they need a signed-in user unless made public (or switched off
  with ``FastAPI(docs_url=None, redoc_url=None, openapi_url=None)``);
* Dash's callback WebSocket is handled by :mod:`dash_auth_core.websocket`.

The package: :mod:`.request` (a request over an ASGI scope), :mod:`.middleware`
(the guard, the sessions, the callback socket) and :mod:`.adapter`.
"""

from __future__ import annotations

from .adapter import FastAPIAdapter, starlette_path, to_starlette
from .middleware import GuardMiddleware, LazySession, ServerCookieSessions, SessionCookieMiddleware
from .request import FastAPIRequest, Handling, _handling, parse_form, read_body, replay, send_response

__all__ = [
    "FastAPIAdapter",
    "FastAPIRequest",
    "GuardMiddleware",
    "Handling",
    "LazySession",
    "ServerCookieSessions",
    "SessionCookieMiddleware",
    "_handling",
    "parse_form",
    "read_body",
    "replay",
    "send_response",
    "starlette_path",
    "to_starlette",
]
