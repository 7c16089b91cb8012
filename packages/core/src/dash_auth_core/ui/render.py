"""Rendering the built-in pages from Jinja2 templates, safely.

Templates are looked up by name in the app's ``templates_folder`` (if it set
one), then in every registered package's ``templates/`` folder (see
:func:`dash_auth_core.ui.register_package`), the core's last. Everything is
autoescaped. A page that fails to render from an app's templates is logged
and rendered from the built-in ones; if even that fails (a bug), a minimal
page with the same status is answered: never a 500 with a traceback.
"""

from __future__ import annotations

import logging
import threading
from contextvars import ContextVar
from gettext import NullTranslations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from .. import csrf
from ..responses import Response, html_page
from . import i18n
from .i18n import DEFAULT_LANGUAGE
from .settings import UISettings, settings

if TYPE_CHECKING:
    from ..backends import Request
    from ..stack_view import StackView

log = logging.getLogger("dash_auth")

_translations: ContextVar[NullTranslations | None] = ContextVar("dash_auth_translations", default=None)
_ENGLISH = NullTranslations()
_builtin: tuple[tuple[str, ...], jinja2.Environment] | None = None
_lock = threading.Lock()


def gettext(message: str) -> str:
    """``message`` in the language of the page being rendered."""
    return (_translations.get() or _ENGLISH).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return (_translations.get() or _ENGLISH).ngettext(singular, plural, n)


def wait_message(seconds: Any) -> str:
    """"Try again in 45 seconds." / "in 3 minutes." in the page's language."""
    try:
        total = max(1, int(float(seconds) + 0.999))
    except (TypeError, ValueError):
        return gettext("Wait a moment and try again.")
    if total < 120:
        return ngettext("Try again in %(num)d second.", "Try again in %(num)d seconds.", total) % {"num": total}
    minutes = (total + 59) // 60
    return ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", minutes) % {"num": minutes}


def _new_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["wait_message"] = wait_message
    return env


def builtin_loader() -> jinja2.BaseLoader:
    """The registered packages' template folders, most specific first."""
    folders = [folder for name in i18n.packages() if (folder := i18n.package_folder(name, "templates")) is not None]
    return jinja2.FileSystemLoader([str(f) for f in folders])


def builtin_environment() -> jinja2.Environment:
    """The environment of the shipped templates (rebuilt when a package registers)."""
    global _builtin
    key = i18n.packages()
    current = _builtin
    if current is not None and current[0] == key:
        return current[1]
    with _lock:
        env = _new_environment(builtin_loader())
        _builtin = (key, env)
    return env


def app_environment(folder: Path) -> jinja2.Environment:
    """An app's templates first, then the shipped ones."""
    return _new_environment(jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(folder)), builtin_loader()]))


def render_text(settings: UISettings | None, name: str, context: dict[str, Any], language: str) -> str | None:
    """The template ``name`` rendered, from the app's folder if it has one; ``None`` if nothing could be."""
    extra = settings.locale_folders if settings is not None else ()
    token = _translations.set(i18n.translations(language, extra))
    try:
        env = app_environment_of(settings) if settings is not None else None
        if env is not None:
            try:
                return env.get_template(name).render(context)
            except Exception:
                log.exception(
                    "the page template %r from templates_folder failed to render; showing the built-in page", name
                )
        try:
            return builtin_environment().get_template(name).render(context)
        except Exception:
            log.exception("the built-in page template %r failed to render", name)
            return None
    finally:
        _translations.reset(token)


def fallback_page(status: int, headers: dict[str, str] | None = None) -> Response:
    """What is answered when no template renders: a bare page, same status and headers."""
    return html_page(status, f"Error {status}", "<p>This page could not be shown. Try again later.</p>", headers)


def app_environment_of(found: UISettings) -> jinja2.Environment | None:
    """The app's template environment (kept on its settings), or ``None`` without a ``templates_folder``."""
    if found.templates_folder is None:
        return None
    key = i18n.packages()
    if found._env is None or found._env_key != key:
        found._env = app_environment(found.templates_folder)
        found._env_key = key
    return found._env


def _stack_of(request: Request | None, stack: StackView | None) -> StackView | None:
    return stack if stack is not None else getattr(request, "auth", None)


def language_for(request: Request | None, stack: StackView | None = None) -> str:
    """The language of ``request``'s pages: the app's choice, else ``Accept-Language``, else English."""
    found = settings(_stack_of(request, stack))
    return i18n.choose(request, found.language, found.locale_folders)


def translate(request: Request | None, message: str, stack: StackView | None = None) -> str:
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


def base_context(request: Request | None, stack: StackView | None = None, language: str | None = None) -> dict[str, Any]:
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
    stack: StackView | None = None,
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
    text = render_text(found, template, values, language)
    if text is None:
        return fallback_page(status, merged)
    return Response(status, text, "text/html; charset=utf-8", merged)


def stylesheet(stack: StackView | None) -> str:
    """The components' CSS with the app's theme colours, for the Dash app's own pages.

    (``Theme.css`` is for the built-in pages only: a Dash app styles itself in its assets.)
    """
    found = settings(stack)
    text = render_text(found, "dash_auth.css", {}, DEFAULT_LANGUAGE) or ""
    return text + found.theme.stylesheet(components=True)
