"""Framework-neutral answers the guard and hooks give.

Hooks return a :class:`Response`; the backend adapter turns it into a Flask,
Quart or Starlette response. Provider code never builds framework objects.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from .resources import Resource


@dataclass
class Response:
    """Status, headers and body of an answer."""

    status: int
    body: str | bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    #: Headers that may repeat (several ``Set-Cookie``), added after ``headers``.
    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_json(self) -> bool:
        return self.content_type.startswith("application/json")

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400


_NO_STORE = {"Cache-Control": "no-store"}


def json_error(status: int, error: str, message: str, **extra: Any) -> Response:
    """A JSON error body: ``{"error": ..., "message": ..., **extra}``."""
    payload = {"error": error, "message": message, **extra}
    return Response(
        status, json.dumps(payload), "application/json", dict(_NO_STORE)
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}
h1{{font-size:1.4rem}}button{{font-size:1rem;padding:.4rem 1rem}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"""


def html_page(status: int, title: str, body_html: str, headers: dict[str, str] | None = None) -> Response:
    """A small self-contained HTML page; ``title`` is escaped, ``body_html`` is not."""
    text = _PAGE.format(title=html.escape(title), body=body_html)
    return Response(
        status, text, "text/html; charset=utf-8", {**_NO_STORE, **(headers or {})}
    )


#: What a ``Location`` keeps as it is: URL syntax and existing escapes (the rest is percent-encoded).
_LOCATION_SAFE = "/?#[]@!$&'()*+,;=:%~-._"


def redirect(location: str, status: int = 302) -> Response:
    """A redirect; ``location`` must already be safe (see :func:`safe_next`).

    Characters outside URL syntax (``/résumé``) are percent-encoded: header
    values are Latin-1 on the wire, and ASGI servers refuse anything else.
    """
    if not (location.isascii() and location.isprintable()) or " " in location:
        location = quote(location, safe=_LOCATION_SAFE)
    return Response(status, b"", "text/plain; charset=utf-8", {"Location": location, **_NO_STORE})


_FORBIDDEN_NEXT_CHARS = frozenset("\\\r\n\t\x00")


def safe_next(target: Any, prefix: str = "/", default: str | None = None) -> str:
    """Return ``target`` if it is a same-origin relative path under ``prefix``.

    Anything else (absolute URLs, scheme-relative ``//host``, backslashes,
    control characters, paths outside the app) falls back to ``default``,
    which is the app root (``prefix``) unless given.
    """
    fallback = prefix if default is None else default
    if not isinstance(target, str) or not target or len(target) > 2048:
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    if any(ch in _FORBIDDEN_NEXT_CHARS or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    segments = unquote(parts.path).split("/")
    if any(segment in (".", "..") for segment in segments):
        return fallback  # browsers resolve dot segments, which could leave the prefix
    root = prefix.rstrip("/")
    if root and not (parts.path == root or parts.path.startswith(root + "/")):
        return fallback
    return target


def with_next(url: str, next_path: str) -> str:
    """Append ``?next=`` (or ``&next=``) to ``url``."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}next={quote(next_path, safe='/')}"


def refusal(resource: Resource, reason: str, login_url: str | None = None) -> Response:
    """The core's own answer to a refusal: JSON for JSON resources, else a plain page."""
    if resource.wants_json:
        if reason == "unauthenticated":
            extra = {"login_url": login_url} if login_url else {}
            return json_error(401, "unauthenticated", "sign in to use this", **extra)
        return json_error(403, "forbidden", "you are not allowed to use this")
    if reason == "forbidden":
        return html_page(
            403,
            "Forbidden",
            f"<p>You are signed in but not allowed to open <code>{html.escape(resource.name)}</code>.</p>",
        )
    return html_page(401, "Sign-in required", "<p>You need to sign in to open this page.</p>")
