"""dash-auth-clerk: Clerk sign-in for dash-auth-core.

Seed-compatible imports::

    from dash_auth_clerk import ClerkAuth, add_public_routes, public_callback

    auth = ClerkAuth(app, secret_key="...")        # CLERK_* keys from the environment
"""

from __future__ import annotations

from dash_auth_core import add_public_routes, current_user, public_callback
from dash_auth_core.ui import register_package

from .api import BackendAPI
from .auth import ClerkAuth
from .claims import build_identity, user_fields
from .config import ClerkConfig
from .errors import BadCallback, ClerkError, ClerkRefused, ClerkUnavailable, LoginRefused, TokenRejected
from .plugin import ClerkPlugin
from .settings import ClerkSettings
from .tokens import KeySet, Verifier

register_package(__name__)  # the embedded sign-in and callback pages' templates, the messages' translations

__all__ = [
    "BackendAPI",
    "BadCallback",
    "ClerkAuth",
    "ClerkConfig",
    "ClerkError",
    "ClerkPlugin",
    "ClerkRefused",
    "ClerkSettings",
    "ClerkUnavailable",
    "KeySet",
    "LoginRefused",
    "TokenRejected",
    "Verifier",
    "add_public_routes",
    "build_identity",
    "current_user",
    "public_callback",
    "user_fields",
]
