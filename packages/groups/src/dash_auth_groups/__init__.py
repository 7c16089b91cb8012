"""dash-auth-groups: authorization on top of dash-auth-core.

Seed-compatible helpers::

    from dash_auth_groups import check_groups, list_groups, protected, protected_callback, protect_layouts

Importing this package makes its plugin a default plugin of every app's
stack (:func:`dash_auth_core.register_default_plugin`), so the rules its
helpers declare (``protected_callback``, ``protect_layouts``) are enforced
even where entry points are switched off. The package also declares, through
entry points, the ``register_page`` keys it enforces (``groups``,
``restricted_users``) and the stack options it handles
(``auth_protect_layouts``, ``auth_protect_layouts_kwargs``), so an app that
only uses those never needs to import it.
"""

from __future__ import annotations

from dash_auth_core import register_default_plugin

from .navigation import accessible_pages
from .plugin import configure_option
from .protect import protect_layouts, protected, protected_callback
from .routes import require_groups
from .rules import Rule, Verdict, check_groups, check_page, list_groups

register_default_plugin("dash_auth_groups.plugin")

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
