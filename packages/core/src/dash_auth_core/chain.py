"""The plugin chain: the pluggy manager behind a thin typed facade that holds every hook to its contract.

:class:`Chain` is what :class:`~dash_auth_core.stack.AuthStack` calls; nothing
else touches ``pm.hook``. It checks plugins when they join (hooks are plain
functions: ``async def`` implementations, and wrappers around the decision
hooks, are refused with a :class:`ConfigurationError`) and every answer when
a hook gives one. An answer outside the contract never lets a request in:

``authenticate``
    an :class:`Identity`, ``None`` or :data:`REJECT`. A ``REJECT`` from any
    plugin refuses the request whatever another plugin vouched for and
    whatever the order. Anything else (a dict, a coroutine, an exception)
    counts as a ``REJECT`` and is logged, once per plugin.
``authorize``
    ``True``, ``False`` or ``None``; anything else (or an exception) denies.
``challenge``
    a :class:`Response` or ``None``; anything else is logged and the next
    plugin is asked. For JSON resources (callbacks) only a JSON 4xx/5xx
    answer counts, so a browser page never reaches a callback.

:class:`~dash_auth_core.errors.RequestRefused` and
:class:`~dash_auth_core.backends.WouldBlock` pass through: they are part of the
contract.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from .backends import Request, WouldBlock
from .errors import ConfigurationError, RequestRefused
from .identity import REJECT, Identity
from .resources import Resource
from .responses import Response

if TYPE_CHECKING:
    from pluggy import HookImpl

log = logging.getLogger("dash_auth")

#: The plugin whose ``authenticate`` refused the request's credentials (``request.state`` key).
REFUSED_BY = "refused_by"
#: Hooks whose answers decide a request: no wrappers, every answer checked.
DECISION_HOOKS = ("authenticate", "authorize", "challenge")
#: The core's session reader: asked only when no other plugin vouched for anyone (it never rejects).
SESSION_READER = "dash_auth_core.default_plugin"

_AUTHORIZE_ARGS = ("identity", "resource", "request")
_CHALLENGE_ARGS = ("request", "resource", "reason", "refused_by")


def _picker(function: Callable[..., Any], argnames: Sequence[str], order: Sequence[str]) -> Callable[..., Any]:
    """``function`` called with the positional arguments ``order`` names, passing only those it takes."""
    if tuple(argnames) == tuple(order):
        return function
    indexes = tuple(order.index(name) for name in argnames)
    return lambda *args: function(*(args[i] for i in indexes))


class Chain:
    """One app's plugin manager, and the contract-keeping callers of its decision hooks."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._warned: set[tuple[int, str]] = set()
        #: The ``authenticate`` implementations in the order asked (the session reader apart).
        self.authenticators: list[Callable[[Request], Any]] = []
        self.session_reader: Callable[[Request], Any] | None = None
        self._owners: dict[int, Any] = {}  # id(call) -> its plugin
        self.authorizers: list[tuple[Callable[..., Any], Any]] = []
        for plugin in pm.get_plugins():  # the default plugins the manager came with are held to it too
            self.check(plugin, pm.get_name(plugin))
        self.refresh()

    # -- joining ------------------------------------------------------------

    def check(self, plugin: Any, name: str | None = None) -> None:
        """Refuse a plugin that breaks the contract, before it joins (its ``setup`` runs at once)."""
        label = name or _label(plugin)
        for attr in dir(plugin):
            opts = self.pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            function = getattr(plugin, attr, None)
            hook = opts.get("specname") or attr
            if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
                raise ConfigurationError(
                    f"the plugin {label} implements {hook} with 'async def'; dash-auth hooks are plain "
                    "functions on every backend: write it with 'def' and call request.allow_blocking() "
                    "before blocking work (the stack then runs it off the event loop)"
                )
            if hook in DECISION_HOOKS and (opts.get("hookwrapper") or opts.get("wrapper")):
                raise ConfigurationError(
                    f"the plugin {label} wraps the {hook} hook; wrappers are not supported on "
                    f"{', '.join(DECISION_HOOKS)} (every answer there is checked against the contract)"
                )

    def register(self, plugin: Any, name: str | None = None) -> Any:
        """Check and add ``plugin``; a plugin that fails to join leaves the chain as it was."""
        self.check(plugin, name)
        try:
            self.pm.register(plugin, name=name)  # runs its setup hook (historic) at once
            self.pm.check_pending()  # a misspelt hook name fails here, loudly
        except Exception:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self.refresh()
            raise
        self.refresh()
        return plugin

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:
        removed = self.pm.unregister(plugin, name=name)
        self.refresh()
        return removed

    def refresh(self) -> None:
        """Rebuild the call lists (after a plugin joined or left)."""
        hook = self.pm.hook
        authenticators: list[Callable[[Request], Any]] = []
        owners: dict[int, Any] = {}
        reader = None
        for impl in reversed(hook.authenticate.get_hookimpls()):
            call = _picker(impl.function, impl.argnames, ("request",))
            owners[id(call)] = impl.plugin
            if impl.plugin_name == SESSION_READER:
                reader = call
            else:
                authenticators.append(call)
        self.authenticators, self.session_reader, self._owners = authenticators, reader, owners
        if len(authenticators) == 1:
            # One provider (the usual app): a function of its own, fewer steps per request.
            self.authenticate = self._authenticate_one(authenticators[0])  # type: ignore[assignment]
        else:
            self.__dict__.pop("authenticate", None)  # the general method
        self.authorizers = [
            (_picker(impl.function, impl.argnames, _AUTHORIZE_ARGS), impl.plugin)
            for impl in reversed(hook.authorize.get_hookimpls())
        ]

    # -- the decision hooks ---------------------------------------------------

    def authenticate(self, request: Request) -> Identity | None:
        """The identity the chain vouches for, or ``None`` (anonymous, or credentials refused).

        Every plugin is asked (the core's session reader only when nobody else
        vouched for anyone): the first identity wins unless some plugin
        rejects, which refuses the request whatever the order. The refusing
        plugin is kept in ``request.state["refused_by"]`` for ``challenge``.
        """
        # Runs on every request: plain loops, the rare outcomes in _refused().
        found = call = None
        try:
            for call in self.authenticators:
                result = call(request)
                if result is None:
                    continue
                if type(result) is Identity or isinstance(result, Identity):
                    if found is None:
                        found = result
                    continue
                self._refused(request, call, result)
                return None
            if found is not None:
                return found
            call = self.session_reader
            if call is None:
                return None
            result = call(request)
            if result is None or type(result) is Identity:
                return result
            self._refused(request, call, result)
            return None
        except (WouldBlock, RequestRefused):
            raise
        except Exception:
            self._failed(request, call)
            return None

    def _authenticate_one(self, call: Callable[[Request], Any]) -> Callable[[Request], Identity | None]:
        """:meth:`authenticate` for a chain of one provider (and the session reader): the same answers."""
        after = self._after_only_provider
        failed = self._failed

        def authenticate(request: Request) -> Identity | None:
            try:
                result = call(request)
            except (WouldBlock, RequestRefused):
                raise
            except Exception:
                failed(request, call)
                return None
            if type(result) is Identity:
                return result  # the usual answer, at once
            return after(request, call, result)

        authenticate.__doc__ = Chain.authenticate.__doc__
        return authenticate

    def _after_only_provider(self, request: Request, call: Any, result: Any) -> Identity | None:
        """The rest of :meth:`authenticate` once the only provider answered ``result``."""
        if result is not None:
            if isinstance(result, Identity):
                return result
            self._refused(request, call, result)
            return None
        reader = self.session_reader
        if reader is None:
            return None
        try:
            result = reader(request)
        except (WouldBlock, RequestRefused):
            raise
        except Exception:
            self._failed(request, reader)
            return None
        if result is None or type(result) is Identity:
            return result
        self._refused(request, reader, result)
        return None

    def _failed(self, request: Request, call: Any) -> None:
        """An ``authenticate`` implementation raised (call it in the ``except`` block): refused, and logged."""
        plugin = self._owners.get(id(call))
        log.exception("the authenticate hook of %s failed; the request is refused", self.label(plugin))
        request.state[REFUSED_BY] = plugin

    def _refused(self, request: Request, call: Any, result: Any) -> None:
        plugin = self._owners.get(id(call))
        if result is not REJECT:
            self._broken(plugin, "authenticate", f"returned {_describe(result)}", result)
        request.state[REFUSED_BY] = plugin

    def authorize(self, identity: Identity | None, resource: Resource, request: Request) -> bool | None:
        """``False`` if any plugin denies, else ``True`` if any allows, else ``None``."""
        allowed = None
        plugin = None
        try:
            for call, plugin in self.authorizers:
                vote = call(identity, resource, request)
                if vote is None:
                    continue
                if vote is True:
                    allowed = True
                    continue
                if vote is not False:
                    self._broken(plugin, "authorize", f"voted {_describe(vote)}", vote)
                return False
        except (WouldBlock, RequestRefused):
            raise
        except Exception:
            log.exception("the authorize hook of %s failed; the request is denied", self.label(plugin))
            return False
        return allowed

    def challenge(self, request: Request, resource: Resource, reason: str) -> Response | None:
        """The first valid answer to a refusal; the refusing plugin's own challenge is asked first."""
        refused_by = request.state.get(REFUSED_BY)
        impls: list[HookImpl] = list(reversed(self.pm.hook.challenge.get_hookimpls()))
        if refused_by is not None:
            impls.sort(key=lambda impl: impl.plugin is not refused_by)  # stable: the rest keep their order
        values = {"request": request, "resource": resource, "reason": reason, "refused_by": refused_by}
        for impl in impls:
            try:
                answer = impl.function(*(values[name] for name in impl.argnames))
            except (WouldBlock, RequestRefused):
                raise
            except Exception:
                log.exception("the challenge hook of %s failed; asking the next plugin", self.label(impl.plugin))
                continue
            if answer is None:
                continue
            if not isinstance(answer, Response):
                self._broken(impl.plugin, "challenge", f"returned {_describe(answer)}", answer)
                continue
            if resource.wants_json and not (answer.is_json and answer.status >= 400):
                self._broken(
                    impl.plugin, "challenge",
                    f"answered a JSON resource ({resource.name}) with {answer.status} {answer.content_type}",
                )
                continue
            return answer
        return None

    # -- the broadcast hooks --------------------------------------------------

    @property
    def hook(self) -> Any:
        """pluggy's hook relay, for the broadcast hooks (``on_login``, ``on_logout``, ``setup``)."""
        return self.pm.hook

    def _broken(self, plugin: Any, hook: str, what: str, result: Any = None) -> None:
        """Log, once per plugin and hook, an answer outside the contract (it refused the request)."""
        if inspect.iscoroutine(result):
            result.close()  # never awaited, on purpose: no "never awaited" warning at exit
        key = (id(plugin), hook)
        if key in self._warned:
            return
        self._warned.add(key)
        log.error("the %s hook of %s %s, which is outside the contract; refused (logged once)",
                  hook, self.label(plugin), what)

    def label(self, plugin: Any) -> str:
        """How logs name a plugin: its name in the chain, and what it is."""
        if plugin is None or isinstance(plugin, str):
            return repr(plugin or "a plugin")
        kind = getattr(plugin, "__name__", None)
        if not isinstance(kind, str):
            kind = f"{type(plugin).__module__}.{type(plugin).__qualname__}"
        name = self.pm.get_name(plugin)
        return repr(kind) if name is None or name == kind or name.isdigit() else f"{name!r} ({kind})"


def _label(plugin: Any) -> str:
    kind = getattr(plugin, "__name__", None)
    return repr(kind if isinstance(kind, str) else f"{type(plugin).__module__}.{type(plugin).__qualname__}")


def _describe(value: Any) -> str:
    if inspect.iscoroutine(value):
        return "a coroutine (an async function?)"
    return f"a {type(value).__name__}"
