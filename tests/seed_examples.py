"""Loading the seed README examples kept under ``examples/`` (importable: ``tests`` is on ``pythonpath``).

``load_example("seed_oidc.py", replace={...})`` runs an example the way a
user would run it, with ``Dash(...)`` created on the backend under test
unless the example names one. ``replace`` swaps text the seed README tells
the reader to replace (``<my-client-id>``). ``as_seed=True`` runs the lines
marked ``# seed: <code>`` as the seed wrote them, to show what the
deliberate differences do to an unchanged app.
"""

from __future__ import annotations

import os
import pathlib
import re
import sys
import types
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import dash
from dash import html

from dash_auth_core.testing import current_backend

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"
_SEED_LINE = re.compile(r"^(?P<indent>[ \t]*).*?#\s*seed:\s*(?P<code>.+)$", re.M)


class _DashOnBackend(dash.Dash):
    """``Dash`` as the examples write it, created on the backend under test."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "server" not in kwargs:
            kwargs.setdefault("backend", current_backend())
        super().__init__(*args, **kwargs)


def seed_source(source: str) -> str:
    """``source`` with each line marked ``# seed: <code>`` turned back into ``<code>``."""
    return _SEED_LINE.sub(lambda m: m.group("indent") + m.group("code").strip(), source)


@contextmanager
def _environment(env: Mapping[str, str] | None):
    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_example(relative: str, *, replace: Mapping[str, str] | None = None, as_seed: bool = False,
                 env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``examples/<relative>`` and return its namespace (``app`` and the rest)."""
    path = EXAMPLES / relative
    source = path.read_text()
    if as_seed:
        source = seed_source(source)
    for old, new in (replace or {}).items():
        assert old in source, f"{old!r} is not in {relative}"
        source = source.replace(old, new)
    module = types.ModuleType("seed_example")
    module.__file__ = str(path)
    sys.modules["seed_example"] = module  # Dash finds a pages folder next to the module's file
    sys.path.insert(0, str(path.parent))
    original = dash.Dash
    dash.Dash = _DashOnBackend  # the examples' ``from dash import Dash`` picks it up
    try:
        with _environment(env):
            exec(compile(source, str(path), "exec"), module.__dict__)
    finally:
        dash.Dash = original
        sys.path.remove(str(path.parent))
        sys.modules.pop("seed_example", None)
    namespace = module.__dict__
    for value in list(namespace.values()):
        if isinstance(value, dash.Dash) and value.layout is None:
            # The seed snippets leave the layout out; Dash itself refuses to serve without one.
            value.layout = html.Div("seed example")
    return namespace
