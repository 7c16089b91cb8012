"""Theming the built-in pages and components through CSS custom properties.

Every colour, the radius and the font of the pages and of the Dash
components come from ``--dash-auth-*`` variables (listed in
``docs/pages.md``). Their defaults are declared with ``:where(html)``, which
has no specificity, so an app's own ``:root { --dash-auth-primary: ... }``
(in a stylesheet of its Dash app, or in ``Theme(css=...)`` for the pages)
wins wherever it comes in the page. The default palettes pass WCAG AA: body
text at least 7:1, links and controls' borders at least 4.5:1 and 3:1.

``Theme(primary_color=...)`` takes hex colours only (they are written into a
stylesheet: anything else could end it), and the text on the primary colour is
black or white, whichever contrasts more.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

log = logging.getLogger("dash_auth")

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
SCHEMES = ("auto", "light", "dark")

#: Variable -> (light value, dark value).
PALETTE: dict[str, tuple[str, str]] = {
    "--dash-auth-bg": ("#f3f4f6", "#111418"),
    "--dash-auth-surface": ("#ffffff", "#1c2026"),
    "--dash-auth-text": ("#1b1f24", "#e8eaed"),
    "--dash-auth-muted": ("#4b5563", "#aeb5bf"),
    "--dash-auth-border": ("#6b7380", "#8b95a3"),
    "--dash-auth-primary": ("#1d4ed8", "#8ab4f8"),
    "--dash-auth-on-primary": ("#ffffff", "#0b1020"),
    "--dash-auth-error": ("#b3261e", "#ffb4ab"),
    "--dash-auth-error-bg": ("#fdecea", "#3a1513"),
    "--dash-auth-focus": ("#1d4ed8", "#8ab4f8"),
}
#: Variables that do not change with the colour scheme.
CONSTANTS: dict[str, str] = {
    "--dash-auth-radius": "8px",
    "--dash-auth-font": 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
}


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """Relative luminance (WCAG 2) of a hex colour."""
    hexa = color.lstrip("#")
    if len(hexa) == 3:
        hexa = "".join(ch * 2 for ch in hexa)
    r, g, b = (int(hexa[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two hex colours (1 to 21)."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def on_color(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    return "#000000" if contrast(background, "#000000") >= contrast(background, "#ffffff") else "#ffffff"


def _check_color(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _HEX.match(value):
        raise ConfigurationError(f"{name} must be a hex colour such as '#1d4ed8', not {value!r}")
    return value


@dataclass(frozen=True)
class Theme:
    """How the built-in pages look. Every field is optional.

    ``title``
        The app's name in the pages' header and titles (default: ``app.title``).
    ``logo``
        URL of an image shown before the title (make it a public asset:
        ``public_assets=["logo.svg"]``). Decorative: the title names the app.
    ``primary_color`` / ``primary_color_dark``
        Hex colour of buttons, links and focus rings in light and in dark mode
        (``primary_color_dark`` defaults to ``primary_color`` when that is given).
    ``color_scheme``
        ``"auto"`` (follow the browser's light or dark preference), ``"light"`` or ``"dark"``.
    ``css``
        More CSS for the pages, after the stack's own (override any
        ``--dash-auth-*`` variable or rule here).
    """

    title: str | None = None
    logo: str | None = None
    primary_color: str | None = None
    primary_color_dark: str | None = None
    color_scheme: str = "auto"
    css: str = ""

    def __post_init__(self) -> None:
        _check_color("primary_color", self.primary_color)
        _check_color("primary_color_dark", self.primary_color_dark)
        if self.color_scheme not in SCHEMES:
            raise ConfigurationError(f"color_scheme must be one of {', '.join(SCHEMES)}")
        if self.title is not None and not isinstance(self.title, str):
            raise ConfigurationError("the theme's title must be a string")
        if self.logo is not None and not isinstance(self.logo, str):
            raise ConfigurationError("the theme's logo must be a URL (a string)")
        if not isinstance(self.css, str):
            raise ConfigurationError("the theme's css must be a string")
        for label, color, background in (
            ("primary_color", self.primary_color, PALETTE["--dash-auth-surface"][0]),
            ("primary_color_dark", self.dark_primary, PALETTE["--dash-auth-surface"][1]),
        ):
            if color is not None and contrast(color, background) < 4.5:
                log.warning(
                    "the theme's %s %s has a contrast of %.1f:1 with the page (%s); links need 4.5:1 (WCAG AA)",
                    label, color, contrast(color, background), background,
                )

    @property
    def dark_primary(self) -> str | None:
        return self.primary_color_dark or self.primary_color

    @classmethod
    def coerce(cls, value: Any) -> Theme:
        """A :class:`Theme` from a ``Theme``, a dict of its fields, or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, Theme):
            return value
        if isinstance(value, dict):
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise ConfigurationError(f"unknown theme fields: {', '.join(sorted(unknown))}")
            return cls(**value)
        raise ConfigurationError("theme must be a dash_auth_core.Theme or a dict of its fields")

    def variables(self, dark: bool) -> dict[str, str]:
        """The ``--dash-auth-*`` values of one colour scheme."""
        index = 1 if dark else 0
        values = {name: pair[index] for name, pair in PALETTE.items()}
        primary = self.dark_primary if dark else self.primary_color
        if primary is not None:
            values["--dash-auth-primary"] = values["--dash-auth-focus"] = primary
            values["--dash-auth-on-primary"] = on_color(primary)
        return values

    def stylesheet(self, components: bool = False) -> str:
        """The variables as CSS: light, dark, or light with dark under ``prefers-color-scheme``.

        Declared on ``:where(html)`` (no specificity): any rule of the app's sets them instead.
        ``components=True`` is the sheet for a Dash app's own pages (``LogoutButton``,
        ``CurrentUser``): the app's colours are its own, so it neither sets ``color-scheme``
        nor follows the browser's dark mode (dark values only with ``color_scheme="dark"``).
        """

        def block(values: dict[str, str], scheme: str) -> str:
            body = "".join(f"{k}:{v};" for k, v in values.items())
            return f":where(html){{{'' if components else f'color-scheme:{scheme};'}{body}}}"

        constants = ":where(html){" + "".join(f"{k}:{v};" for k, v in CONSTANTS.items()) + "}"
        if components:
            is_dark = self.color_scheme == "dark"
            return constants + block(self.variables(is_dark), "dark" if is_dark else "light")
        light, dark = block(self.variables(False), "light"), block(self.variables(True), "dark")
        if self.color_scheme == "light":
            return constants + light
        if self.color_scheme == "dark":
            return constants + dark
        return constants + light + "@media (prefers-color-scheme: dark){" + dark + "}"

    @property
    def extra_css(self) -> str:
        """``css`` made safe to put inside a ``<style>`` element (it cannot close it)."""
        return self.css.replace("<", "\\3c ")
