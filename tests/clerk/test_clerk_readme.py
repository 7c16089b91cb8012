"""The code in packages/clerk/README.md runs (against the local Clerk stand-in's keys)."""

from __future__ import annotations

import pathlib
import re

import pytest

from dash_auth_core import AuthStack
from dash_auth_core.testing import client_for

README = pathlib.Path(__file__).parents[2] / "packages" / "clerk" / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(source, clerk):
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(source, str(README), "exec"), namespace)
    app = namespace["app"]
    stack = AuthStack.get(app)
    assert stack is not None and stack.get_plugin("dash_auth_clerk") is not None
    first = client_for(app).get("/")
    assert first.status_code == 302  # a private app: off to sign in


def test_the_root_readme_clerk_example_runs(clerk):
    from dash import Dash, html

    text = (README.parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "ClerkAuth" in b)
    app = Dash(__name__)
    app.layout = html.Div("x")
    namespace = {"app": app, "KEY": "a-session-secret-of-32-characters!"}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["auth"].plugin in AuthStack.get(app).plugins()
