"""Who the helpers judge: the guard's identity, or, outside any stack, ``session["user"]``.

Inside an app that a stack guards, the identity the guard established is the
only source: a session the guard did not vouch for (or an anonymous request)
never counts. The seed libraries' helpers read ``flask.session["user"]``
directly, and their own tests and some apps call ``list_groups``,
``check_groups`` and ``protected`` in a plain Flask request context with no
auth object at all. Only there, in a Flask request of a server no stack
guards, is ``session["user"]`` read as the seeds read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dash_auth_core import Identity, current_user, request_was_judged

try:
    import flask
except ImportError:  # pragma: no cover - Flask comes with Dash
    flask = None  # type: ignore[assignment]

_SESSION_KEY = "user"
#: Set in ``app.server.extensions`` of the servers some stack guards (by the plugin's ``setup``).
_MARK = "dash_auth_guarded"


def note_guarded(server: Any) -> None:
    """Remember that a stack guards ``server`` (its sessions are then never read here)."""
    extensions = getattr(server, "extensions", None)
    if isinstance(extensions, dict):  # Flask and Quart: a mark readable through current_app
        extensions[_MARK] = True


@dataclass(frozen=True)
class SessionUser(Identity):
    """A seed-style ``session["user"]`` dict, read as the seed libraries read it.

    ``raw`` is that dict: groups and the ``restricted_users`` key are looked
    up in it (a string of groups stays a string until ``groups_str_split``
    splits it).
    """

    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


def session_user() -> SessionUser | None:
    """``session["user"]`` of a plain Flask request no stack guards, else ``None``."""
    if flask is None or not flask.has_request_context():
        return None
    if flask.current_app.extensions.get(_MARK):
        return None
    # A request some guard judged (it marks the request's context, anonymous or not).
    if request_was_judged():
        return None
    session = flask.session
    if _SESSION_KEY not in session:
        return None
    data = session[_SESSION_KEY]
    if not isinstance(data, Mapping):
        return None
    label = next((data[k] for k in ("id", "sub", "email", "user", "name") if isinstance(data.get(k), str) and data[k]),
                 "session user")
    email = data.get("email")
    groups = data.get("groups")
    return SessionUser(
        id=label,
        email=email if isinstance(email, str) else None,
        groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, (list, tuple)) else (),
        provider="session",
        raw=dict(data),
    )


def current_subject() -> Identity | None:
    """The identity the helpers judge: :func:`current_user`, else a plain Flask session's user."""
    identity = current_user()
    if identity is not None:
        return identity
    return session_user()
