"""What dash-auth keeps for the whole process, beside each app's stack: one object, :data:`PROCESS`.

* ``stacks``: every stack (weakly), so a default plugin added later joins them
  (:func:`dash_auth_core.register_default_plugin`);
* ``sockets``: each stack's registry of open WebSocket callbacks and of the
  logins signed out while some were open (:mod:`dash_auth_core.socket_registry`);
* ``guarded_servers``: the servers whose Dash socket must have passed the
  frame checks (:mod:`dash_auth_core.websocket`);
* ``hooks``: the process-wide ``dash.hooks`` installed once (their names).

Tests start from a clean process with :meth:`ProcessState.reset` (the testing
kit's ``reset_dash_globals`` calls it).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any


class ProcessState:
    """The process-wide registries of dash-auth (see the module's docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stacks: weakref.WeakSet[Any] = weakref.WeakSet()
        self.sockets: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self.guarded_servers: weakref.WeakSet[Any] = weakref.WeakSet()
        self.hooks: set[str] = set()

    def install_hook_once(self, name: str) -> bool:
        """``True`` the first time ``name`` is asked for (the caller then installs that hook)."""
        with self.lock:
            if name in self.hooks:
                return False
            self.hooks.add(name)
            return True

    def reset(self, hooks: bool = False) -> None:
        """Forget every stack, socket registry and guarded server.

        The installed hooks are kept unless ``hooks=True``: ``dash.hooks`` keeps
        them for the process too, and one installed twice would run twice.
        """
        with self.lock:
            self.stacks = weakref.WeakSet()
            self.sockets = weakref.WeakKeyDictionary()
            self.guarded_servers = weakref.WeakSet()
            if hooks:
                self.hooks = set()


#: The one per process.
PROCESS = ProcessState()
