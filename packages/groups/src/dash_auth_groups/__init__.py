"""dash-auth-groups: authorization on top of dash-auth-core.

Seed-compatible helpers::

    from dash_auth_groups import check_groups, list_groups, protected, protected_callback, protect_layouts

Importing this package adds its plugin to every app's stack (it is also a
``dash_auth`` entry point), so page rules declared with
``register_page(..., groups=[...])`` are enforced by the guard.
"""

from __future__ import annotations

from dash_auth_core.stack import add_builtin_plugin

from .navigation import accessible_pages
from .plugin import configure_option
from .protect import protect_layouts, protected, protected_callback
from .routes import require_groups
from .rules import Rule, Verdict, check_groups, check_page, list_groups

add_builtin_plugin("dash_auth_groups.plugin")

__all__ = [
    "Rule",
    "Verdict",
    "accessible_pages",
    "check_groups",
    "check_page",
    "configure_option",
    "list_groups",
    "protect_layouts",
    "protected",
    "protected_callback",
    "require_groups",
]
