"""Flask's private APIs that dash-auth-core relies on (see :mod:`dash_auth_core._private`).

The request context variable: the guard takes the request context itself
(one C-level ``ContextVar.get``) instead of going through werkzeug's proxy,
and that context is the key ``current_user()`` hangs the identity on.

Where a request context keeps its session: Flask 3.1 turned ``session`` into
a property (it marks the session accessed, for Flask's own ``Vary: Cookie``)
over ``_session``. The guard reads the session object of a server-side
store through the attribute itself, with a C-level ``attrgetter``, twice per
request.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from . import changed, run_probes

try:
    from flask.globals import _cv_request
except ImportError as exc:  # pragma: no cover - only with an unsupported Flask
    raise changed(__name__, "flask", f"an import failed ({exc})") from exc

__all__ = ["SESSION_ATTRIBUTE", "check", "cv_request"]

#: The context variable holding the request context being handled (its ``.request``, its ``.session``).
cv_request: ContextVar[Any] = _cv_request


def _session_attribute() -> str:
    from flask.ctx import RequestContext

    return "_session" if isinstance(getattr(RequestContext, "session", None), property) else "session"


#: The attribute of a request context that holds its session object (see above).
SESSION_ATTRIBUTE = _session_attribute()


def _probe_request_context() -> bool:
    import flask

    app = flask.Flask(__name__)
    app.secret_key = "probe-secret-key-probe-secret-key"
    if not isinstance(cv_request, ContextVar) or cv_request.get(None) is not None:
        return False
    with app.test_request_context("/probe"):
        ctx = cv_request.get()
        return ctx.request is flask.request._get_current_object() and ctx.request.path == "/probe"  # type: ignore[attr-defined]


def _probe_session_attribute() -> bool:
    import flask

    app = flask.Flask(__name__)
    app.secret_key = "probe-secret-key-probe-secret-key"
    with app.test_request_context("/probe"):
        ctx = cv_request.get()
        session = getattr(ctx, SESSION_ATTRIBUTE, None)
        return session is not None and session is flask.session._get_current_object()  # type: ignore[attr-defined]


def check() -> list[str]:
    """What no longer holds of the Flask private APIs above, one message each (empty: all hold)."""
    return run_probes(__name__, "flask", {
        "flask.globals._cv_request (the request context, with .request)": _probe_request_context,
        f"RequestContext.{SESSION_ATTRIBUTE} (the session object)": _probe_session_attribute,
    })
