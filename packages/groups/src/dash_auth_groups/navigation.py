"""Menus that show only what the current user may open."""

from __future__ import annotations

from typing import Any

import dash

from dash_auth_core import PAGE_ALLOWED_KEY, AuthStack, current_user

from .plugin import prepare_pages, settings
from .protect import page_is_public
from .rules import Verdict, page_rule


def accessible_pages(app: dash.Dash | None = None) -> list[dict[str, Any]]:
    """The entries of ``dash.page_registry`` the current user may open, in registry order.

    Uses the guard's rules: public pages for everyone; other pages for
    signed-in users whose identity passes the page's own rule. In
    layout-protection mode a page the user may not see is left out too, even
    though the server would answer it with a stand-in.
    """
    app = app or dash.get_app()
    stack = AuthStack.get(app)
    if stack is not None:
        prepare_pages(stack)  # a menu may be drawn before the process served any page
    identity = current_user()
    pages = []
    for page in dash.page_registry.values():
        allowed = page.get(PAGE_ALLOWED_KEY)  # a protected() layout, or layout mode
        if allowed is not None and not allowed():
            continue
        if stack is not None and page_is_public(stack, page):
            pages.append(page)
            continue
        if identity is None:
            continue
        rule = page_rule(page)
        if rule is None and stack is not None and settings(stack).protect_layouts:
            from .rules import page_path, rule_from

            rule = rule_from(settings(stack).layout_kwargs, page_path(page))
        if rule is None or rule.evaluate(identity) is Verdict.ALLOWED:
            pages.append(page)
    return pages
