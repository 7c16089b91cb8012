"""Package metadata: shared fields in one place, identical shape, honest bounds, links that work on PyPI.

(The built wheels and sdists themselves are checked by ``hatch run
release-check``, which ``hatch run test`` runs too.)
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from helpers import load_script
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent for p in (ROOT / "packages").glob("*/pyproject.toml"))
REPOSITORY = "https://github.com/dash-auth/dash-auth-stack"
#: Libraries capped below their next major (or, for 0.x, their next minor that broke or is untested).
CAPPED = {"dash", "flask", "werkzeug", "itsdangerous", "pluggy", "quart", "hypercorn", "fastapi", "starlette",
          "uvicorn", "authlib", "joserfc", "requests"}


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))


def _sync():
    return load_script(ROOT / "release" / "sync_metadata.py", "sync_metadata_under_test")


def test_there_are_packages_to_check():
    assert {p.name for p in PACKAGES} >= {"core", "basic", "groups", "oidc"}


def test_every_pyproject_and_license_copy_is_in_sync_with_the_shared_metadata():
    assert _sync().sync(ROOT, check=True) == [], "run `hatch run sync-metadata`"


def test_the_sync_rewrites_a_drifted_pyproject_and_pins_first_party_requirements(tmp_path):
    sync = _sync()
    version = tomllib.loads((ROOT / "release" / "metadata.toml").read_text(encoding="utf-8"))["version"]
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "metadata.toml").write_bytes((ROOT / "release" / "metadata.toml").read_bytes())
    (tmp_path / "LICENSE").write_bytes((ROOT / "LICENSE").read_bytes())
    for folder in PACKAGES:
        (tmp_path / "packages" / folder.name).mkdir(parents=True)
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
        text = text.replace(f'"dash-auth-core=={version}"', '"dash-auth-core>=0.0.1,<9"')
        text = text.replace('"Topic :: Security",\n', "")
        (tmp_path / "packages" / folder.name / "pyproject.toml").write_text(text, encoding="utf-8")
    differed = sync.sync(tmp_path, check=False)
    assert any("oidc/pyproject.toml" in line for line in differed)
    assert any("LICENSE" in line for line in differed)
    assert sync.sync(tmp_path, check=True) == []
    oidc = (tmp_path / "packages" / "oidc" / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"dash-auth-core=={version}"' in oidc and '"Topic :: Security"' in oidc


def test_every_package_has_the_same_shape():
    shapes = {}
    for folder in PACKAGES:
        data = _project(folder)
        project = data["project"]
        shapes[folder.name] = (
            sorted(k for k in project if k not in ("optional-dependencies", "entry-points")),
            sorted(project["urls"]),
            data["build-system"],
            sorted(data["tool"]["hatch"]["build"]["targets"]),
        )
    first = next(iter(shapes.values()))
    assert all(shape == first for shape in shapes.values()), shapes


@pytest.mark.parametrize("folder", PACKAGES, ids=lambda p: p.name)
def test_metadata_is_complete(folder):
    project = _project(folder)["project"]
    classifiers = project["classifiers"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (folder / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert project["authors"] and project["keywords"] and project["description"]
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert project["requires-python"] == ">=3.10"
    assert project["urls"]["Source"] == REPOSITORY
    assert project["urls"]["Documentation"].startswith("https://")
    assert project["urls"]["Changelog"] == f"{REPOSITORY}/blob/main/packages/{folder.name}/CHANGELOG.md"
    # PEP 639: the license is an SPDX expression; a License classifier beside it is an error on PyPI.
    assert not any(c.startswith("License ::") for c in classifiers)


@pytest.mark.parametrize("folder", PACKAGES, ids=lambda p: p.name)
def test_dependency_bounds_are_capped_and_first_party_pins_follow_the_one_version(folder):
    project = _project(folder)["project"]
    version = project["version"]
    specs = [*project.get("dependencies", []),
             *(s for extra in project.get("optional-dependencies", {}).values() for s in extra)]
    for spec in specs:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        operators = {clause.operator for clause in req.specifier}
        if name.startswith("dash-auth-"):
            assert str(req.specifier) == f"=={version}", f"{spec}: first-party pins are =={version}"
        else:
            assert ">=" in operators, f"{spec}: a floor the lowest-versions job tests"
            if name in CAPPED:
                assert "<" in operators, f"{spec}: capped at the newest major tested"


def test_no_extra_repeats_a_base_dependency():
    for folder in PACKAGES:
        project = _project(folder)["project"]
        base = {canonicalize_name(Requirement(s).name) for s in project.get("dependencies", [])}
        for extra, specs in project.get("optional-dependencies", {}).items():
            # ``dash[quart]`` asks for Dash's own extra: no repeat.
            repeated = base & {canonicalize_name(Requirement(s).name) for s in specs if not Requirement(s).extras}
            assert not repeated, f"{folder.name}[{extra}] repeats {sorted(repeated)}"


def test_what_dash_auth_core_imports_it_declares():
    """Every third-party module the core imports at its top level is a declared dependency."""
    declared = {canonicalize_name(Requirement(s).name) for s in _project(ROOT / "packages" / "core")["project"]["dependencies"]}
    # extras: imported by their adapters only, pytest by the test kit's pytest plugin ([testing]),
    # redis by the Redis session store ([redis]), celery only where the app runs Celery itself
    backends = {"quart", "hypercorn", "starlette", "fastapi", "uvicorn", "pytest", "redis", "celery"}
    imported = set()
    for path in (ROOT / "packages" / "core" / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    third_party = {m for m in imported if m not in stdlib and not m.startswith("dash_auth")}
    assert third_party - backends <= declared, third_party - backends - declared


_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("folder", PACKAGES, ids=lambda p: p.name)
def test_package_readmes_and_changelogs_link_absolutely_to_files_that_exist(folder):
    """PyPI renders a package's README (and users follow the changelog) away from the repository."""
    for name in ("README.md", "CHANGELOG.md"):
        text = (folder / name).read_text(encoding="utf-8")
        for target in _LINK.findall(text) + re.findall(r"^\[[^\]]+\]: (\S+)$", text, re.M):
            assert target.startswith(("https://", "http://", "mailto:")), f"{folder.name}/{name}: relative link {target}"
            prefix = f"{REPOSITORY}/blob/main/"
            if target.startswith(prefix):
                path = target[len(prefix):].split("#")[0]
                assert (ROOT / path).is_file(), f"{folder.name}/{name} links to {path}, which does not exist"


_VERSION_HEADING = re.compile(r"^## \[(Unreleased|\d+\.\d+\.\d+)\](?: - (\d{4}-\d{2}-\d{2}))?$")


@pytest.mark.parametrize("folder", PACKAGES, ids=lambda p: p.name)
def test_changelogs_follow_keep_a_changelog(folder):
    lines = (folder / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Changelog"
    assert "keepachangelog.com" in "\n".join(lines[:8])
    headings = [line for line in lines if line.startswith("## ")]
    assert headings and headings[0] == "## [Unreleased]"
    for heading in headings:
        match = _VERSION_HEADING.match(heading)
        assert match, f"{heading!r}: '## [X.Y.Z] - YYYY-MM-DD' or '## [Unreleased]'"
        assert match.group(1) == "Unreleased" or match.group(2), f"{heading!r} needs its release date"
        assert f"[{match.group(1)}]: https://" in "\n".join(lines), f"{heading!r} needs its link"
    kinds = {line[4:] for line in lines if line.startswith("### ")}
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, kinds


def test_every_documented_combination_has_a_smoke_app_and_is_in_the_release_doc():
    check = load_script(ROOT / "release" / "check.py", "release_check_under_test")
    smoke = load_script(ROOT / "release" / "smoke_app.py", "smoke_app_under_test")
    doc = (ROOT / "docs" / "releasing.md").read_text(encoding="utf-8")
    labels = {label for label, _requirements, _scenario in check.COMBINATIONS}
    assert {"core+basic", "core+oidc", "core+groups+basic"} <= labels
    assert {"dash-auth-core[quart]", "dash-auth-core[fastapi]", "dash-auth-core[async]"} <= {
        r for _label, requirements, _scenario in check.COMBINATIONS for r in requirements}
    for _label, requirements, scenario in check.COMBINATIONS:
        assert scenario in smoke.SCENARIOS
        assert f"| `{' '.join(requirements)}` |" in doc


def test_the_release_workflow_publishes_with_trusted_publishing_after_the_release_check():
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert "hatch run release-check --tag" in workflow
    assert "id-token: write" in workflow and "pypa/gh-action-pypi-publish@release/v1" in workflow
    assert "password:" not in workflow and "PYPI_TOKEN" not in workflow  # no stored token
    for folder in PACKAGES:
        assert _project(folder)["project"]["name"] in workflow
