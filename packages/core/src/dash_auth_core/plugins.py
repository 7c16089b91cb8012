"""The plugin manager: default plugins, entry points, and the switches.

Each app's :class:`~dash_auth_core.stack.AuthStack` owns one manager made by
:func:`make_manager`. Third-party providers join every stack through the
``dash_auth`` entry-point group. ``DASH_AUTH_DISABLE_PLUGINS=1`` stops
entry-point loading (tests use it); ``DASH_AUTH_PLUGINS=a,b`` loads only the
entry points with those names.
"""

from __future__ import annotations

import importlib
import os
from importlib import metadata

import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "dash_auth"
DISABLE_ENV = "DASH_AUTH_DISABLE_PLUGINS"
ALLOW_ENV = "DASH_AUTH_PLUGINS"

#: Modules registered into every stack, before entry points.
DEFAULT_PLUGINS = ("dash_auth_core.default_plugin",)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def entry_point_allowed(name: str) -> bool:
    """Whether the entry point ``name`` may be loaded under the current environment."""
    if _truthy(os.environ.get(DISABLE_ENV)):
        return False
    allow = os.environ.get(ALLOW_ENV)
    if allow is None:
        return True
    return name in {part.strip() for part in allow.split(",") if part.strip()}


def make_manager(load_entrypoints: bool = True) -> pluggy.PluginManager:
    """A manager with the hook specs, the default plugins and (optionally) entry points."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entrypoints:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if not entry_point_allowed(ep.name) or pm.get_plugin(ep.name) is not None:
                continue
            plugin = ep.load()
            if pm.is_registered(plugin):  # a built-in that is also an entry point
                continue
            pm.register(plugin, name=ep.name)
    pm.check_pending()
    return pm
