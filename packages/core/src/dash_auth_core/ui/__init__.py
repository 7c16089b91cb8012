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

from .i18n import DEFAULT_LANGUAGE, register_package
from .pages import (
    confirmation_page,
    error_page,
    forbidden_page,
    refusal_page,
    sign_in_required_page,
    signed_out_page,
    too_many_attempts_page,
    unavailable_page,
)
from .render import (
    base_context,
    gettext,
    language_for,
    ngettext,
    render_page,
    translate,
    wait_message,
)
from .render import (
    stylesheet as stylesheet,  # (the components' CSS; not in __all__)
)
from .routes import add_logout_url
from .settings import OPTIONS, UISettings, configure, settings
from .theme import Theme

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

