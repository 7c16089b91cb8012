"""What the async adapters (Quart, FastAPI) share: running the sync guard from a coroutine,
and reading headers straight from the ASGI scope.

The guard and every hook are plain functions. On an event loop they run
inline, which costs nothing, unless a hook says it is about to block
(:meth:`~dash_auth_core.backends.Request.allow_blocking` raises
:class:`~dash_auth_core.backends.WouldBlock`): then the whole guard runs again
in a worker thread and the loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._private import dash as dash_private
from ..errors import BadRequest
from . import WouldBlock

if TYPE_CHECKING:
    from ..responses import Response
    from . import GuardFunc, Request

T = TypeVar("T")
_MISSING = object()


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``func`` in the loop's worker threads, then adopt the context variables it set.

    Like :func:`asyncio.to_thread`, but what ``func`` sets (the current user)
    is visible to the caller afterwards, as if it had run inline.
    """
    ctx = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, functools.partial(ctx.run, func, *args, **kwargs))
    for var, value in ctx.items():
        if var.get(_MISSING) is not value:
            var.set(value)
    return result


async def run_guard(guard: GuardFunc, make_request: Callable[[], Request]) -> Response | None:
    """The guard's answer for a request, run inline unless a hook would block."""
    request = make_request()
    request.on_event_loop = True
    try:
        return guard(request)
    except WouldBlock:
        return await guard_in_thread(guard, make_request)


async def guard_in_thread(guard: GuardFunc, make_request: Callable[[], Request]) -> Response | None:
    """The guard's answer in a worker thread, after it raised :class:`WouldBlock` on the loop."""
    request = make_request()  # a fresh request, or the same one: no longer on the loop
    request.on_event_loop = False
    return await in_thread(guard, request)


async def dash_setup(app: Any) -> None:
    """Run Dash's first-request set-up (``dash.callback`` callbacks, the Pages router) now.

    Dash registers them in ``before_request`` functions that on FastAPI run
    after the guard (and for Quart's websockets not at all); the guard needs
    the full registry first. Each function runs once: Dash keeps the flags.
    """
    for func in dash_private.setup_functions(app):
        func = getattr(func, "runs_dash_setup", func)  # Dash's function behind the guard's wrapper
        if not dash_private.is_dash_function(func):
            continue
        result = func()
        if asyncio.iscoroutine(result):
            await result


def parse_json_body(body: bytes | None, error: BadRequest | None, is_json: bool) -> Any:
    """Parse a callback body read ahead by an async adapter, with Flask's error statuses."""
    if error is not None:
        raise error
    if not is_json:
        raise BadRequest("callback requests must be application/json", 415)
    if not body:
        raise BadRequest("request body is not valid JSON", 400)
    try:
        if body[:1] == b"{":  # what Dash's renderer sends: UTF-8 without a BOM
            return json.loads(body.decode("utf-8"))
        return json.loads(body)  # bytes: UTF-8 with a BOM, UTF-16 or UTF-32, as Flask reads them
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest("request body is not valid JSON", 400) from exc


def is_json_mimetype(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, as Flask's ``is_json`` decides."""
    if content_type == "application/json":  # what Dash's renderer sends
        return True
    if not content_type:
        return False
    mimetype = content_type.split(";", 1)[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def is_form_mimetype(content_type: str | None) -> bool:
    if not content_type:
        return False
    mimetype = content_type.split(";", 1)[0].strip().lower()
    return mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def route_path(scope: Mapping[str, Any]) -> str:
    """The path an ASGI app routes: ``scope["path"]`` less the ``root_path`` (as Starlette and Quart do).

    Servers started with a root path (``uvicorn --root-path``) and mounted
    sub-apps put it in both; the guard must judge the path that is routed.
    """
    path: str = scope["path"]
    root = scope.get("root_path")
    if not root or not path.startswith(root):
        return path
    if len(path) == len(root):
        return ""
    return path[len(root):] if path[len(root)] == "/" else path


def asgi_headers(response: Response) -> list[tuple[bytes, bytes]]:
    """A :class:`Response`'s headers as ASGI raw pairs: its content type, its headers, its repeatable ones."""
    headers = [(b"content-type", response.content_type.encode("latin-1"))]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.extra_headers]
    return headers


class ScopeHeaders(Mapping[str, str]):
    """Case-insensitive header look-ups over an ASGI scope (repeats joined).

    ASGI servers send header names in lower case. Look-ups go to one dict of
    the raw pairs (:func:`raw_headers`), and only the values asked for are
    decoded.
    """

    __slots__ = ("raw",)

    def __init__(self, scope: Mapping[str, Any], raw: dict[bytes, bytes] | None = None) -> None:
        #: Lower-case bytes names -> bytes values, repeats joined.
        self.raw: dict[bytes, bytes] = raw_headers(scope) if raw is None else raw

    def get(self, key: str, default: Any = None) -> Any:
        return header_value(self.raw, key, default)

    def __getitem__(self, key: str) -> str:
        value: str | None = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Any:
        return (name.decode("latin-1") for name in self.raw)

    def __len__(self) -> int:
        return len(self.raw)


def raw_headers(scope: Mapping[str, Any]) -> dict[bytes, bytes]:
    """An ASGI scope's headers as one dict: lower-case bytes names, bytes values, repeats joined.

    When no name repeats (the usual case), this is a single C-level ``dict()``.
    """
    pairs = scope.get("headers", ())
    raw = dict(pairs)
    return raw if len(raw) == len(pairs) else _joined(pairs)


def header_value(raw: dict[bytes, bytes], name: str, default: str | None = None) -> str | None:
    """Header ``name`` (any case) from a :func:`raw_headers` dict, decoded, or ``default``."""
    value = raw.get(_HEADER_KEYS[name])
    return default if value is None else value.decode("latin-1")


class _HeaderKeys(dict[str, bytes]):
    """Header name as asked for -> its lower-case bytes in an ASGI scope (at most 256 remembered)."""

    def __missing__(self, key: str) -> bytes:
        name = key.lower().encode("latin-1")
        if len(self) < 256:
            self[key] = name
        return name


_HEADER_KEYS = _HeaderKeys()


def _joined(pairs: Any) -> dict[bytes, bytes]:
    """Raw headers with names lower-cased and repeats joined (``; `` for cookies, ``, `` otherwise)."""
    found: dict[bytes, bytes] = {}
    for raw_name, value in pairs:
        name = bytes(raw_name).lower()
        if name in found:
            value = found[name] + (b"; " if name == b"cookie" else b", ") + value
        found[name] = bytes(value)
    return found
