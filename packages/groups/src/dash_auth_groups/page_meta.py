"""What a page shows outside its layout, kept from the users its rule refuses.

Dash Pages puts a page's title and description in the index page's meta tags
(with its image and URL) and sends the title with the routing callback's
answer. Layout mode (and a page whose layout is a ``protected()`` function)
serves the page's shell to everyone, so for a refused user these would tell
what the stand-in layout hides, and a title function would run for them. Here the title and description answer per user when
Dash asks for them, and the index of a refused page carries the app's meta
tags only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import dash

#: A page registry key: whether the current user may see the page (set by ``guard_page_texts``).
ALLOWED_KEY = "_dash_auth_allowed"


class GuardedText(str):
    """A page's text as the string it is, which Dash calls (``callable(title)``) to get it per user.

    Code that reads the registry (menus) still gets the plain text; Dash's
    own meta tags and document title get ``fallback()`` for refused users.
    """

    __slots__ = ("allowed", "fallback")

    allowed: Callable[[], bool]
    fallback: Callable[[], str]

    def __new__(cls, text: str, allowed: Callable[[], bool], fallback: Callable[[], str]) -> GuardedText:
        self = super().__new__(cls, text)
        self.allowed = allowed
        self.fallback = fallback
        return self

    def __call__(self, *_args: Any, **_kwargs: Any) -> str:
        return str(self) if self.allowed() else self.fallback()


def guarded_text(value: Any, allowed: Callable[[], bool], fallback: Callable[[], str]) -> Any:
    """``value`` (a string or a title function) answering ``fallback()`` to refused users."""
    if isinstance(value, GuardedText):
        return value
    if isinstance(value, str):
        return GuardedText(value, allowed, fallback)
    if not callable(value):
        return value
    func = value
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_text(*args: Any, **kwargs: Any) -> Any:
            return await func(*args, **kwargs) if allowed() else fallback()

        return async_text

    @functools.wraps(func)
    def text(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs) if allowed() else fallback()

    return text


def guard_page_texts(page: dict[str, Any], allowed: Callable[[], bool]) -> None:
    """Make a registry entry's title and description answer per user; remember ``allowed``."""

    def app_title() -> str:
        return dash.get_app().title

    page[ALLOWED_KEY] = allowed
    if "title" in page:
        page["title"] = guarded_text(page["title"], allowed, app_title)
    if "description" in page:
        page["description"] = guarded_text(page["description"], allowed, str)


def hide_refused_page_meta(app: dash.Dash) -> None:
    """Serve the index of a page the current user is refused without the page's meta tags.

    Dash's index view calls ``app.index()`` on every request; this instance
    attribute renders it, for a refused page, as if ``include_pages_meta``
    were off (the app's own meta tags stay).
    """
    if getattr(app, "_dash_auth_page_meta_hidden", False):
        return
    original = app.index
    index_function = type(app).index

    def index(*args: Any, **kwargs: Any) -> Any:
        if app.use_pages and app.config.include_pages_meta and _refused_here(app):
            return index_function(_WithoutPageMeta(app), *args, **kwargs)
        return original(*args, **kwargs)

    app.index = index  # type: ignore[method-assign]
    app._dash_auth_page_meta_hidden = True  # type: ignore[attr-defined]


def _refused_here(app: dash.Dash) -> bool:
    from dash import _pages

    request = app.backend.request_adapter()
    if not request:
        return False
    # The very look-up Dash's meta tags make for this request.
    page, _variables = _pages._path_to_page(request.path.strip("/"))  # noqa: SLF001
    allowed = page.get(ALLOWED_KEY) if page else None
    return allowed is not None and not allowed()


class _WithoutPageMeta:
    """The app as Dash's ``index()`` sees it, with ``include_pages_meta`` off for this one call."""

    def __init__(self, app: dash.Dash) -> None:
        from dash._utils import AttributeDict

        self._app = app
        self.config = AttributeDict({**app.config, "include_pages_meta": False})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)
