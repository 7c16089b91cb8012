"""Messages in the user's language: one gettext catalogue, chosen per request.

Every package of the stack ships its messages as a gettext catalogue in
``<package>/locale/<lang>/LC_MESSAGES/dash_auth.mo`` (compiled ``.mo`` files
are kept in the package next to their ``.po`` sources, so installing from a
wheel needs no build step; a test checks that they match). At run time the
catalogues of every registered package are chained into one
:class:`gettext.GNUTranslations` per language, an app's own catalogues (in its
``templates_folder``'s ``locale`` folder) first. Only the standard library
reads them; Babel is needed to extract and compile, not to run.

The language is the app's choice (the ``language`` option: a tag, or a
function of the request) or else the best match of the browser's
``Accept-Language`` among the languages a catalogue exists for; English (the
language of the source strings) when nothing matches.
"""

from __future__ import annotations

import gettext
import importlib.util
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DOMAIN = "dash_auth"
DEFAULT_LANGUAGE = "en"
#: The core's own pages and messages (always searched last).
CORE = "dash_auth_core.ui"

#: Packages whose ``locale`` and ``templates`` folders the stack uses, most specific first.
_packages: list[str] = []
_lock = threading.Lock()
_cache: dict[tuple[str, tuple[str, ...]], gettext.NullTranslations] = {}
_available: dict[tuple[str, ...], tuple[str, ...]] = {}
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for translation"
    """Mark ``message`` for the catalogue where it is defined; it is translated where it is shown."""
    return message


def package_folder(module_name: str, sub: str) -> Path | None:
    """``sub`` inside an importable package's folder, if it exists (without importing it)."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / sub
        if folder.is_dir():
            return folder
    return None


def register_package(module_name: str) -> None:
    """Use a package's ``templates/`` and ``locale/`` folders (in front of the core's).

    A distribution of pages calls this when imported (``dash_auth_basic``
    does); see ``docs/pages.md``.
    """
    with _lock:
        if module_name in _packages or module_name == CORE:
            return
        _packages.insert(0, module_name)
        _cache.clear()
        _available.clear()


def packages() -> tuple[str, ...]:
    """Registered packages, most specific first, the core's own last."""
    return (*_packages, CORE)


def locale_folders(extra: Iterable[Path] = ()) -> list[Path]:
    """Where catalogues are looked up, first match wins: ``extra`` (the app's), then the packages'."""
    folders = [Path(p) for p in extra]
    for name in packages():
        folder = package_folder(name, "locale")
        if folder is not None:
            folders.append(folder)
    return folders


def available_languages(extra: Iterable[Path] = ()) -> tuple[str, ...]:
    """English and every language some catalogue is shipped for (``de``, ``fr``, ``pt_BR`` ...)."""
    extra = tuple(Path(p) for p in extra)
    key = tuple(str(p) for p in extra)
    known = _available.get(key)
    if known is not None:
        return known
    found = {DEFAULT_LANGUAGE}
    for folder in locale_folders(extra):
        for child in folder.iterdir():
            if (child / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
                found.add(child.name)
    known = tuple(sorted(found))
    with _lock:
        _available[key] = known
    return known


def translations(language: str, extra: Iterable[Path] = ()) -> gettext.NullTranslations:
    """The chained catalogue for ``language`` (English: the source strings as they are)."""
    extra_key = tuple(str(p) for p in extra)
    key = (language, extra_key)
    found = _cache.get(key)
    if found is not None:
        return found
    chain: gettext.NullTranslations | None = None
    if language != DEFAULT_LANGUAGE:
        for folder in locale_folders(extra):
            path = folder / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if not path.is_file():
                continue
            with path.open("rb") as fh:
                catalogue = gettext.GNUTranslations(fh)
            if chain is None:
                chain = catalogue
            else:
                chain.add_fallback(catalogue)
    result = chain if chain is not None else gettext.NullTranslations()
    with _lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = result
    return result


def normalize(tag: Any) -> str | None:
    """``"de-CH"`` -> ``"de_CH"``; ``None`` for anything that is not a language tag."""
    if not isinstance(tag, str) or not _TAG.match(tag.strip()):
        return None
    parts = tag.strip().replace("-", "_").split("_")
    head = parts[0].lower()
    rest = [p.upper() if len(p) == 2 else p.title() if len(p) == 4 else p for p in parts[1:]]
    return "_".join([head, *rest])


def parse_accept_language(header: str | None, limit: int = 20) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first (``q=0`` and junk dropped)."""
    if not header or len(header) > 4096:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:limit]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
            if not 0 < quality <= 1:
                continue
        name = normalize(tag)
        if name is not None or tag.strip() == "*":
            ranked.append((-quality, position, name or "*"))
    return [tag for _, _, tag in sorted(ranked)]


def best_match(wanted: Iterable[str], available: Iterable[str]) -> str | None:
    """The first of ``wanted`` (normalised tags) that ``available`` has, also by its base language."""
    have = {a.lower(): a for a in available}
    for tag in wanted:
        if tag == "*":
            return DEFAULT_LANGUAGE
        exact = have.get(tag.lower())
        if exact is not None:
            return exact
        base = have.get(tag.split("_")[0].lower())
        if base is not None:
            return base
    return None


LanguageChoice = str | Callable[[Any], "str | None"] | None


def choose(request: Any, override: LanguageChoice = None, extra: Iterable[Path] = ()) -> str:
    """The language for ``request``: the app's ``override``, else ``Accept-Language``, else English.

    ``override`` is a tag or a function of the request returning one (or
    ``None`` to let the browser decide); a tag no catalogue exists for falls
    back to the browser's choice and then to English.
    """
    available = available_languages(extra)
    if override is not None:
        try:
            tag = override(request) if callable(override) else override
        except Exception:  # an app's selector must not turn a sign-in page into a 500
            import logging

            logging.getLogger("dash_auth").exception("the language selector failed; using the browser's language")
            tag = None
        name = normalize(tag)
        if name is not None:
            found = best_match([name], available)
            if found is not None:
                return found
    header = request.header("Accept-Language") if request is not None else None
    return best_match(parse_accept_language(header), available) or DEFAULT_LANGUAGE
