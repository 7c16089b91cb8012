"""dash-auth-core: a composable authentication and authorization stack for Dash.

Import what apps and plugins need from here::

    from dash_auth_core import AuthStack, hookimpl, current_user, public_callback
"""

from __future__ import annotations

from .backends import BackendAdapter, Request, register_adapter
from .callbacks import mark_public, public_callback
from .context import current_user
from .errors import BadRequest, ConfigurationError, DashAuthError
from .hookspecs import hookimpl
from .identity import REJECT, Identity
from .resources import Kind, Resource
from .responses import Response, html_page, json_error, redirect, safe_next
from .stack import AuthStack, add_public_routes
from .userdata import get_user_data, get_username, set_user_data

__all__ = [
    "REJECT",
    "AuthStack",
    "BackendAdapter",
    "BadRequest",
    "ConfigurationError",
    "DashAuthError",
    "Identity",
    "Kind",
    "Request",
    "Resource",
    "Response",
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
    "safe_next",
    "set_user_data",
]
