"""dash-auth-basic: local credentials (HTTP Basic) for dash-auth-core.

Seed-compatible imports::

    from dash_auth_basic import BasicAuth, add_public_routes, public_callback
"""

from __future__ import annotations

from werkzeug.security import generate_password_hash

from dash_auth_core import add_public_routes, current_user, public_callback
from dash_auth_core.ui import register_package

from .auth import BasicAuth
from .plugin import BasicAuthPlugin
from .throttle import LoginThrottle

register_package(__name__)  # the sign-in form's template and translations

__all__ = [
    "BasicAuth",
    "BasicAuthPlugin",
    "LoginThrottle",
    "add_public_routes",
    "current_user",
    "generate_password_hash",
    "public_callback",
]
