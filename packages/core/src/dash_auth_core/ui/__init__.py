"""The pages people see: templates, theme and language of the stack's built-in pages.

Plugins render a page with :func:`render_page` (a template name, a status and
the template's variables) and get a :class:`~dash_auth_core.Response`; the
look comes from the app's :class:`Theme`, the words from the gettext
catalogue of the request's language, and an app can replace any template by
name (``templates_folder=``). See ``docs/pages.md``.

A distribution that ships pages of its own (``dash_auth_basic``'s sign-in
form, ``dash_auth_oidc``'s provider chooser) keeps them in its package's
``templates/`` folder and its translations in ``locale/``, and calls
:func:`register_package` when imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from .. import csrf
from ..responses import Response
from . import i18n, render
from .i18n import DEFAULT_LANGUAGE, register_package
from .render import gettext, ngettext, wait_message
from .settings import OPTIONS, UISettings, configure, settings
from .theme import Theme

if TYPE_CHECKING:
    from ..backends import Request
    from ..stack import AuthStack

__all__ = [
    "DEFAULT_LANGUAGE",
    "OPTIONS",
    "Theme",
    "UISettings",
    "add_logout_url",
    "base_context",
    "configure",
    "confirmation_page",
    "error_page",
    "forbidden_page",
    "gettext",
    "language_for",
    "ngettext",
    "refusal_page",
    "register_package",
    "render_page",
    "settings",
    "sign_in_required_page",
    "signed_out_page",
    "too_many_attempts_page",
    "translate",
    "unavailable_page",
    "wait_message",
]


def _stack_of(request: Request | None, stack: AuthStack | None) -> AuthStack | None:
    return stack if stack is not None else getattr(request, "auth", None)


def language_for(request: Request | None, stack: AuthStack | None = None) -> str:
    """The language of ``request``'s pages: the app's choice, else ``Accept-Language``, else English."""
    found = settings(_stack_of(request, stack))
    return i18n.choose(request, found.language, found.locale_folders)


def translate(request: Request | None, message: str, stack: AuthStack | None = None) -> str:
    """``message`` (an English source string of the catalogue) in ``request``'s language."""
    found = settings(_stack_of(request, stack))
    return i18n.translations(language_for(request, stack), found.locale_folders).gettext(message)


def _identity(request: Request | None) -> Any:
    if request is None:
        return None
    identity = request.state.get("identity") if isinstance(getattr(request, "state", None), dict) else None
    if identity is None:
        from ..context import current_user

        identity = current_user()
    return identity


def base_context(request: Request | None, stack: AuthStack | None = None, language: str | None = None) -> dict[str, Any]:
    """What every page template gets (see ``docs/pages.md`` for the list)."""
    stack = _stack_of(request, stack)
    found = settings(stack)
    theme = found.theme
    language = language or language_for(request, stack)
    app_title = theme.title
    if app_title is None and stack is not None:
        app_title = getattr(stack.app, "title", None)
    return {
        "lang": language,
        "lang_tag": language.replace("_", "-"),
        "app_title": app_title or "Dash",
        "logo": theme.logo,
        "theme_css": Markup(theme.stylesheet()),
        "extra_css": Markup(theme.extra_css),
        "color_scheme_meta": {"auto": "light dark"}.get(theme.color_scheme, theme.color_scheme),
        "home_url": stack.requests_prefix if stack is not None else "/",
        "user": _identity(request),
        "csrf_field": csrf.FIELD,
    }


def render_page(
    request: Request | None,
    template: str,
    status: int = 200,
    *,
    stack: AuthStack | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The page ``template`` (a name such as ``"login.html"``) as an HTML response.

    ``context`` adds to (or replaces) :func:`base_context`. Values are
    escaped in the page unless they are :class:`markupsafe.Markup`. An
    app's template that fails to render is logged and the built-in one
    answers; the response always has ``status``.
    """
    stack = _stack_of(request, stack)
    found = settings(stack)
    language = language_for(request, stack)
    values = {**base_context(request, stack, language), "status": status, **context}
    extra = {"Cache-Control": "no-store", "Content-Language": values["lang_tag"], "Vary": "Accept-Language"}
    merged = {**extra, **(headers or {})}
    text = render.render_text(found, template, values, language)
    if text is None:
        return render.fallback_page(status, merged)
    return Response(status, text, "text/html; charset=utf-8", merged)


def stylesheet(stack: AuthStack | None) -> str:
    """The components' CSS with the app's theme colours, for the Dash app's own pages.

    (``Theme.css`` is for the built-in pages only: a Dash app styles itself in its assets.)
    """
    found = settings(stack)
    text = render.render_text(found, "dash_auth.css", {}, DEFAULT_LANGUAGE) or ""
    return text + found.theme.stylesheet(components=True)


# The page builders and the logout-URL registry use render_page and stylesheet above.
from .pages import (  # noqa: E402
    confirmation_page,
    error_page,
    forbidden_page,
    refusal_page,
    sign_in_required_page,
    signed_out_page,
    too_many_attempts_page,
    unavailable_page,
)
from .routes import add_logout_url  # noqa: E402
