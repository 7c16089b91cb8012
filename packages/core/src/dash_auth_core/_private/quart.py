"""Quart's private APIs that dash-auth-core relies on (see :mod:`dash_auth_core._private`).

The request and websocket context variables (as for Flask), the cache in
which a request keeps its parsed JSON (the guard fills it, so Dash reads the
very object the guard judged), and the body's size limit (so a chunked
callback body stops buffering one byte past the stack's limit).
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from ..errors import BadRequest
from . import changed, run_probes

try:
    from quart.globals import _cv_request, _cv_websocket
    from werkzeug.exceptions import HTTPException
except ImportError as exc:  # pragma: no cover - only with an unsupported Quart
    raise changed(__name__, "quart", f"an import failed ({exc})") from exc

__all__ = ["CACHED_JSON", "check", "cv_request", "cv_websocket", "read_body"]

#: The context variables holding the request and the websocket context being handled.
cv_request: ContextVar[Any] = _cv_request
cv_websocket: ContextVar[Any] = _cv_websocket
#: The attribute in which a Quart request caches its parsed JSON: ``{silent: value}``, ``...`` if unparsed.
CACHED_JSON = "_cached_json"


async def read_body(req: Any, max_bytes: int | None, length: int | None) -> tuple[bytes | None, BadRequest | None]:
    """The whole body, at most ``max_bytes`` (413 beyond), read once and cached by Quart."""
    if max_bytes is not None:
        if length is not None and length > max_bytes:
            return None, BadRequest(f"request body is larger than {max_bytes} bytes", 413)
        body = getattr(req, "body", None)
        limit = getattr(body, "_max_content_length", None)
        if body is not None and (limit is None or limit > max_bytes):
            # Stop buffering a chunked body one byte past the limit.
            body._max_content_length = max_bytes
    try:
        data = await req.get_data(cache=True)
    except HTTPException as exc:
        status = exc.code if exc.code in (408, 413) else 400
        return None, BadRequest("request body is too large" if status == 413 else "unreadable request body", status)
    if max_bytes is not None and len(data) > max_bytes:
        return None, BadRequest(f"request body is larger than {max_bytes} bytes", 413)
    return data, None


async def _probe_request(app: Any) -> bool:
    body = b'{"probe": [1, 2, 3]}'
    async with app.test_request_context("/probe", method="POST", data=body,
                                        headers={"Content-Type": "application/json"}):
        ctx = cv_request.get()
        req = ctx.request
        cached = getattr(req, CACHED_JSON)
        if not (isinstance(cached, dict) and cached.get(False, None) is Ellipsis):
            return False
        marker = {"from": "the guard"}
        cached[False] = cached[True] = marker
        if await req.get_json() is not marker:
            return False
        return hasattr(req.body, "_max_content_length")


async def _probe_websocket(app: Any) -> bool:
    async with app.test_app():
        pass
    return isinstance(cv_websocket, ContextVar) and cv_websocket.get(None) is None


def _run(probe: Any) -> bool:
    import quart

    app = quart.Quart(__name__)
    return bool(asyncio.run(probe(app)))


def check() -> list[str]:
    """What no longer holds of the Quart private APIs above, one message each (empty: all hold)."""
    return run_probes(__name__, "quart", {
        "quart.globals._cv_request, Request._cached_json and Body._max_content_length":
            lambda: _run(_probe_request),
        "quart.globals._cv_websocket": lambda: _run(_probe_websocket),
    })
