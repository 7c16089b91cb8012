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

from ..responses import Response, html_page
from . import i18n

if TYPE_CHECKING:
    from .settings import UISettings

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
        env = settings.environment() if settings is not None else None
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
