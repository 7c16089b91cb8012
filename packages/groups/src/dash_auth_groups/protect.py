"""Protecting functions, callbacks and page layouts with a :class:`Rule`.

``protected`` wraps any function (a layout, a helper) and returns a stand-in
output when the current user may not run it. ``protected_callback`` registers
a Dash callback whose rule is checked on the server before its body: by the
guard (a 403 when no stand-in output is configured) and again inside the
callback, so every transport that can run a callback (HTTP, WebSocket, MCP)
meets the same rule.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import dash
from dash.exceptions import PreventUpdate

from dash_auth_core import Identity, current_user, sample_path

from .page_meta import guard_page_texts
from .rules import RULE_KEYS, Rule, Verdict, page_rule

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


def _split_rule_kwargs(kwargs: dict[str, Any]) -> tuple[Rule, dict[str, Any]]:
    rule_kwargs = {key: kwargs.pop(key) for key in RULE_KEYS if key in kwargs}
    return Rule(**rule_kwargs), kwargs


#: (rule, identity) the guard just allowed: the callback need not decide again.
_cleared: ContextVar[tuple[Rule, Identity] | None] = ContextVar("dash_auth_groups_cleared", default=None)


def mark_cleared(rule: Rule, identity: Identity) -> None:
    """Record that the guard allowed ``identity`` past a static ``rule`` in this context."""
    if rule.is_static:
        _cleared.set((rule, identity))


def _verdict(rule: Rule) -> Verdict:
    identity = current_user()
    cleared = _cleared.get()
    if cleared is not None and identity is not None and cleared[0] is rule and cleared[1] is identity:
        return Verdict.ALLOWED  # a static rule and the same identity object: same answer
    return rule.evaluate(identity)


def guarded(func: Callable[..., Any], rule: Rule, on_unauthenticated: Any, on_forbidden: Any) -> Callable[..., Any]:
    """``func`` behind ``rule``; ``on_*`` are values to return or callables raising.

    The wrapper carries the rule as ``dash_auth_rule``: a page whose layout is
    one gets its title and description guarded too (see ``guard_protected_pages``).
    """

    def refused(verdict: Verdict) -> Any:
        outcome = on_unauthenticated if verdict is Verdict.UNAUTHENTICATED else on_forbidden
        if isinstance(outcome, type) and issubclass(outcome, BaseException):
            raise outcome()
        return outcome

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            verdict = _verdict(rule)
            if verdict is not Verdict.ALLOWED:
                return refused(verdict)
            return await func(*args, **kwargs)

        async_wrapper.dash_auth_rule = rule  # type: ignore[attr-defined]
        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verdict = _verdict(rule)
        if verdict is not Verdict.ALLOWED:
            return refused(verdict)
        return func(*args, **kwargs)

    wrapper.dash_auth_rule = rule  # type: ignore[attr-defined]
    return wrapper


def protected(
    unauthenticated_output: Any = None,
    missing_permissions_output: Any = None,
    **rule_kwargs: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate any function (a layout, a helper) so that it runs only for allowed users.

    Nobody signed in: returns ``unauthenticated_output``; signed in but not
    allowed by the rule (``groups``, ``check_type``, ``restricted_users``,
    ``restricted_users_key``, ``groups_key``, ``groups_str_split``,
    ``group_lookup``, ``restricted_users_lookup``, ``case_sensitive``):
    returns ``missing_permissions_output``.
    """
    rule, rest = _split_rule_kwargs(dict(rule_kwargs))
    if rest:
        raise TypeError(f"protected() got unexpected arguments: {', '.join(rest)}")

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        return guarded(func, rule, unauthenticated_output, missing_permissions_output)

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
DEFAULT_FORBIDDEN = "You do not have access to this page."


def protect_layout(page: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Wrap one ``dash.page_registry`` entry's layout with its rule (page keys win over ``defaults``)."""
    if page.get("_dash_auth_protected"):
        return
    from dash import html

    merged = {**defaults, **{key: page[key] for key in RULE_KEYS if key in page}}
    rule, rest = _split_rule_kwargs(merged)
    unauth = rest.get("unauthenticated_output", html.Div(DEFAULT_UNAUTHENTICATED, className="dash-auth-unauthenticated"))
    missing = rest.get("missing_permissions_output", html.Div(DEFAULT_FORBIDDEN, className="dash-auth-forbidden"))
    layout = page.get("layout")
    if callable(layout):
        func = layout
    else:

        def func(**_kwargs: Any) -> Any:
            return layout

    page["layout"] = guarded(func, rule, unauth, missing)
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


def protect_layouts(**kwargs: Any) -> None:
    """Wrap every private page's layout in ``dash.page_registry`` with :func:`protected`.

    ``kwargs`` (stand-in outputs and rule keys) apply where a page does not
    declare its own; pages whose path is a public route are left alone.
    """
    from dash_auth_core import AuthStack

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
    for page in dash.page_registry.values():
        if not page_is_public(stack, page):
            protect_layout(page, kwargs)


def page_is_public(stack: Any, page: dict[str, Any]) -> bool:
    """Whether anyone may open the page: its own path (a sample path for templates) is a
    public route, and the page declares no rule of its own (which wins over a public route)."""
    if page_rule(page) is not None:
        return False
    sample = sample_path(page)
    return sample is not None and stack.public_routes.test(sample)
