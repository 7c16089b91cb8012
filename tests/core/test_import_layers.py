"""No import circle inside any distribution: every module sits above the modules it imports.

Every import counts, the type-only ones (under ``TYPE_CHECKING``) and the ones
inside functions included: a module that needs the stack takes a
``dash_auth_core.stack_view.StackView``, not the ``AuthStack`` class. Run it alone
with ``pytest tests/core/test_import_layers.py``.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGES = pathlib.Path(__file__).parents[2] / "packages"
DISTRIBUTIONS = sorted(p.parents[2].name for p in PACKAGES.glob("*/src/dash_auth_*/__init__.py"))

pytestmark = pytest.mark.backends("flask", reason="reads source files only")


def module_graph(package_dir: pathlib.Path) -> dict[str, set[str]]:
    """``{module: modules of the same package it imports}`` for every module under ``package_dir``."""
    modules: dict[str, bool] = {}  # dotted name -> is a package (__init__.py)
    files: dict[str, pathlib.Path] = {}
    for path in package_dir.rglob("*.py"):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        modules[name], files[name] = is_package, path

    def owner(name: str) -> str | None:
        """The module of the package that ``name`` (a module, or a name inside one) is."""
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name.split(".") if modules[name] else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
                module = ".".join(filter(None, (base, node.module)))
                targets = [f"{module}.{alias.name}" for alias in node.names]
            for target in targets:
                module_name = owner(target)
                if module_name is not None and module_name != name:
                    found.add(module_name)
        graph[name] = found
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_no_import_circle(distribution):
    (package_dir,) = (PACKAGES / distribution / "src").glob("dash_auth_*")
    graph = module_graph(package_dir)
    assert len(graph) > 3
    problems = [
        " -> ".join(group) + ": " + "; ".join(f"{m} imports {sorted(graph[m] & set(group))}" for m in group)
        for group in circles(graph)
    ]
    assert problems == []


def test_the_checker_sees_a_circle(tmp_path):
    """A type-only import back into a module that imports this one is a circle."""
    package = tmp_path / "dash_auth_x"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from ..a import A\n")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\nA = 1\n")
    (package / "b.py").write_text("def f():\n    from . import a\n    return a\n")
    assert circles(module_graph(package)) == [["dash_auth_x.a", "dash_auth_x.b"]]


def test_the_stack_sits_above_what_it_serves():
    """The guard, logout, sockets and hook specs take a StackView; none of them names the stack's module."""
    graph = module_graph(PACKAGES / "core" / "src" / "dash_auth_core")
    for module in ("guard", "logout", "websocket", "hookspecs", "plugins", "background", "ui.pages"):
        assert "dash_auth_core.stack" not in graph[f"dash_auth_core.{module}"], module
    assert "dash_auth_core.guard" in graph["dash_auth_core.stack"]
