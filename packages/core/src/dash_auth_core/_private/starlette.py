"""Starlette's private APIs and internals that dash-auth-core relies on (see :mod:`dash_auth_core._private`).

* ``Request._json``: the cache behind ``await request.json()``; Dash's
  middleware gets the guard's parse of the callback body there (the subclass
  that sets it is Dash's middleware, in :mod:`dash_auth_core._private.dash`).
* ``SessionMiddleware``'s attributes (``session_cookie``, ``max_age``,
  ``path``, ``security_flags``, ``signer``) and the ``Session`` dict's
  ``modified`` flag: the stack's session middleware keeps Starlette's
  cookie format by reusing them.
* The application's ``user_middleware``, ``middleware_stack`` and
  ``build_middleware_stack``: the guard puts itself first when the app
  builds its middleware.

Only the probes live here: these are read where they are used, on the
FastAPI adapter's hot path, and the probes fail loudly when any changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import changed, run_probes

try:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import Session, SessionMiddleware
    from starlette.requests import Request
except ImportError as exc:  # pragma: no cover - only with an unsupported Starlette
    raise changed(__name__, "starlette", f"an import failed ({exc})") from exc

__all__ = ["JSON_CACHE", "check"]

#: The attribute in which a Starlette request caches its parsed JSON.
JSON_CACHE = "_json"


def _probe_json_cache() -> bool:
    async def receive() -> dict[str, Any]:
        raise AssertionError("the cached JSON was not used: the body was read")

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []}, receive)
    marker = {"from": "the guard"}
    setattr(request, JSON_CACHE, marker)
    return asyncio.run(request.json()) is marker


def _probe_session_middleware() -> bool:
    middleware = SessionMiddleware(None, secret_key="probe-secret", max_age=60, path="/p", same_site="lax")  # type: ignore[arg-type]
    signed = middleware.signer.sign(b"x")
    session = Session({"a": 1})
    untouched = not session.modified
    session["b"] = 2
    return (
        middleware.session_cookie == "session" and middleware.max_age == 60 and middleware.path == "/p"
        and "samesite=lax" in middleware.security_flags and middleware.signer.unsign(signed) == b"x"
        and untouched and session.modified
    )


def _probe_application() -> bool:
    app = Starlette(middleware=[Middleware(SessionMiddleware, secret_key="probe-secret")])
    entry: Any = app.user_middleware[0]
    return (
        entry.cls is SessionMiddleware and entry.kwargs == {"secret_key": "probe-secret"} and entry.args == ()
        and app.middleware_stack is None and callable(app.build_middleware_stack)
    )


def check() -> list[str]:
    """What no longer holds of the Starlette internals above, one message each (empty: all hold)."""
    return run_probes(__name__, "starlette", {
        "Request._json (the cache of request.json())": _probe_json_cache,
        "SessionMiddleware's session_cookie, max_age, path, security_flags and signer; Session.modified":
            _probe_session_middleware,
        "Starlette.user_middleware, middleware_stack, build_middleware_stack; Middleware.cls/args/kwargs":
            _probe_application,
    })
