"""Dash components: sign out in one click, show who is signed in.

Plain ``dash.html`` components that the stack's page script (see
:mod:`dash_auth_core.browser`) brings to life, so they work in any layout,
static or a function, in Dash Pages and in callbacks' outputs, with every
provider and under URL prefixes, and need no component build::

    from dash_auth_core.components import CurrentUser, LogoutButton

    app.layout = html.Header([CurrentUser(show_email=True), LogoutButton()])

Both are styled by the ``--dash-auth-*`` CSS variables of the built-in pages
(``docs/pages.md``) and carry the classes ``dash-auth-logout-button`` and
``dash-auth-current-user`` for rules of your own.
"""

from __future__ import annotations

import json
from typing import Any

from dash import html

__all__ = ["CurrentUser", "LogoutButton"]


def LogoutButton(  # noqa: N802 - a component: named like Dash's
    label: str | None = None,
    *,
    id: Any = None,  # noqa: A002 - Dash's name
    className: str | None = None,  # noqa: N803
    style: dict[str, Any] | None = None,
    button_id: Any = None,
) -> html.Form:
    """A "Sign out" button: one click signs out (a POST with the session's CSRF token).

    ``label`` replaces the words "Sign out" (given, it is not translated).
    The POST goes to the logout route of the user's login (the OIDC route
    for an OIDC login, which continues at the provider's end-session page),
    and its answer is the signed-out page, with no confirmation on the way.
    ``id`` names the form, ``button_id`` the button; ``className`` and
    ``style`` go to the button.
    """
    button_props: dict[str, Any] = {
        "type": "submit",
        "className": " ".join(c for c in ("dash-auth-logout-button", className) if c),
    }
    if style is not None:
        button_props["style"] = style
    if button_id is not None:
        button_props["id"] = button_id
    if label is None:
        button_props["data-dash-auth-label"] = "sign_out"  # the page script puts the user's language
    form_props: dict[str, Any] = {
        "method": "post",
        "className": "dash-auth-logout-form",
        "data-dash-auth-logout": "true",
    }
    if id is not None:
        form_props["id"] = id
    return html.Form(html.Button("Sign out" if label is None else label, **button_props), **form_props)


def CurrentUser(  # noqa: N802 - a component: named like Dash's
    *,
    show_email: bool = False,
    show_groups: bool = False,
    sign_in: bool = True,
    sign_in_label: str | None = None,
    id: Any = None,  # noqa: A002 - Dash's name
    className: str | None = None,  # noqa: N803
    style: dict[str, Any] | None = None,
) -> html.Span:
    """The signed-in user's name (and, if asked, email and groups); "Sign in" for visitors.

    The "Sign in" link (``sign_in=False`` hides it) leads to the app's
    sign-in and back to the page it was on. The element has
    ``data-signed-in="true"`` or ``"false"`` once filled, and its parts the
    classes ``dash-auth-user-name``, ``dash-auth-user-email``,
    ``dash-auth-user-groups`` and ``dash-auth-sign-in``.
    """
    options: dict[str, Any] = {"email": bool(show_email), "groups": bool(show_groups), "signIn": bool(sign_in)}
    if sign_in_label is not None:
        options["signInLabel"] = str(sign_in_label)
    props: dict[str, Any] = {
        "className": " ".join(c for c in ("dash-auth-current-user", className) if c),
        "data-dash-auth-user": json.dumps(options),
    }
    if style is not None:
        props["style"] = style
    if id is not None:
        props["id"] = id
    return html.Span(**props)
