"""How installed distributions and apps extend a stack: declared options and page keys, plugin settings.

A distribution declares, in entry points (see :mod:`dash_auth_core.plugins`),
the stack options and ``register_page`` keys its plugin handles: an option or
a page rule nobody declares is an error, and the declaring plugin joins the
stack the first time one is used. An app gives plugins their settings with
``plugin_config={name: {...}}``; a plugin keeps per-app state in
``plugin_state``. :class:`Extensions` is one part of
:class:`~dash_auth_core.AuthStack`; its methods are the stack's.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import plugins
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .chain import Chain


class Extensions:
    """The stack's part that joins declaring distributions and holds plugins' settings and state."""

    chain: Chain
    #: The stack's own options (:attr:`AuthStack.OPTIONS <dash_auth_core.AuthStack.OPTIONS>`).
    OPTIONS: tuple[str, ...]
    #: ``register_page`` keys that are access rules in the seed libraries: a page
    #: that uses one while no installed distribution declares it is refused at
    #: start-up (fail closed) instead of silently open.
    RULE_PAGE_KEYS = ("groups", "restricted_users")

    if TYPE_CHECKING:

        def register(self, plugin: Any, name: str | None = None) -> Any: ...

        def get_plugin(self, name: str) -> Any: ...

        def plugin_name(self, plugin: Any) -> str | None: ...

    def __init__(self) -> None:
        #: Per-app state of plugins, by plugin name: a plugin shared by every app (an entry
        #: point) keeps what it set up for this app here (``auth.plugin_state["groups"]``).
        self.plugin_state: dict[str, Any] = {}
        self._plugin_config: dict[str, dict[str, Any]] = {}
        self._set_up = False  # True once the plugins' setup hooks ran
        super().__init__()

    def _check_options(self, options: dict[str, Any]) -> None:
        for name in options:
            if name not in self.OPTIONS and name not in plugins.declared(plugins.OPTIONS_GROUP):
                known = self.OPTIONS + tuple(plugins.declared(plugins.OPTIONS_GROUP))
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(
                    f"unknown option {name!r}{hint} (known: {', '.join(self.OPTIONS)})"
                )

    def _configure_declared(self, options: dict[str, Any]) -> None:
        """Hand each option that a distribution declares (not one of :attr:`OPTIONS`) to its plugin."""
        for name in options:
            if name not in self.OPTIONS:  # declared by a distribution (see dash_auth_core.plugins)
                self._declaring_plugin(plugins.OPTIONS_GROUP, name).configure_option(self, name, options[name])

    def _declaring_plugin(self, group: str, key: str) -> Any:
        """The plugin a distribution declares for ``key`` in ``group``, joined to this stack."""
        found = plugins.declaring_plugin(group, key)
        if found is None:
            raise ConfigurationError(f"{key!r}: no installed distribution declares it in {group!r}")
        name, plugin = found
        if not self.chain.pm.is_registered(plugin):
            self.register(plugin, name=name)
        return plugin

    def load_page_extensions(self, pages: Iterable[Any]) -> None:
        """Join the plugins that enforce the rule keys pages declare, and let them check the pages.

        A plugin's ``check_page(page)`` looks at the page's rule before any
        request is served by it (dash-auth-groups logs a broken one and closes
        that page to everyone). A seed-style rule key (``groups=``) that no
        installed distribution declares is a start-up error, not an open page.
        """
        declared = plugins.declared(plugins.PAGE_KEYS_GROUP)
        for page in list(pages):
            checked: set[int] = set()
            for key in list(page):  # check_page may mark the page
                if key in declared:
                    plugin = self._declaring_plugin(plugins.PAGE_KEYS_GROUP, key)
                    check = getattr(plugin, "check_page", None)
                    if check is not None and id(plugin) not in checked:
                        checked.add(id(plugin))
                        check(page)
                elif key in self.RULE_PAGE_KEYS:
                    raise ConfigurationError(
                        f"the page {page.get('module')!r} declares {key!r}, an access rule that no installed "
                        "distribution enforces: install the one that provides it (pip install dash-auth-groups)"
                    )

    # -- plugin settings ------------------------------------------------------

    def _set_plugin_config(self, config: Any) -> None:
        if not isinstance(config, dict) or not all(
            isinstance(name, str) and isinstance(value, dict) for name, value in config.items()
        ):
            raise ConfigurationError("plugin_config must be a dict {plugin name: {setting: value}}")
        for name, value in config.items():
            if name in self._plugin_config and self._plugin_config[name] != value:
                raise ConfigurationError(f"two different plugin_config values were given for {name!r}")
            if name not in self._plugin_config and self.get_plugin(name) is not None and self._set_up:
                raise ConfigurationError(
                    f"plugin_config for {name!r} comes after the plugin was set up; give it where the "
                    "app's stack is created (the first front door or AuthStack.of call)"
                )
            self._plugin_config[name] = dict(value)

    def plugin_config(self, name: Any) -> dict[str, Any]:
        """The settings this app gave a plugin (``plugin_config={name: {...}}``); ``{}`` if none.

        ``name`` is the plugin's name in the chain, or the plugin itself. A
        copy: a plugin checks it in ``setup`` and keeps what it needs (in
        :attr:`plugin_state` when one plugin object serves several apps).
        """
        if not isinstance(name, str):
            name = self.plugin_name(name)
        return dict(self._plugin_config.get(name, {})) if name else {}

    def unused_plugin_config(self) -> list[str]:
        """Names in ``plugin_config`` that no plugin of this stack answers to (most likely a typo).

        The guard logs them as a warning when it first serves a request.
        """
        return [name for name in self._plugin_config if self.get_plugin(name) is None]
