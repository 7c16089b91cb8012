"""Where plugins come from: the default plugins, entry points, and the switches.

Each app's :class:`~dash_auth_core.stack.AuthStack` owns one chain made from
:func:`make_manager`. A stack is built from, in this order:

1. the **default plugins**: the core's session reader and fallback pages,
   then every plugin a distribution made a default with
   :func:`register_default_plugin` when imported (dash-auth-groups does);
2. the **entry points** of the ``dash_auth`` group, sorted by name, unless a
   switch leaves them out. ``DASH_AUTH_DISABLE_PLUGINS=1`` loads none (the
   test suite sets it); ``DASH_AUTH_PLUGINS=a,b`` loads only those named ``a``
   or ``b``, by entry-point name or by the distribution's name as pip knows
   it (``DASH_AUTH_PLUGINS=my-dash-provider``). Every entry point a switch
   leaves out is logged;
3. whatever the app adds: front doors (``BasicAuth``, ``OIDCAuth``, ...),
   the ``plugins=[...]`` option and :meth:`AuthStack.register`, in the order
   they are called.

Hooks are asked in pluggy's order: ``tryfirst`` implementations first, then
the others, the plugin that joined last first, and ``trylast`` ones at the
end. Wrong credentials refuse a request whatever that order (see
:mod:`dash_auth_core.chain`).

Distributions also declare, through entry points, the stack options and the
``register_page`` keys they enforce, so the core can load them when an app
uses one (and refuse a page rule nobody enforces)::

    [project.entry-points."dash_auth.options"]
    my_option = "my_package.plugin"        # the plugin that handles AuthStack(my_option=...)

    [project.entry-points."dash_auth.page_keys"]
    clearance = "my_package.plugin"        # the plugin that enforces register_page(clearance=...)

The plugin named there joins the stack when the option or key is used; it
handles an option in ``configure_option(auth, name, value)`` and may check a
page that declares its key in ``check_page(page)`` before any request is served.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .process import PROCESS

log = logging.getLogger("dash_auth")

ENTRY_POINT_GROUP = "dash_auth"
OPTIONS_GROUP = "dash_auth.options"
PAGE_KEYS_GROUP = "dash_auth.page_keys"
DISABLE_ENV = "DASH_AUTH_DISABLE_PLUGINS"
ALLOW_ENV = "DASH_AUTH_PLUGINS"

#: Plugins registered into every stack, before entry points: ``(name, plugin or module name)``.
DEFAULT_PLUGINS: tuple[tuple[str, Any], ...] = (("dash_auth_core.default_plugin", "dash_auth_core.default_plugin"),)
_defaults_lock = threading.Lock()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def _normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): ``My_Provider`` is ``my-provider``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def entry_point_allowed(name: str, distribution: str | None = None) -> bool:
    """Whether the entry point ``name`` (of ``distribution``) may be loaded under the current switches."""
    if _truthy(os.environ.get(DISABLE_ENV)):
        return False
    allow = os.environ.get(ALLOW_ENV)
    if allow is None:
        return True
    wanted = {part.strip() for part in allow.split(",") if part.strip()}
    if name in wanted:
        return True
    return distribution is not None and _normalize(distribution) in {_normalize(w) for w in wanted}


def _distribution(ep: metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) if dist is not None else None


def allowed(ep: metadata.EntryPoint) -> bool:
    """Whether the switches let the entry point ``ep`` load (by its name or its distribution's)."""
    return entry_point_allowed(ep.name, _distribution(ep))


def entry_points(group: str = ENTRY_POINT_GROUP) -> list[metadata.EntryPoint]:
    """The installed entry points of ``group``, sorted by name (then value): a stable order."""
    found = {(ep.name, ep.value): ep for ep in metadata.entry_points(group=group)}
    return [found[key] for key in sorted(found)]


def load_entry_points(register: Callable[[Any, str], Any], is_registered: Callable[[Any], bool]) -> None:
    """Register every allowed ``dash_auth`` entry point through ``register(plugin, name)``."""
    for ep in entry_points():
        if not allowed(ep):
            switch = DISABLE_ENV if _truthy(os.environ.get(DISABLE_ENV)) else ALLOW_ENV
            log.info("dash-auth plugin %r (%s) not loaded: %s is set", ep.name, _distribution(ep) or ep.value, switch)
            continue
        plugin = ep.load()
        if is_registered(plugin):  # a default plugin that is also an entry point
            continue
        register(plugin, ep.name)


def make_manager(load_entrypoints: bool = True) -> pluggy.PluginManager:
    """A bare manager with the hook specs and the default plugins (and, optionally, entry points).

    Stacks check every plugin before it joins; this is the unchecked building
    block (tests and tools use it to see what would load).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name, plugin in default_plugins():
        pm.register(plugin, name=name)
    if load_entrypoints:
        load_entry_points(lambda plugin, name: pm.register(plugin, name=name), pm.is_registered)
    pm.check_pending()
    return pm


def default_plugins() -> list[tuple[str, Any]]:
    """The default plugins, imported: ``(name, plugin)`` in the order they were added."""
    return [(name, importlib.import_module(p) if isinstance(p, str) else p) for name, p in DEFAULT_PLUGINS]


def register_default_plugin(plugin: Any, name: str | None = None) -> None:
    """Make ``plugin`` (an object, a module, or a module's name) part of every stack in this process.

    It joins every stack that exists and every stack created later, whatever
    the entry-point switches say. A distribution whose public helpers rely
    on its plugin calls this when imported, so the rules its helpers declare
    are enforced as soon as an app uses them (dash-auth-groups does, for
    ``protected_callback``). Adding the same name twice does nothing.
    """
    global DEFAULT_PLUGINS
    if name is None:
        name = plugin if isinstance(plugin, str) else getattr(plugin, "__name__", None)
    if not isinstance(name, str) or not name:
        raise TypeError("register_default_plugin needs a name for an object plugin")
    with _defaults_lock:
        if any(existing == name for existing, _ in DEFAULT_PLUGINS):
            return
        DEFAULT_PLUGINS = (*DEFAULT_PLUGINS, (name, plugin))
        stacks = list(PROCESS.stacks)
    loaded = importlib.import_module(plugin) if isinstance(plugin, str) else plugin
    for stack in stacks:
        if stack.get_plugin(name) is None:
            stack.register(loaded, name=name)


def track(stack: Any) -> None:
    """Remember ``stack`` (weakly) so default plugins added later join it too."""
    with _defaults_lock:
        PROCESS.stacks.add(stack)


def declared(group: str) -> dict[str, metadata.EntryPoint]:
    """What installed distributions declare in ``group`` (``dash_auth.options`` or ``dash_auth.page_keys``)."""
    with _declared_lock:
        found = _declared.get(group)
        if found is None:
            found = _declared[group] = {ep.name: ep for ep in entry_points(group)}
        return found


_declared: dict[str, dict[str, metadata.EntryPoint]] = {}
_declared_lock = threading.Lock()


def forget_declarations() -> None:
    """Read the declarations again at the next use (after installing a distribution at run time)."""
    with _declared_lock:
        _declared.clear()


def declaring_plugin(group: str, key: str) -> tuple[str, Any] | None:
    """The ``(name, plugin)`` declared for ``key`` in ``group``, loaded; ``None`` if nobody declares it."""
    ep = declared(group).get(key)
    if ep is None:
        return None
    return ep.value, ep.load()
