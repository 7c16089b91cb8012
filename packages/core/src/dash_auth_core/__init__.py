"""dash-auth-core: a composable authentication and authorization stack for Dash.

Import what apps and plugins need from here::

    from dash_auth_core import AuthStack, hookimpl, current_user, public_callback

Everything in ``__all__`` is the public API that plugins (this project's own
included) build on; so are the modules :mod:`dash_auth_core.hookspecs`,
:mod:`dash_auth_core.plugins`, :mod:`dash_auth_core.protocols` and
:mod:`dash_auth_core.testing`.
"""

from __future__ import annotations

from .backends import LOGIN_ENDED, BackendAdapter, Request, WouldBlock, register_adapter
from .callbacks import mark_public, public_callback
from .context import current_user, request_was_judged
from .errors import BadRequest, ConfigurationError, DashAuthError, RequestRefused
from .hookspecs import hookimpl
from .identity import REJECT, SESSION_KEY, AuthResult, Identity, Reject
from .pages import PAGE_ALLOWED_KEY, sample_path
from .plugins import register_default_plugin
from .resources import Kind, Resource
from .responses import Response, html_page, json_error, redirect, safe_next, with_next
from .revocation import revoke_user
from .stack import AuthStack, add_public_routes
from .user_groups import PROVIDER_GROUPS_CLAIM
from .userdata import UserDataMethods, get_user_data, get_username, set_user_data

__all__ = [
    "LOGIN_ENDED",
    "PAGE_ALLOWED_KEY",
    "PROVIDER_GROUPS_CLAIM",
    "REJECT",
    "SESSION_KEY",
    "AuthResult",
    "AuthStack",
    "BackendAdapter",
    "BadRequest",
    "ConfigurationError",
    "DashAuthError",
    "Identity",
    "Kind",
    "Reject",
    "Request",
    "RequestRefused",
    "Resource",
    "Response",
    "UserDataMethods",
    "WouldBlock",
    "add_public_routes",
    "current_user",
    "get_user_data",
    "get_username",
    "hookimpl",
    "html_page",
    "json_error",
    "mark_public",
    "public_callback",
    "redirect",
    "register_adapter",
    "register_default_plugin",
    "request_was_judged",
    "revoke_user",
    "safe_next",
    "sample_path",
    "set_user_data",
    "with_next",
]
