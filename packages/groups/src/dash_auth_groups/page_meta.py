"""What a page shows outside its layout, kept from the users its rule refuses.

Dash Pages puts a page's title and description in the index page's meta tags
(with its image and URL) and sends the title with the routing callback's
answer. Layout mode (and a page whose layout is a ``protected()`` function)
serves the page's shell to everyone, so for a refused user these would tell
what the stand-in layout hides, and a title function would run for them.
Here the title and description answer per user when Dash asks for them, and
the page's :data:`~dash_auth_core.pages.PAGE_ALLOWED_KEY` function makes the
core leave the page's meta tags out of the index for refused users.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import dash

from dash_auth_core import PAGE_ALLOWED_KEY


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

    # Copies and pickles of the registry get the plain text (the guard stays on the page itself).
    def __reduce__(self) -> tuple[Any, ...]:
        return (str, (str(self),))

    def __copy__(self) -> GuardedText:
        return self

    def __deepcopy__(self, _memo: Any) -> GuardedText:
        return self


def guarded_text(value: Any, allowed: Callable[[], bool], fallback: Callable[[], str]) -> Any:
    """``value`` (a string or a title function) answering ``fallback()`` to refused users."""
    if isinstance(value, str):  # a GuardedText again too: ``allowed`` already includes its check
        return GuardedText(str(value), allowed, fallback)
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
    """Make a registry entry's title and description answer per user; remember ``allowed``.

    A page guarded twice (layout mode and a ``protected()`` layout with
    another rule) shows them only to users both checks allow.
    """
    earlier = page.get(PAGE_ALLOWED_KEY)
    if earlier is not None:
        allowed = functools.partial(_both, earlier, allowed)
    page[PAGE_ALLOWED_KEY] = allowed
    if "title" in page:
        page["title"] = guarded_text(page["title"], allowed, _app_title)
    if "description" in page:
        page["description"] = guarded_text(page["description"], allowed, str)


def _both(first: Callable[[], bool], second: Callable[[], bool]) -> bool:
    return first() and second()


def _app_title() -> str:
    return dash.get_app().title
