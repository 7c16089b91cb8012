"""Group rules for plain server routes (``@app.server.route`` and friends)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import dash

from dash_auth_core import AuthStack, Response, html_page, json_error

from .rules import RULE_KEYS, Rule, Verdict


def _refusal(verdict: Verdict, as_json: bool) -> Response:
    if verdict is Verdict.UNAUTHENTICATED:
        if as_json:
            return json_error(401, "unauthenticated", "sign in to use this")
        return html_page(401, "Sign-in required", "<p>You need to sign in to open this page.</p>")
    if as_json:
        return json_error(403, "forbidden", "you are not allowed to use this")
    return html_page(403, "Forbidden", "<p>You are not allowed to open this page.</p>")


def require_groups(
    groups: Any = None, *, json_errors: bool = False, app: dash.Dash | None = None, **rule_kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a server route so only users the rule allows reach it.

    ``@app.server.route("/admin") @require_groups(["admin"])``: no user gives
    401, a user without the groups 403 (an HTML page, or JSON with
    ``json_errors=True``), as the framework's own response. The rule takes
    the keys of :class:`Rule`. ``app`` defaults to ``dash.get_app()``.
    """
    unknown = set(rule_kwargs) - set(RULE_KEYS)
    if unknown:
        raise TypeError(f"require_groups() got unexpected arguments: {', '.join(sorted(unknown))}")
    rule = Rule(groups=groups, **rule_kwargs)

    def refuse(verdict: Verdict) -> Any:
        stack = AuthStack.get(app or dash.get_app())
        if stack is None:
            raise RuntimeError("require_groups needs an app protected by dash-auth")
        return stack.adapter.native_response(_refusal(verdict, json_errors))

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                verdict = rule.evaluate_current()
                return refuse(verdict) if verdict is not Verdict.ALLOWED else await view(*args, **kwargs)

            return async_wrapper

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verdict = rule.evaluate_current()
            return refuse(verdict) if verdict is not Verdict.ALLOWED else view(*args, **kwargs)

        return wrapper

    return decorator
