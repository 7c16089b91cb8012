"""What an OIDC login keeps in the session, and how large that may grow.

Session layout of a signed-in OIDC user::

    session["user"]          the core identity (plus attributes hooks added)
    session["idp"]           the provider's name (as the seed libraries stored it)
    session["_oidc"]         {"p": provider, "s": sub, "e": expires_at, "r": refresh_at,
                              "g": 1 if the app chose the groups at sign-in}
    session["_oidc_tokens"]  the refresh and ID tokens, encrypted (see .store)

Pending logins (``_oidc_pending``, ``_oidc_next``) are :mod:`.flow`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dash_auth_core import Request

#: The session key with the login's provider and token timing.
STATE_KEY = "_oidc"
#: In the login's state: the app chose the groups at sign-in (a refresh does not re-read them).
PINNED = "g"
#: Bytes of session a signed cookie can hold with room left for its name, signature and attributes.
SESSION_BUDGET = 3600


def login_state(request: Request) -> dict[str, Any] | None:
    """The OIDC login ``request``'s session holds (``None``: none, or not one this package wrote)."""
    state = request.session.get(STATE_KEY) if request.has_session_cookie else None
    return state if isinstance(state, dict) else None


def pinned(state: Mapping[str, Any]) -> dict[str, Any]:
    """The login state's pinned-groups mark, to carry into its next state (absent: a login from
    before the mark existed)."""
    return {PINNED: state[PINNED]} if PINNED in state else {}


def token_state(
    idp: str, sub: str, token: Mapping[str, Any], now: float, has_refresh: bool, leeway: float
) -> dict[str, Any]:
    """The login's state after ``token`` (a token endpoint's answer) arrived at ``now``.

    ``e`` is when the tokens expire; ``r`` when a request renews them:
    ``leeway`` seconds before (at most half their lifetime) when there is a
    refresh token, else at expiry, when the login ends. A provider that says
    nothing of the expiry gets neither.
    """
    expires_in = token.get("expires_in")
    if isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or expires_in <= 0:
        return {"p": idp, "s": sub, "e": None, "r": None}
    expires = int(now + expires_in)
    if not has_refresh:
        return {"p": idp, "s": sub, "e": expires, "r": expires}
    leeway = min(leeway, expires_in / 2)
    return {"p": idp, "s": sub, "e": expires, "r": int(now + expires_in - leeway)}


def session_size(session: Mapping[str, Any]) -> int:
    """About how large the session's cookie is (JSON, base64-encoded; before any compression)."""
    try:
        return len(json.dumps(dict(session), separators=(",", ":"), default=str)) * 4 // 3
    except (TypeError, ValueError):
        return 0
