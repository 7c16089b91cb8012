"""The hook examples in docs/plugins.md run and register as valid plugins."""

from __future__ import annotations

import pathlib
import re

import pytest
from dash import html

from dash_auth_core import AuthStack
from dash_auth_core.testing import make_dash

DOC = pathlib.Path(__file__).parents[2] / "docs" / "plugins.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
# Blocks that only show usage against an app of the reader's are not standalone.
STANDALONE = [b for b in BLOCKS if "class " in b and "def test_" not in b and "AuthStack.of(app" not in b]


def test_doc_has_an_example_per_hook():
    text = "\n".join(STANDALONE)
    for hook in ("authenticate", "authorize", "challenge", "on_login", "on_logout", "setup"):
        assert f"def {hook}(" in text, hook


@pytest.mark.parametrize("source", STANDALONE, ids=[f"block{i}" for i in range(len(STANDALONE))])
def test_doc_example_registers(source):
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(source, str(DOC), "exec"), namespace)
    classes = [v for v in namespace.values() if isinstance(v, type) and v.__module__ == "docs_example"]
    assert classes
    app = make_dash(__name__)
    app.layout = html.Div("x")
    stack = AuthStack.of(app, secret_key="doc-test-secret-0123456789")
    for cls in classes:
        plugin = cls.__new__(cls)  # validation looks at the hook methods only
        stack.register(plugin)
        stack.unregister(plugin)
