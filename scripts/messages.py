"""Keep the pages' message catalogues in step with the code (Babel).

Every package keeps ``locale/<lang>/LC_MESSAGES/dash_auth.po`` (the
translations, edited by people) and the compiled ``dash_auth.mo`` next to it
(read at run time by the standard library's gettext; shipped in the wheel).

    hatch run messages              # extract, merge into every .po, compile every .mo
    hatch run messages --add fr     # start a new language in every package (then translate)
    hatch run messages --check      # fail if a catalogue is stale, incomplete or not compiled

``--check`` is what the test suite runs (tests/core/test_catalogues.py).
"""

from __future__ import annotations

import argparse
import datetime
import gettext
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "dash_auth"
FIXED_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

#: Calls whose string arguments are messages: gettext's names, the UI helpers, and
#: the OIDC and Clerk errors whose first argument is shown to the user.
KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "translate": (2,),
    "BadCallback": None,
    "ProviderRefused": None,
    "TokenValidationError": None,
    "ProviderUnavailable": None,
    "UnknownProvider": None,
    "LoginRefused": None,
    "LoginError": None,
    "ClerkError": None,
    "TokenRejected": None,
    "ClerkRefused": None,
    "ClerkUnavailable": None,
}
# Jinja2's extractor named by its import path: older Babel finds the "jinja2" entry point only through
# pkg_resources, which a fresh virtual environment may not have.
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"trimmed": "true", "newstyle_gettext": "true"}}


@dataclass
class Package:
    name: str
    source: Path  # the folder whose code and templates are scanned
    locale: Path


PACKAGES = [
    Package("dash-auth-core", ROOT / "packages/core/src/dash_auth_core",
            ROOT / "packages/core/src/dash_auth_core/ui/locale"),
    Package("dash-auth-basic", ROOT / "packages/basic/src/dash_auth_basic",
            ROOT / "packages/basic/src/dash_auth_basic/locale"),
    Package("dash-auth-oidc", ROOT / "packages/oidc/src/dash_auth_oidc",
            ROOT / "packages/oidc/src/dash_auth_oidc/locale"),
    Package("dash-auth-clerk", ROOT / "packages/clerk/src/dash_auth_clerk",
            ROOT / "packages/clerk/src/dash_auth_clerk/locale"),
]


def extract(package: Package) -> Catalog:
    """Every message of the package's code and templates."""
    template = Catalog(domain=DOMAIN, project=package.name, charset="utf-8")
    # Babel warns on stderr about every f-string given to a keyword call: here those are the
    # OIDC errors' log-only ``reason=`` arguments, never messages. Keep its other output.
    saved, sys.stderr = sys.stderr, _SkipFstringWarnings(sys.stderr)
    try:
        found = list(extract_from_dir(
            str(package.source), METHODS, OPTIONS, keywords=KEYWORDS, comment_tags=("Translators:",),
        ))
    finally:
        sys.stderr = saved
    for filename, lineno, message, comments, context in found:
        if not message or (isinstance(message, tuple) and not message[0]):
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


class _SkipFstringWarnings(io.TextIOBase):
    def __init__(self, target: object) -> None:
        self.target = target

    def write(self, text: str) -> int:
        if "Skipping f-string" not in text:
            self.target.write(text)  # type: ignore[attr-defined]
        return len(text)


def languages(package: Package) -> list[str]:
    if not package.locale.is_dir():
        return []
    return sorted(p.name for p in package.locale.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po").is_file())


def po_path(package: Package, language: str) -> Path:
    return package.locale / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def translations(data: bytes) -> dict[object, str]:
    """What a compiled catalogue says (msgid -> msgstr, plurals by (msgid, n)), its header left out.

    Compared instead of the bytes: Babel releases lay out the same catalogue differently.
    """
    found = dict(gettext.GNUTranslations(io.BytesIO(data))._catalog)  # noqa: SLF001 - the parsed table
    found.pop("", None)
    return found


def problems(package: Package, language: str, template: Catalog) -> list[str]:
    """What is wrong with one language of one package (empty: nothing)."""
    path = po_path(package, language)
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=DOMAIN)
    found = []
    wanted = {m.id for m in template if m.id}
    have = {m.id for m in catalog if m.id}
    for missing in sorted(map(str, wanted - have)):
        found.append(f"{path}: no entry for {missing!r} (run: hatch run messages)")
    for extra in sorted(map(str, have - wanted)):
        found.append(f"{path}: {extra!r} is no longer used (run: hatch run messages)")
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            found.append(f"{path}: {message.id!r} is marked fuzzy")
        if not all(strings):
            found.append(f"{path}: {message.id!r} is not translated")
        for error in message.check(catalog):
            found.append(f"{path}: {message.id!r}: {error}")
    mo = path.with_suffix(".mo")
    if not mo.is_file() or translations(mo.read_bytes()) != translations(compiled(catalog)):
        found.append(f"{mo} is missing or not compiled from {path.name} (run: hatch run messages)")
    return found


def update(package: Package, template: Catalog, add: list[str]) -> None:
    for language in sorted(set(languages(package)) | set(add)):
        path = po_path(package, language)
        if path.is_file():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=language, domain=DOMAIN)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, domain=DOMAIN, project=package.name, charset="utf-8")
            catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # a fuzzy header would be left out of the .mo (and its plural rule with it)
        catalog.project, catalog.version = package.name, "0.1"
        catalog.copyright_holder = "the dash-auth contributors"
        catalog.msgid_bugs_address = ""
        catalog.last_translator = catalog.language_team = "dash-auth contributors"
        # Fixed dates: the files change only when messages do.
        catalog.revision_date = catalog.creation_date = FIXED_DATE
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, no_location=True, sort_output=True)
        path.with_suffix(".mo").write_bytes(compiled(catalog))
        print(f"{path}: {sum(1 for m in catalog if m.id)} messages, "
              f"{sum(1 for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else (m.string,)))} to translate")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale, incomplete or uncompiled catalogues")
    parser.add_argument("--add", action="append", default=[], metavar="LANG", help="start a language (e.g. fr, pt_BR)")
    args = parser.parse_args(argv)
    failures: list[str] = []
    for package in PACKAGES:
        template = extract(package)
        if args.check:
            for language in languages(package):
                failures += problems(package, language, template)
        else:
            update(package, template, args.add)
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
