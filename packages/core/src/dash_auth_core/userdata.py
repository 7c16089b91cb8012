"""The user-data API of the old PlotlyAuth design, on top of the session.

``get_username()``, ``get_user_data()`` and ``set_user_data(data)`` work in
any request context. User data lives in the signed session, is limited in
size, and is for display and preferences only: the stack never reads it for
an authorization decision.
"""

from __future__ import annotations

import json
from typing import Any

from .context import current_user
from .errors import DashAuthError

USER_DATA_KEY = "_dash_auth_user_data"
MAX_USER_DATA_BYTES = 2048


def get_username() -> str | None:
    """The current user's id (a username for local logins), or ``None``."""
    identity = current_user()
    return None if identity is None else identity.id


def _session() -> Any:
    import dash

    from .stack import AuthStack

    app = dash.get_app()  # type: ignore[no-untyped-call]
    stack = AuthStack.get(app)
    request = stack.adapter.current_request() if stack is not None else None
    if request is None:
        raise DashAuthError("user data is only available while handling a request of a protected app")
    return request.session


def get_user_data() -> dict[str, Any]:
    """The JSON data stored for the current user (``{}`` if none)."""
    data = _session().get(USER_DATA_KEY)
    owner = get_username()
    if not isinstance(data, dict) or data.get("owner") != owner:
        return {}
    value = data.get("data")
    return dict(value) if isinstance(value, dict) else {}


def set_user_data(data: dict[str, Any]) -> None:
    """Store JSON-serialisable ``data`` for the current user (at most 2 KiB)."""
    if not isinstance(data, dict):
        raise TypeError("user data must be a dict")
    encoded = json.dumps(data, separators=(",", ":"))
    if len(encoded.encode()) > MAX_USER_DATA_BYTES:
        raise ValueError(f"user data is limited to {MAX_USER_DATA_BYTES} bytes of JSON")
    owner = get_username()
    if owner is None:
        raise DashAuthError("set_user_data needs a signed-in user")
    _session()[USER_DATA_KEY] = {"owner": owner, "data": json.loads(encoded)}


class UserDataMethods:
    """``auth.get_username()``, ``auth.get_user_data()``, ``auth.set_user_data(data)`` on a front door.

    PlotlyAuth offered these as methods of the auth object; apps written
    for it keep calling them there. They are the module functions above.
    """

    @staticmethod
    def get_username() -> str | None:
        """See :func:`dash_auth_core.get_username`."""
        return get_username()

    @staticmethod
    def get_user_data() -> dict[str, Any]:
        """See :func:`dash_auth_core.get_user_data`."""
        return get_user_data()

    @staticmethod
    def set_user_data(data: dict[str, Any]) -> None:
        """See :func:`dash_auth_core.set_user_data`."""
        set_user_data(data)
