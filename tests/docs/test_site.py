"""The documentation site builds in strict mode, and its API reference covers every public name.

``mkdocs build --strict`` fails on a broken link or anchor, a page missing
from the nav, and a reference mkdocstrings cannot resolve or render. A second
build of a copy of docs/ with one broken link shows that the check bites.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import re
import shutil
import subprocess
import sys
import zlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).parents[2]
DOCS = ROOT / "docs"
PACKAGES = sorted(p for p in (ROOT / "packages").glob("*/src/*") if (p / "__init__.py").is_file())

pytestmark = pytest.mark.timeout(300)


def build(config: pathlib.Path, site: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=config.parent, capture_output=True, text=True, timeout=240,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.fail("mkdocs is not installed: the hatch env installs it (mkdocs, mkdocs-material, mkdocstrings)")
    out = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def inventory(site: pathlib.Path) -> set[str]:
    """The object names the site documents (mkdocstrings' ``objects.inv``)."""
    raw = (site / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode()
    return {line.split()[0] for line in body.splitlines() if line.strip()}


def test_every_page_of_the_nav_is_built(site):
    for page in ("index", "getting-started", "providers/basic", "providers/oidc", "groups", "backends", "plugins",
                 "deployment", "migrating", "security", "performance", "screenshots", "reference"):
        assert (site / page / "index.html").is_file() or (site / f"{page}.html").is_file() or page == "index", page
    assert (site / "index.html").is_file()


def _nav_targets(config: dict) -> list[str]:
    found: list[str] = []

    def walk(item):
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(config["nav"])
    return found


def test_every_package_has_a_reference_page_in_the_nav():
    """A new distribution (dash-auth-clerk) needs reference/<name>.md with ``::: <import name>`` and a nav line."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    nav = _nav_targets(config)
    pages = {p.name: p.read_text() for p in (DOCS / "reference").glob("*.md")}
    for package in PACKAGES:
        name = package.name
        holders = [page for page, text in pages.items() if re.search(rf"^::: {name}$", text, re.M)]
        assert holders, f"no docs/reference page holds '::: {name}'"
        assert f"reference/{holders[0]}" in nav, f"reference/{holders[0]} is not in mkdocs.yml's nav"


def test_the_reference_documents_every_public_name(site):
    names = inventory(site)
    for package in PACKAGES:
        module = importlib.import_module(package.name)
        for public in module.__all__:
            obj = getattr(module, public)
            origin = getattr(obj, "__module__", None) or package.name
            if not origin.startswith("dash_auth"):
                continue  # re-exported from another library (werkzeug's generate_password_hash)
            assert f"{package.name}.{public}" in names, f"{package.name}.{public} is not in the API reference"


def test_links_to_package_readmes_go_to_their_pages(site):
    plugins = (site / "plugins" / "index.html").read_text()
    assert 'href="../providers/oidc/#providers-from-other-packages-entry-points"' in plugins


def test_docstrings_render_as_markdown(site):
    core = (site / "reference" / "core" / "index.html").read_text()
    assert ":class:" not in core and ":func:" not in core
    assert "<li><code>public_routes</code>:" in core  # AuthStack's options, as a list
    groups = (site / "reference" / "groups" / "index.html").read_text()
    assert "helpers::" not in groups and "Seed-compatible helpers:" in groups  # a module's docstring too


def test_screenshots_page(site):
    page = (site / "screenshots" / "index.html").read_text()
    images = [p for p in (DOCS / "screenshots").glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".svg")]
    if images:
        for image in images:
            # The page is served at screenshots/, beside the images.
            assert f'src="{image.name}"' in page or f'src="../screenshots/{image.name}"' in page
            assert (site / "screenshots" / image.name).is_file()
    else:
        assert "No screenshots have been produced yet" in page


def test_the_screenshot_gallery_lists_what_the_folder_holds(tmp_path):
    spec = importlib.util.spec_from_file_location("screenshots_hook", DOCS / "hooks" / "screenshots.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert "No screenshots" in hook.gallery(tmp_path)  # no folder at all
    (tmp_path / "screenshots").mkdir()
    assert "No screenshots" in hook.gallery(tmp_path)
    (tmp_path / "screenshots" / "login-form.png").write_bytes(b"\x89PNG")
    (tmp_path / "screenshots" / "notes.txt").write_text("not an image")
    text = hook.gallery(tmp_path)
    assert "### Login form" in text and "![Login form](screenshots/login-form.png)" in text and "notes" not in text


def test_a_broken_link_fails_the_strict_build(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    with (docs / "getting-started.md").open("a") as page:
        page.write("\nSee [the missing page](no-such-page.md) and [a missing anchor](groups.md#no-such-heading).\n")
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    text = (ROOT / "mkdocs.yml").read_text().replace("packages/*/src", str(ROOT / "packages" / "*" / "src"))
    (tmp_path / "mkdocs.yml").write_text(text)
    assert config["docs_dir"] == "docs"
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "no-such-page.md" in output and "no-such-heading" in output
