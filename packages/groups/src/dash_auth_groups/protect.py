"""Protecting functions, callbacks and page layouts with a :class:`Rule`.

``protected`` wraps any function (a layout, a helper) and returns a stand-in
output when the current user may not run it. ``protected_callback`` registers
a Dash callback whose rule is checked on the server before its body: by the
guard (a 403 when no stand-in output is configured) and again inside the
callback, so every transport that can run a callback (HTTP, WebSocket, MCP)
meets the same rule.

A stand-in output may be a value or a callable, as in dash-auth-plus: a
callable is called (and awaited when it returns an awaitable) each time it
stands in, with ``path=`` when it accepts a ``path`` keyword.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import dash
from dash.exceptions import PreventUpdate

from dash_auth_core import Identity, sample_path

from .page_meta import guard_page_texts
from .rules import RULE_KEYS, Rule, Verdict, page_path, page_rule, rule_from
from .seed_session import current_subject

_UNSET: Any = object()

#: A page registry key: the ``protected()`` layout whose rule the page's title and description follow.
_TEXTS_GUARDED_FOR = "_dash_auth_texts_guarded_for"


@dataclass(frozen=True)
class CallbackRule:
    """A protected callback's rule, and whether it has stand-in outputs."""

    rule: Rule
    has_unauthenticated_output: bool
    has_missing_permissions_output: bool


_callback_rules: weakref.WeakKeyDictionary[Callable[..., Any], CallbackRule] = weakref.WeakKeyDictionary()


def callback_rule(func: Any) -> CallbackRule | None:
    """The rule of a registered callback function (following ``__wrapped__``)."""
    for _ in range(32):
        if func is None:
            return None
        try:
            found = _callback_rules.get(func)
        except TypeError:
            return None
        if found is not None:
            return found
        func = getattr(func, "__wrapped__", None)
    return None


def _split_rule_kwargs(kwargs: dict[str, Any], path: str | None = None) -> tuple[Rule, dict[str, Any]]:
    rule_kwargs = {key: kwargs.pop(key) for key in RULE_KEYS if key in kwargs}
    return rule_from(rule_kwargs, path), kwargs


#: (rule, identity) the guard just allowed: the callback need not decide again.
_cleared: ContextVar[tuple[Rule, Identity] | None] = ContextVar("dash_auth_groups_cleared", default=None)


def mark_cleared(rule: Rule, identity: Identity) -> None:
    """Record that the guard allowed ``identity`` past a static ``rule`` in this context."""
    if rule.is_static:
        _cleared.set((rule, identity))


def _verdict(rule: Rule) -> Verdict:
    identity = current_subject()
    cleared = _cleared.get()
    if cleared is not None and identity is not None and cleared[0] is rule and cleared[1] is identity:
        return Verdict.ALLOWED  # a static rule and the same identity object: same answer
    return rule.evaluate(identity)


def _stand_in(outcome: Any, path: str | None) -> Any:
    """What a stand-in output gives: raised if an exception class, called if callable, else itself."""
    if isinstance(outcome, type) and issubclass(outcome, BaseException):
        raise outcome()
    if not callable(outcome):
        return outcome
    if path is not None and _takes_path(outcome):
        return outcome(path=path)
    if path is None and _needs_path(outcome):
        return outcome(path=None)  # asked for a path nobody knows: it says what to show without one
    return outcome()


def _takes_path(func: Any) -> bool:
    from .rules import takes_path

    return takes_path(func)


def _needs_path(func: Any) -> bool:
    """Whether ``func`` has a ``path`` parameter without a default."""
    try:
        parameter = inspect.signature(func).parameters.get("path")
    except (TypeError, ValueError):
        return False
    return (
        parameter is not None
        and parameter.default is parameter.empty
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    )


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _resolve(result: Any) -> Any:
    """An awaitable's result, from synchronous code (a sync function with an async stand-in).

    With no event loop running in this thread it runs on a fresh one; from
    code that runs on a loop (which must not block on itself) it runs on a
    helper thread's loop, in a copy of this context (so ``current_user()``
    still answers).
    """
    if not inspect.isawaitable(result):
        return result
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(result))
    import concurrent.futures

    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(context.run, asyncio.run, _awaited(result)).result()


def guarded(
    func: Callable[..., Any], rule: Rule, on_unauthenticated: Any, on_forbidden: Any, path: str | None = None
) -> Callable[..., Any]:
    """``func`` behind ``rule``; ``on_*`` are stand-in outputs (see :func:`_stand_in`).

    ``path`` is what callable stand-ins that accept one are given. The
    wrapper carries the rule as ``dash_auth_rule``: a page whose layout is
    one gets its title and description guarded too (see ``guard_protected_pages``).
    """

    def refused(verdict: Verdict) -> Any:
        outcome = on_unauthenticated if verdict is Verdict.UNAUTHENTICATED else on_forbidden
        return _stand_in(outcome, path)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            verdict = _verdict(rule)
            if verdict is not Verdict.ALLOWED:
                result = refused(verdict)
                return (await result) if inspect.isawaitable(result) else result
            return await func(*args, **kwargs)

        async_wrapper.dash_auth_rule = rule  # type: ignore[attr-defined]
        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verdict = _verdict(rule)
        if verdict is not Verdict.ALLOWED:
            return _resolve(refused(verdict))
        return func(*args, **kwargs)

    wrapper.dash_auth_rule = rule  # type: ignore[attr-defined]
    return wrapper


def protected(
    unauthenticated_output: Any = None,
    missing_permissions_output: Any = _UNSET,
    *,
    path: str | None = None,
    path_template: str | None = None,
    **rule_kwargs: Any,
) -> Callable[[Any], Callable[..., Any]]:
    """Decorate any function (a layout, a helper) so that it runs only for allowed users.

    Nobody signed in: returns ``unauthenticated_output``; signed in but not
    allowed by the rule (``groups``, ``check_type``, ``restricted_users``,
    ``restricted_users_key`` or ``user_session_key``, ``groups_key``,
    ``groups_str_split``, ``group_lookup``, ``restricted_users_lookup``,
    ``case_sensitive``): returns ``missing_permissions_output``, which
    defaults to ``unauthenticated_output``.

    A stand-in output may be a value or a callable; a callable is called
    each time (and awaited if it returns an awaitable), with
    ``path=path_template or path`` when it accepts a ``path`` keyword. A
    ``groups`` callable that accepts ``path`` gets it too. Decorating a value
    instead of a function gives a function that returns it to allowed users
    (a layout).
    """
    where = path_template or path
    rule, rest = _split_rule_kwargs(dict(rule_kwargs), where)
    if rest:
        raise TypeError(f"protected() got unexpected arguments: {', '.join(rest)}")
    if missing_permissions_output is _UNSET:
        missing_permissions_output = unauthenticated_output

    def decorator(func: Any) -> Callable[..., Any]:
        if not callable(func):
            value = func

            def func(*_args: Any, **_kwargs: Any) -> Any:
                return value

        return guarded(func, rule, unauthenticated_output, missing_permissions_output, where)

    return decorator


def protected_callback(
    *callback_args: Any,
    unauthenticated_output: Any = _UNSET,
    missing_permissions_output: Any = _UNSET,
    app: Any = None,
    **kwargs: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``dash.callback`` whose body runs only for users the rule allows.

    Takes ``dash.callback``'s arguments plus the rule's. A refused user gets
    ``missing_permissions_output`` (or ``unauthenticated_output``) when given;
    otherwise the server refuses the request itself (403, or 401 without a
    user) and the body never runs. ``app=`` registers with ``app.callback``
    instead of ``dash.callback``.
    """
    rule, callback_kwargs = _split_rule_kwargs(dict(kwargs))
    has_unauth = unauthenticated_output is not _UNSET
    has_missing = missing_permissions_output is not _UNSET
    marker = CallbackRule(rule, has_unauth, has_missing)
    on_unauth = unauthenticated_output if has_unauth else PreventUpdate
    on_missing = missing_permissions_output if has_missing else PreventUpdate
    register = (app.callback if app is not None else dash.callback)(*callback_args, **callback_kwargs)

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        wrapper = guarded(func, rule, on_unauth, on_missing)
        _callback_rules[wrapper] = marker
        _callback_rules[func] = marker
        register(wrapper)
        return func

    return decorator


DEFAULT_UNAUTHENTICATED = "You need to sign in to see this page."
#: Stand-in outputs a page may declare in ``register_page`` (they win over ``protect_layouts``' own).
_OUTPUT_KEYS = ("unauthenticated_output", "missing_permissions_output")
DEFAULT_FORBIDDEN = "You do not have access to this page."


def protect_layout(page: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Wrap one ``dash.page_registry`` entry's layout with its rule (page keys win over ``defaults``)."""
    if page.get("_dash_auth_protected"):
        return
    from dash import html

    own = {key: page[key] for key in (*RULE_KEYS, *_OUTPUT_KEYS) if key in page}
    merged = {**defaults, **own}
    path = page_path(page)
    rule, rest = _split_rule_kwargs(merged, path)
    unauth = rest.get("unauthenticated_output", _UNSET)
    missing = rest.get("missing_permissions_output", _UNSET)
    if missing is _UNSET:
        # As in protected(): the one stand-in given serves both cases.
        missing = html.Div(DEFAULT_FORBIDDEN, className="dash-auth-forbidden") if unauth is _UNSET else unauth
    if unauth is _UNSET:
        unauth = html.Div(DEFAULT_UNAUTHENTICATED, className="dash-auth-unauthenticated")
    layout = page.get("layout")
    if callable(layout):
        func = layout
    else:

        def func(**_kwargs: Any) -> Any:
            return layout

    page["layout"] = guarded(func, rule, unauth, missing, path)
    guard_page_texts(page, functools.partial(allows, rule))
    page[_TEXTS_GUARDED_FOR] = page["layout"]
    page["_dash_auth_protected"] = True


def allows(rule: Rule) -> bool:
    """Whether the current user passes ``rule``."""
    return _verdict(rule) is Verdict.ALLOWED


def guard_protected_pages() -> None:
    """Guard the title and description of pages whose layout is a :func:`protected` function.

    Their layout shows a stand-in to refused users; what Dash shows around it
    (meta tags, document title) must not tell more.
    """
    for page in dash.page_registry.values():
        layout = page.get("layout")
        rule = getattr(layout, "dash_auth_rule", None)
        if isinstance(rule, Rule) and page.get(_TEXTS_GUARDED_FOR) is not layout:
            guard_page_texts(page, functools.partial(allows, rule))
            page[_TEXTS_GUARDED_FOR] = layout


def protect_layouts(public_routes: Any = None, **kwargs: Any) -> None:
    """Wrap every private page's layout in ``dash.page_registry`` with :func:`protected`.

    ``kwargs`` (stand-in outputs and rule keys) apply where a page does not
    declare its own (a page's ``register_page(..., unauthenticated_output=...)``
    wins); pages whose path is a public route of the app are left alone, and
    so are pages whose ``path`` or ``path_template`` is in ``public_routes``
    (a list, or an object with a ``test(path)`` method), as in dash-auth-plus.
    Callable stand-ins and ``groups`` callables that accept ``path`` get the
    page's ``path_template`` or ``path``.
    """
    from dash_auth_core import AuthStack

    if public_routes is not None:
        kwargs["_public_routes"] = public_routes
    try:
        stack = AuthStack.get(dash.get_app())
    except Exception:  # no app yet
        stack = None
    if stack is None:
        # Called before the app's auth: which pages are public is not known yet.
        _pending_protect_layouts.append(kwargs)
        return
    _protect_layouts(stack, kwargs)


#: ``protect_layouts()`` calls made before the app had a stack, applied at its setup.
_pending_protect_layouts: list[dict[str, Any]] = []


def apply_pending_protect_layouts(stack: Any) -> None:
    while _pending_protect_layouts:
        _protect_layouts(stack, _pending_protect_layouts.pop(0))


def _protect_layouts(stack: Any, kwargs: dict[str, Any]) -> None:
    kwargs = dict(kwargs)
    listed = kwargs.pop("_public_routes", None)
    for page in dash.page_registry.values():
        if not page_is_public(stack, page) and not _listed(listed, page):
            protect_layout(page, kwargs)


def _listed(public_routes: Any, page: dict[str, Any]) -> bool:
    """Whether ``protect_layouts(public_routes=...)`` names the page (by path or template)."""
    if public_routes is None:
        return False
    paths = [p for p in (page.get("path"), page.get("path_template")) if isinstance(p, str)]
    test = getattr(public_routes, "test", None)
    if callable(test):
        for path in paths:
            try:
                if test(path):
                    return True
            except Exception:  # a path the matcher cannot read: not listed
                continue
        return False
    if isinstance(public_routes, str):
        public_routes = [public_routes]
    return any(path in public_routes for path in paths)


def page_is_public(stack: Any, page: dict[str, Any]) -> bool:
    """Whether anyone may open the page: its own path (a sample path for templates) is a
    public route, and the page declares no rule of its own (which wins over a public route)."""
    if page_rule(page) is not None:
        return False
    sample = sample_path(page)
    return sample is not None and stack.public_routes.test(sample)
