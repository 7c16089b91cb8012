"""The groups plugin: votes in the guard's ``authorize`` chain.

For every request the guard classified, it applies the rules the server
holds: a protected callback's rule, a page's rule (``register_page(...,
groups=[...])``), and, in layout-protection mode, lets routing to any
registered page through so the page's wrapped layout answers with a stand-in.
A default plugin of every stack once dash_auth_groups is imported (and an
entry point), it keeps per-app settings in ``auth.plugin_state["groups"]``.
It handles the options and checks the page keys this distribution declares
(``configure_option``, ``check_page``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dash

from dash_auth_core import AuthStack, ConfigurationError, Identity, Kind, Request, Resource, hookimpl

from .protect import (
    apply_pending_protect_layouts,
    callback_rule,
    guard_protected_pages,
    mark_cleared,
    page_is_public,
    protect_layout,
)
from .rules import RULE_KEYS, Rule, Verdict, check_page, page_rule
from .seed_session import note_guarded

EXTENSION_KEY = "groups"
__all__ = ["authorize", "check_page", "configure_option", "setup"]
_SHELL = frozenset({"_dash-layout", "_dash-dependencies"})


@dataclass
class Settings:
    """One app's groups settings."""

    protect_layouts: bool = False
    layout_kwargs: dict[str, Any] = field(default_factory=dict)
    wrapped_pages: int = -1
    checked_pages: int = -1  #: registry size when pages with protected() layouts were last looked for
    callback_rules: dict[str, Any] = field(default_factory=dict)


def settings(auth: AuthStack) -> Settings:
    found = auth.plugin_state.get(EXTENSION_KEY)
    if found is None:
        found = auth.plugin_state[EXTENSION_KEY] = Settings()
    return found


def _wrap_layouts(auth: AuthStack, state: Settings) -> None:
    registry = dash.page_registry
    if state.wrapped_pages == len(registry):
        return
    for page in registry.values():
        if not page_is_public(auth, page):
            protect_layout(page, state.layout_kwargs)
    state.wrapped_pages = len(registry)


def _callback_vote(state: Settings, identity: Identity | None, resource: Resource) -> bool | None:
    cache = state.callback_rules
    marker = cache.get(resource.name, False)
    if marker is False:
        marker = callback_rule((resource.callback or {}).get("callback"))
        cache[resource.name] = marker
    if marker is None:
        return None
    verdict = marker.rule.evaluate(identity)
    if verdict is Verdict.FORBIDDEN and not marker.has_missing_permissions_output:
        return False
    if verdict is Verdict.ALLOWED and identity is not None:
        mark_cleared(marker.rule, identity)
    return None  # allowed, or a stand-in output the callback itself returns


@hookimpl
def setup(app: Any, auth: AuthStack) -> None:
    note_guarded(app.server)  # its requests' users come from the guard only, never a raw session
    apply_pending_protect_layouts(auth)


@hookimpl
def authorize(identity: Identity | None, resource: Resource, request: Request) -> bool | None:
    auth = request.auth
    if auth is None:
        return None
    state = settings(auth)
    if resource.kind is Kind.CALLBACK and resource.pathname is None:
        return _callback_vote(state, identity, resource) if resource.callback is not None else None
    if resource.kind is Kind.MCP:
        return _mcp_vote(auth, identity)
    if (
        state.protect_layouts
        and resource.kind is Kind.DASH_INTERNAL
        and resource.name in _SHELL
        and getattr(auth.app, "use_pages", False)
    ):
        return True  # layout mode serves a Pages app's shell to anyone; pages decide themselves
    page = resource.page
    if page is None or resource.kind not in (Kind.PAGE, Kind.CALLBACK):
        return None
    prepare_pages(auth)
    if state.protect_layouts:
        # Layout mode: routing to any registered page goes through; the page's
        # wrapped layout answers with a stand-in for users it refuses.
        return True
    rule = page_rule(page)
    if rule is None or rule.evaluate(identity) is Verdict.ALLOWED:
        return None
    # Refused, and a page's own rule wins over a public route matching its path:
    # without a user, the core then asks them to sign in.
    return False


def prepare_pages(auth: AuthStack) -> None:
    """Put every page's rules in place: guarded titles of ``protected()`` layouts, and
    in layout mode the wrapped layouts. Cheap when the registry has not grown."""
    state = settings(auth)
    if state.checked_pages != len(dash.page_registry):
        guard_protected_pages()
        state.checked_pages = len(dash.page_registry)
    if state.protect_layouts:
        _wrap_layouts(auth, state)


def page_rules(page: dict[str, Any]) -> list[Rule]:
    """The rules a page is served under: its own, and its layout's (``protected()`` or layout mode)."""
    rules = []
    own = page_rule(page)
    if own is not None:
        rules.append(own)
    layout_rule = getattr(page.get("layout"), "dash_auth_rule", None)
    if isinstance(layout_rule, Rule):
        rules.append(layout_rule)
    return rules


def _mcp_vote(auth: AuthStack, identity: Identity | None) -> bool | None:
    """MCP reads every page layout and runs callbacks: only for users every rule allows."""
    if identity is None:
        return None  # the core asks for a login
    prepare_pages(auth)  # a fresh worker's first request may be this one
    for page in dash.page_registry.values():
        if any(rule.evaluate(identity) is not Verdict.ALLOWED for rule in page_rules(page)):
            return False
    for entry in list(auth.app.callback_map.values()):
        marker = callback_rule(entry.get("callback"))
        if marker is not None and marker.rule.evaluate(identity) is not Verdict.ALLOWED:
            return False
    return None


def configure_option(auth: AuthStack, name: str, value: Any) -> None:
    """Handle the stack options ``auth_protect_layouts`` and ``auth_protect_layouts_kwargs``."""
    state = settings(auth)
    if name == "auth_protect_layouts":
        state.protect_layouts = bool(value)
    elif name == "auth_protect_layouts_kwargs":
        if value is not None and not isinstance(value, dict):
            raise ConfigurationError("auth_protect_layouts_kwargs must be a dict of protected() arguments")
        state.layout_kwargs = dict(value or {})
        Rule(**{k: v for k, v in state.layout_kwargs.items() if k in RULE_KEYS})  # validate now
    state.wrapped_pages = -1
