"""dash-auth-oidc: OpenID Connect sign-in for dash-auth-core.

Seed-compatible imports::

    from dash_auth_oidc import OIDCAuth, add_public_routes, public_callback

    auth = OIDCAuth(app, secret_key="...")
    auth.register_provider("idp", client_id=..., client_secret=..., server_metadata_url=...)
"""

from __future__ import annotations

from dash_auth_core import add_public_routes, current_user, public_callback
from dash_auth_core.ui import register_package

from .auth import PROVIDER_ENTRY_POINT_GROUP, OIDCAuth
from .bearer import BearerTokenPlugin
from .claims import build_identity
from .config import ProviderConfig
from .errors import (
    BadCallback,
    LoginError,
    LoginRefused,
    OIDCError,
    ProviderRefused,
    ProviderUnavailable,
    TokenValidationError,
    UnknownProvider,
)
from .plugin import OIDCPlugin
from .provider import Provider
from .store import EncryptedSessionTokenStore, MemoryTokenStore, TokenStore
from .tokens import validate_jwt

register_package(__name__)  # the provider chooser's template and the messages' translations

__all__ = [
    "PROVIDER_ENTRY_POINT_GROUP",
    "BadCallback",
    "BearerTokenPlugin",
    "EncryptedSessionTokenStore",
    "LoginError",
    "LoginRefused",
    "MemoryTokenStore",
    "OIDCAuth",
    "OIDCError",
    "OIDCPlugin",
    "Provider",
    "ProviderConfig",
    "ProviderRefused",
    "ProviderUnavailable",
    "TokenStore",
    "TokenValidationError",
    "UnknownProvider",
    "add_public_routes",
    "build_identity",
    "current_user",
    "public_callback",
    "validate_jwt",
]
