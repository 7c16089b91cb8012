"""Server-side sessions in Flask's and Quart's session interfaces (the cookie carries an id).

Both frameworks open the session before any ``before_request`` function and
save it as the response goes out. The session object is the adapter's own
lazy class (Flask's ``SecureCookieSession``, decoded on first use), so code
that reads ``flask.session`` or ``quart.session`` sees no difference; only
where the data lives changes (see :mod:`dash_auth_core.sessions.server`).

A store outage while saving cannot raise (the framework would answer 500):
the response is replaced by a JSON 503 instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from ..sessions.cookies import CACHEABLE_METHODS, CookieChange, cookie_header
from ..sessions.records import RecordTooLarge
from ..sessions.store import StoreUnavailable

__all__ = ["RecordTooLarge", "StoreUnavailable", "apply", "cookie_settings", "not_saved", "refuse",
           "too_large"]

log = logging.getLogger("dash_auth")


def cookie_settings(interface: Any, app: Any, secure_request: bool) -> dict[str, Any]:
    """The cookie attributes the app configured, as the framework's interface reads them."""
    samesite = interface.get_cookie_samesite(app)
    return {
        "path": interface.get_cookie_path(app) or "/",
        "domain": interface.get_cookie_domain(app) or None,
        "secure": bool(interface.get_cookie_secure(app) or secure_request),
        "samesite": samesite if samesite is not None else "Lax",
    }


def apply(response: Any, name: str, change: CookieChange | None, settings: Callable[[], dict[str, Any]],
          method: str) -> None:
    """Add the ``Set-Cookie`` for ``change`` (if any, with the attributes ``settings()`` gives) to a
    Flask or Quart response to a ``method`` request, and ``Vary: Cookie`` (see :func:`vary_on_cookie`)."""
    vary_on_cookie(response, method)  # the answer depends on the session the cookie names
    if change is not None:
        response.headers.add("Set-Cookie", cookie_header(name, change, **settings()))


def vary_on_cookie(response: Any, method: str) -> None:
    """Add ``Cookie`` to the ``Vary`` of a Flask or Quart response to a ``method`` request, if a
    cache may store it.

    The response depends on the session the cookie names: a shared cache that
    stores it must not give it to a request with another cookie. Caches store
    responses to GET and HEAD; to POST only one that names a
    ``Content-Location`` (RFC 9110, section 9.3.3: a later GET of that location
    may reuse it); to other methods none. Dash's callbacks are POSTs that name
    none, so the most frequent response is spared the header.

    It reads the headers as plain tuples, without werkzeug's look-ups by name
    (a missing header raises and builds an HTTP exception).
    """
    headers = response.headers
    if method not in CACHEABLE_METHODS and (
        # (The names of its headers, lowered, in C: a callback answer comes here every time.)
        method != "POST" or "content-location" not in map(str.lower, dict(iter(headers)))
    ):
        return  # a response to POST that names no location, or to another method: no cache reuses it
    vary = None
    for key, value in headers:
        if key.lower() == "vary":
            vary = value if vary is None else f"{vary}, {value}"
    if vary is None:
        headers.add("Vary", "Cookie")
    elif "cookie" not in (token.strip().lower() for token in vary.split(",")):
        headers["Vary"] = vary + ", Cookie"  # (one line for every ``Vary`` it had)


def refuse(response: Any, exc: StoreUnavailable) -> None:
    """Turn ``response`` into the 503 of a store outage met while saving its session."""
    response.status_code = 503
    response.headers["Content-Type"] = "application/json"
    for key, value in exc.headers.items():
        response.headers[key] = value
    response.headers.pop("Set-Cookie", None)
    response.set_data(json.dumps({"error": exc.error, "message": exc.message}))


def too_large(exc: RecordTooLarge) -> None:
    log.error("a session was not saved: %s", exc)


def not_saved(response: Any, exc: StoreUnavailable | RecordTooLarge) -> None:
    """A session that could not be saved: a store outage turns ``response`` into a 503
    (:func:`refuse`); a record too large is logged (:func:`too_large`)."""
    if isinstance(exc, StoreUnavailable):
        refuse(response, exc)
    else:
        too_large(exc)
