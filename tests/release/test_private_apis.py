"""The private APIs of Dash, Flask, Quart, Starlette and redis-py: used only in dash_auth_core._private, and still there.

Each adapter module's ``check()`` probes what the stack relies on against
the installed versions (the lowest-versions and newest-versions jobs run
this file too); a change fails here with a message naming the module and
the library's version, and at import time for users.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from dash_auth_core import _private
from dash_auth_core._private import PrivateAPIChanged
from dash_auth_core._private import dash as dash_private

ROOT = Path(__file__).resolve().parents[2]
PRIVATE_DIR = ROOT / "packages" / "core" / "src" / "dash_auth_core" / "_private"
#: Libraries whose private names must go through dash_auth_core._private (authlib and joserfc:
#: dash-auth-oidc uses only their public APIs, and this scan keeps it so).
LIBRARIES = {"dash", "flask", "quart", "starlette", "fastapi", "werkzeug", "authlib", "joserfc", "hypercorn", "redis"}
#: The adapter module of each library (the libraries without one must have no private uses at all).
ADAPTERS = {"dash": "dash", "flask": "flask", "quart": "quart", "starlette": "starlette", "redis": "redis"}
#: Backends whose library may be missing (an extra); the probes are skipped, saying why.
OPTIONAL = {"quart": "dash-auth-core[quart]", "starlette": "dash-auth-core[fastapi]", "redis": "dash-auth-core[redis]"}


@pytest.mark.parametrize("library", sorted(ADAPTERS))
def test_every_private_api_the_stack_uses_is_still_there(library):
    if library in OPTIONAL and importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed (pip install {OPTIONAL[library]})")
    module = importlib.import_module(f"dash_auth_core._private.{ADAPTERS[library]}")
    problems = module.check()
    assert problems == [], "\n".join(problems)


def test_a_changed_private_api_fails_loudly_naming_the_module(monkeypatch):
    def moved(path_id):
        raise TypeError("_path_to_page() takes 2 positional arguments but 1 was given")

    monkeypatch.setattr(dash_private, "path_to_page", moved)
    problems = dash_private.check()
    assert len(problems) == 1
    assert problems[0].startswith("dash_auth_core._private.dash: dash ")
    assert "dash._pages" in problems[0] and "_path_to_page() takes 2" in problems[0]


def test_a_missing_private_name_fails_the_import_naming_the_module(monkeypatch):
    """What a user sees when a Flask release drops the name: an import error that says who needs it."""
    import flask.globals

    monkeypatch.delattr(flask.globals, "_cv_request")
    spec = importlib.util.spec_from_file_location("dash_auth_core._private._flask_copy", PRIVATE_DIR / "flask.py")
    copy = importlib.util.module_from_spec(spec)
    with pytest.raises(PrivateAPIChanged) as raised:
        spec.loader.exec_module(copy)
    message = str(raised.value)
    assert message.startswith("dash_auth_core._private._flask_copy: flask ")
    assert "_cv_request" in message and "dash-auth-core" in message
    assert isinstance(raised.value, ImportError)
    assert "dash_auth_core._private._flask_copy" not in sys.modules


def _private_names() -> set[str]:
    """Every underscore name the adapter modules read from the libraries (attributes and imports)."""
    names: set[str] = set()
    for path in PRIVATE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and _is_private(node.attr) and not _on_self(node):
                names.add(node.attr)
            elif _attribute_name(node) is not None and _is_private(_attribute_name(node)):
                names.add(_attribute_name(node))
            elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                  and isinstance(node.value.value, str) and _is_private(node.value.value)):
                names.add(node.value.value)  # CACHED_JSON = "_cached_json"
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in LIBRARIES:
                names.update(alias.name for alias in node.names if _is_private(alias.name))
    own = {"_private", "_load", "_loader"}
    return {name for name in names if not name.startswith("_dash_auth") and name not in own}


def _on_self(node: ast.Attribute) -> bool:
    """``self._x`` / ``cls._x``: the project's own attributes."""
    return isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")


def _attribute_name(node: ast.AST) -> str | None:
    """The name in ``getattr(x, "_name", ...)``, ``hasattr`` and ``setattr``."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr", "setattr")
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
        return node.args[1].value
    return None


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name.isidentifier()


def _strays(path: Path, private_names: set[str]) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT) if ROOT in path.parents else path}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] in LIBRARIES and (
                any(_is_private(p) for p in parts) or any(_is_private(a.name) for a in node.names)
            ):
                found.append(f"{where}: from {node.module} import {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in LIBRARIES and any(_is_private(p) for p in parts):
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr in private_names and not _on_self(node):
            found.append(f"{where}: .{node.attr}")
        elif _attribute_name(node) in private_names:
            found.append(f"{where}: getattr/hasattr/setattr {_attribute_name(node)!r}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value  # a module path such as "dash.backends._fastapi"
            if value.split(".")[0] in LIBRARIES and any(_is_private(part) for part in value.split(".")[1:]):
                found.append(f"{where}: {value!r}")
    return found


def test_private_apis_are_used_only_in_the_adapter_modules():
    private_names = _private_names()
    # The scan knows what it looks for: the names the adapters wrap.
    assert {"_path_to_page", "_cv_request", "_cached_json", "_json", "_hooks", "_setup_timing"} <= private_names
    strays = []
    for path in sorted((ROOT / "packages").glob("*/src/**/*.py")):
        if PRIVATE_DIR in path.parents:
            continue
        strays += _strays(path, private_names)
    assert strays == [], (
        "private APIs of Dash/Flask/Quart/Starlette/authlib used outside dash_auth_core._private "
        "(move them into the library's adapter module, with a probe in its check()):\n" + "\n".join(strays)
    )


def test_the_scan_finds_a_stray_private_use(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text(
        "from dash import _pages\nimport dash._callback\nfrom quart.globals import _cv_request\n"
        "def f(app, request):\n    request._cached_json = {}\n    return getattr(app, '_hooks')\n",
        encoding="utf-8",
    )
    found = _strays(stray, _private_names())
    assert len(found) == 5, found
    assert all(line.startswith(f"{stray}:") for line in found)


def test_the_adapter_modules_are_the_documented_ones():
    documented = {line.strip()[len("* :mod:`"):-1] for line in (_private.__doc__ or "").splitlines()
                  if line.strip().startswith("* :mod:`dash_auth_core._private.")}
    present = {f"dash_auth_core._private.{p.stem}" for p in PRIVATE_DIR.glob("*.py") if p.stem != "__init__"}
    assert documented == present
