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

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from ..sessions.records import RecordTooLarge
from ..sessions.server import CookieChange, ServerSessions, cookie_header
from ..sessions.store import StoreUnavailable

__all__ = ["RecordTooLarge", "StoreUnavailable", "apply", "cookie_settings", "cookie_value", "open_lazy", "not_saved", "refuse",
           "too_large"]

log = logging.getLogger("dash_auth")


def open_lazy(sessions: ServerSessions, session_class: type, cookie_value: str | None) -> Any:
    """A lazy session of ``session_class`` for the cookie's id, loading its record on first use."""
    session = session_class(None)
    handle = sessions.attach(session, cookie_value)
    session._loader = functools.partial(sessions.load, handle)
    return session


def cookie_settings(interface: Any, app: Any, secure_request: bool) -> dict[str, Any]:
    """The cookie attributes the app configured, as the framework's interface reads them."""
    samesite = interface.get_cookie_samesite(app)
    return {
        "path": interface.get_cookie_path(app) or "/",
        "domain": interface.get_cookie_domain(app) or None,
        "secure": bool(interface.get_cookie_secure(app) or secure_request),
        "samesite": samesite if samesite is not None else "Lax",
    }


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


def apply(response: Any, name: str, change: CookieChange | None, settings: Callable[[], dict[str, Any]]) -> None:
    """Add the ``Set-Cookie`` for ``change`` (if any, with the attributes ``settings()`` gives) to a
    Flask or Quart response, and ``Vary: Cookie``."""
    vary_on_cookie(response)  # the answer depends on the session the cookie names
    if change is not None:
        response.headers.add("Set-Cookie", cookie_header(name, change, **settings()))


def vary_on_cookie(response: Any) -> None:
    """Add ``Cookie`` to a Flask or Quart response's ``Vary`` (without parsing it into a set)."""
    headers = response.headers
    vary = headers.get("Vary")
    if not vary:
        headers["Vary"] = "Cookie"
    elif "cookie" not in vary.lower():
        headers["Vary"] = vary + ", Cookie"


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
