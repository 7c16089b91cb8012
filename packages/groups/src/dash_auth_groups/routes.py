"""Group rules for plain server routes (``@app.server.route``)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from .protect import guarded
from .rules import RULE_KEYS, Rule, Verdict


def _refusal(verdict: Verdict, as_json: bool) -> tuple[str, int, dict[str, str]]:
    status = 401 if verdict is Verdict.UNAUTHENTICATED else 403
    if as_json:
        error = "unauthenticated" if status == 401 else "forbidden"
        return json.dumps({"error": error}), status, {"Content-Type": "application/json", "Cache-Control": "no-store"}
    from dash_auth_core import html_page

    title = "Sign-in required" if status == 401 else "Forbidden"
    text = "You need to sign in to open this page." if status == 401 else "You are not allowed to open this page."
    page = html_page(status, title, f"<p>{html.escape(text)}</p>")
    return str(page.body), status, dict(page.headers, **{"Content-Type": page.content_type})


def require_groups(
    groups: Any = None, *, json_errors: bool = False, **rule_kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a server route so only users the rule allows reach it.

    ``@app.server.route("/admin") @require_groups(["admin"])``: no user gives
    401, a user without the groups 403 (an HTML page, or JSON with
    ``json_errors=True``). The rule takes the keys of :class:`Rule`.
    """
    unknown = set(rule_kwargs) - set(RULE_KEYS)
    if unknown:
        raise TypeError(f"require_groups() got unexpected arguments: {', '.join(sorted(unknown))}")
    rule = Rule(groups=groups, **rule_kwargs)
    unauthenticated = _refusal(Verdict.UNAUTHENTICATED, json_errors)
    forbidden = _refusal(Verdict.FORBIDDEN, json_errors)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        return guarded(view, rule, unauthenticated, forbidden)

    return decorator
