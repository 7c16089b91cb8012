"""An app's page settings: its templates folder, its theme and how its language is chosen."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from ..errors import ConfigurationError
from . import i18n
from .theme import Theme

if TYPE_CHECKING:
    from ..stack_view import StackView

#: The options of AuthStack (and of every front door) that this module handles.
OPTIONS = ("templates_folder", "theme", "language")
_KEY = "dash_auth_core.ui"


@dataclass
class UISettings:
    templates_folder: Path | None = None
    theme: Theme = field(default_factory=Theme)
    language: i18n.LanguageChoice = None
    #: Plugins' ``resolver(request, identity) -> logout URL`` (see ``routes.add_logout_url``).
    logout_resolvers: list[Any] = field(default_factory=list)
    _env: jinja2.Environment | None = None
    _env_key: tuple[str, ...] = ()

    @property
    def locale_folders(self) -> tuple[Path, ...]:
        """The app's own catalogues (``<templates_folder>/locale``), if it has them."""
        if self.templates_folder is None:
            return ()
        folder = self.templates_folder / "locale"
        return (folder,) if folder.is_dir() else ()


def settings(stack: StackView | None) -> UISettings:
    """``stack``'s page settings (defaults when the stack has none yet)."""
    if stack is None:
        return UISettings()
    found = stack.plugin_state.get(_KEY)
    if found is None:
        found = stack.plugin_state[_KEY] = UISettings()
    return found


def configure(stack: StackView, options: dict[str, Any]) -> None:
    """Apply ``templates_folder``, ``theme`` and ``language`` (a later front door's values win)."""
    current = settings(stack)
    if options.get("templates_folder") is not None:
        folder = Path(options["templates_folder"])
        if not folder.is_absolute():
            # Relative to the app's root, like Flask's and Dash's own folders.
            root = getattr(stack.app.config, "assets_folder", None)
            base = Path(root).parent if isinstance(root, str) else Path.cwd()
            folder = base / folder
        if not folder.is_dir():
            raise ConfigurationError(f"templates_folder {str(folder)!r} is not a folder")
        current.templates_folder = folder
        current._env = None
    if options.get("theme") is not None:
        current.theme = Theme.coerce(options["theme"])
    if options.get("language") is not None:
        language = options["language"]
        if not (callable(language) or i18n.normalize(language)):
            raise ConfigurationError("language must be a language tag such as 'de' or a function of the request")
        current.language = language
