"""``current_user()``: who is making the request being handled right now.

The guard puts the request's identity in a context variable. Dash copies the
context into callbacks, layout functions and routes, and our ``custom_data``
hook copies the identity into ``callback_context.custom_data["dash_auth"]``,
which Dash ships to background callbacks in other processes.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import dash

from .identity import Identity

CUSTOM_DATA_NAMESPACE = "dash_auth"

_current: ContextVar[Identity | None] = ContextVar("dash_auth_identity", default=None)


def set_current_user(identity: Identity | None) -> None:
    """Set the identity for the request being handled (the guard calls this)."""
    _current.set(identity)


def current_user() -> Identity | None:
    """The :class:`Identity` of the current request, or ``None`` when anonymous.

    Works in server callbacks (HTTP and background), layout functions and
    plugin routes. Outside a request it returns ``None``.
    """
    identity = _current.get()
    if identity is not None:
        return identity
    try:
        data = dash.callback_context.custom_data.get(CUSTOM_DATA_NAMESPACE)
    except Exception:  # no callback context here
        return None
    if isinstance(data, Identity):
        return data
    return Identity.from_session(data)


def _custom_data(_ctx: Any) -> dict[str, Any] | None:
    identity = _current.get()
    return None if identity is None else identity.to_session()


_installed = False


def install_custom_data_hook() -> None:
    """Register the process-wide ``custom_data`` hook once."""
    global _installed
    if not _installed:
        dash.hooks.custom_data(CUSTOM_DATA_NAMESPACE)(_custom_data)
        _installed = True
