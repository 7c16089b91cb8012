"""Every ``python`` snippet of the guides in docs/ runs, and the apps they build answer.

The snippets of a page run in order in one namespace, as a reader would type
them, after a short preamble (``KEY``, ``USERS``, an ``app``). A comment
right before a block steers it:

* ``<!-- snippet: fresh -->`` starts the block in a new namespace
  (``fresh backend=quart``: whose ``app`` runs on that backend);
* ``<!-- snippet: seed dash_auth_plus -->`` runs a "before" block of the
  migration guide in a new namespace with its imports rewritten by the
  guide's own import map (so the map is what makes the old app run);
* ``<!-- snippet: raises ConfigurationError -->`` expects that exception;
* ``<!-- snippet: skip (why) -->`` leaves the block to the test named there.

The root README.md runs the same way.

``https://idp.example`` in a snippet is a real OpenID provider on 127.0.0.1, and
``ClerkAuth`` finds its ``CLERK_*`` variables set for the local stand-in for Clerk's
cloud (tests/clerk_support.py).
After each page, every app it built answers ``GET /`` without a server error.
docs/plugins.md is run by tests/core/test_plugin_docs.py and docs/deployment.md
by tests/sessions/test_deployment_doc.py (with a Redis server); the API
reference pages hold no snippets.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator

import dash
import pytest
from clerk_support import ClerkStandIn
from oidc_support import ThreadProvider

from dash_auth_core.testing import client_for, stop_all

ROOT = pathlib.Path(__file__).parents[2]
DOCS = ROOT / "docs"
SKIP = {"plugins.md", "deployment.md"}  # tests/core/test_plugin_docs.py, tests/sessions/test_deployment_doc.py
PAGES = [*sorted(p for p in DOCS.rglob("*.md") if p.name not in SKIP and "reference" not in p.parts),
         ROOT / "README.md"]


def _name(page: pathlib.Path) -> str:
    return page.relative_to(ROOT if page.parent == ROOT else DOCS).as_posix()

_BLOCK = re.compile(r"(?:<!--\s*snippet:\s*(?P<directive>[^>]*?)\s*-->\s*\n)?```python\n(?P<code>.*?)```", re.S)

PREAMBLE = '''
from dash import Dash, html
from dash_auth_core import hookimpl
KEY = SECRET = "docs-example-secret-0123456789"
USERS = {"alice": "a-long-password", "bob": "another-long-password"}
app = Dash(__name__)
app.layout = html.Div("docs example")
'''


def blocks(page: pathlib.Path) -> list[tuple[str, str]]:
    """``(directive, code)`` for each python block of ``page``."""
    return [(m.group("directive") or "", m.group("code")) for m in _BLOCK.finditer(page.read_text())]


def test_the_guides_hold_snippets():
    pages = {_name(p): len(blocks(p)) for p in PAGES}
    for guide in ("getting-started.md", "migrating.md", "groups.md", "providers/basic.md", "providers/oidc.md",
                  "providers/clerk.md"):
        assert pages.get(guide, 0) > 0, (guide, pages)


# -- the migration guide's import map ------------------------------------------------------------

_MAP_TABLE = re.compile(r"\| `(?P<seed>dash_auth\w*)` name \| import it from \|\n\|[- |]+\|\n(?P<rows>(?:\|.*\|\n)+)")
#: A row naming the module itself (optionally with a note in parentheses); other rows explain instead.
_MAP_ROW = re.compile(r"^\| `(?P<name>\w+)`[^|]*\| `(?P<target>dash_auth_\w+)`(?P<rest>(?: \([^|]*\))?) \|$")


def import_maps() -> dict[str, dict[str, str]]:
    """``{seed module: {name: module to import it from}}`` from docs/migrating.md's tables."""
    maps: dict[str, dict[str, str]] = {}
    for table in _MAP_TABLE.finditer((DOCS / "migrating.md").read_text()):
        rows = maps.setdefault(table.group("seed"), {})
        for line in table.group("rows").splitlines():
            row = _MAP_ROW.match(line)
            if row and "planned" not in row.group("rest"):
                rows[row.group("name")] = row.group("target")
    return maps


def test_the_import_map_names_importable_objects():
    import importlib

    maps = import_maps()
    assert set(maps) == {"dash_auth", "dash_auth_plus", "dash_auth_async"}
    for seed, rows in maps.items():
        assert {"BasicAuth", "OIDCAuth", "public_callback", "check_groups", "protected_callback"} <= set(rows), seed
        for name, target in rows.items():
            assert hasattr(importlib.import_module(target), name), (seed, name, target)


def rewrite_imports(code: str, seed: str) -> str:
    """``code`` with ``from <seed> import a, b`` lines replaced as the import map says."""
    mapping = import_maps()[seed]

    def replace(match: re.Match[str]) -> str:
        by_target: dict[str, list[str]] = {}
        for name in (n.strip() for n in match.group("names").split(",")):
            by_target.setdefault(mapping[name], []).append(name)
        return "\n".join(f"from {target} import {', '.join(names)}" for target, names in by_target.items())

    rewritten = re.sub(rf"^from {seed} import (?P<names>[\w, ]+)$", replace, code, flags=re.M)
    assert not re.search(rf"\b(from|import) {seed}\b(?!_)", rewritten), "an import the map does not cover"
    return rewritten


# -- running the pages ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idp() -> Iterator[ThreadProvider]:
    provider = ThreadProvider()
    provider.set_user("alice", email="alice@example.org", email_verified=True, groups=["staff"])
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def clerk_standin() -> Iterator[ClerkStandIn]:
    standin = ClerkStandIn()
    standin.add_user("alice", "alice@example.com", first_name="Alice")
    yield standin
    standin.stop()


@pytest.fixture
def clerk_env(clerk_standin: ClerkStandIn, monkeypatch: pytest.MonkeyPatch) -> ClerkStandIn:
    """``CLERK_*`` as a reader of the Clerk guide sets them (for the stand-in, offline)."""
    for name, value in clerk_standin.env().items():
        monkeypatch.setenv(name, value)
    for name in ("CLERK_JWT_KEY", "CLERK_ALLOWED_PARTIES"):
        monkeypatch.delenv(name, raising=False)
    return clerk_standin


def _fresh() -> dict:
    namespace: dict = {"__name__": "docs_snippet"}
    exec(PREAMBLE, namespace)
    return namespace


@pytest.mark.parametrize("page", PAGES, ids=[_name(p) for p in PAGES])
def test_page_snippets_run(page, idp, clerk_env):
    apps = []
    namespace = _fresh()
    try:
        for index, (directive, code) in enumerate(blocks(page)):
            words = directive.split()
            if words[:1] == ["skip"]:
                continue
            code = code.replace("https://idp.example", idp.url)
            if words[:1] in (["fresh"], ["seed"]):
                namespace = _fresh()
                backend = next((w.split("=", 1)[1] for w in words if w.startswith("backend=")), None)
                if backend:
                    exec(f"app = Dash(__name__, backend={backend!r})\napp.layout = html.Div('docs example')", namespace)
            if words[:1] == ["seed"]:
                code = rewrite_imports(code, words[1])
            where = f"{_name(page)} block {index + 1}"
            compiled = compile(code, where, "exec")
            if words[:1] == ["raises"]:
                expected = getattr(__import__("dash_auth_core"), words[1], None) or getattr(__builtins__, words[1])
                with pytest.raises(expected):
                    exec(compiled, namespace)
                continue
            exec(compiled, namespace)
            apps += [v for v in namespace.values() if isinstance(v, dash.Dash) and v not in apps]
        for app in apps:
            if app.layout is None:
                continue  # a snippet that only shows a call on an app of the reader's
            response = client_for(app).get("/")
            assert response.status_code < 500, (page.name, response.status_code, response.data[:300])
    finally:
        stop_all()
