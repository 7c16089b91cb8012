"""The session cookie of a server-side store: reading its id from a ``Cookie`` header, writing it;
and which answers say they vary by the session cookie (any kind).

The cookie carries a session id only (see :mod:`.ids`); what the adapters
set is ``HttpOnly``, ``SameSite=Lax`` unless the app set another,
``Secure`` on HTTPS requests, and a browser-session cookie except for a
remembered login (see :mod:`.server`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

#: Methods whose answers a cache may store and reuse (RFC 9110, section 9.2.3); an answer to POST
#: only if it names a ``Content-Location`` (section 9.3.3). Only those need ``Vary: Cookie``.
CACHEABLE_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class CookieChange:
    """What the response's ``Set-Cookie`` does: set ``value`` (for ``max_age`` seconds, or for the
    browser session when ``None``), or delete the cookie when ``value`` is ``None``."""

    value: str | None
    max_age: int | None = None


def cookie_value(raw: str | None, name: str) -> str | None:
    """The first value of cookie ``name`` in a raw ``Cookie`` header, without parsing the rest.

    Session ids are plain URL-safe text (anything else is not one of ours and
    is refused by :func:`~dash_auth_core.sessions.ids.well_formed`), so they
    need no unquoting.
    """
    if not raw:
        return None
    needle = name + "="
    if raw.startswith(needle):  # the usual header: the session cookie first
        end = raw.find(";")
        return raw[len(needle):] if end < 0 else raw[len(needle):end]
    for part in raw.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None


def cookie_header(name: str, change: CookieChange, *, path: str = "/", secure: bool = False,
                  samesite: str | None = "Lax", domain: str | None = None) -> str:
    """The ``Set-Cookie`` value for ``change``."""
    parts = [f"{name}={change.value if change.value is not None else ''}", f"Path={path}"]
    if domain:
        parts.append(f"Domain={domain}")
    if change.value is None:
        parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        parts.append("Max-Age=0")
    elif change.max_age is not None:
        parts.append(f"Max-Age={change.max_age}")
        parts.append("Expires=" + time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                time.gmtime(time.time() + change.max_age)))
    parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    if samesite:
        parts.append(f"SameSite={samesite}")
    return "; ".join(parts)
