"""Shared fixtures: a clean Dash global state per test, the backend matrix, and request helpers.

The backend matrix: a test that uses the ``backend`` fixture (directly or
through an autouse fixture, as every test in tests/core and tests/basic does)
runs once per Dash backend in ``helpers.BACKENDS``; ``helpers.make_dash()``
and ``helpers.client()`` follow it. ``@pytest.mark.backends("flask",
reason="...")`` limits a test to some backends. Backends whose packages are
not installed are skipped with a reason.
"""

from __future__ import annotations

import importlib.util
import os
import warnings

import helpers
import pytest
from dash import _callback, _get_app, _pages

os.environ.setdefault("DASH_AUTH_DISABLE_PLUGINS", "1")

def _reset_dash_globals() -> None:
    _callback.GLOBAL_CALLBACK_LIST.clear()
    _callback.GLOBAL_CALLBACK_MAP.clear()
    _callback.GLOBAL_INLINE_SCRIPTS.clear()
    _pages.PAGE_REGISTRY.clear()
    # Dash's request handling leaves its app in this thread's context: dash.get_app()
    # would answer an earlier test's app.
    _get_app.app_context.set(None)


@pytest.fixture(autouse=True)
def clean_dash_globals():
    """Dash keeps callbacks, pages and hooks in module globals; isolate every test."""
    from dash._hooks import hooks

    _reset_dash_globals()
    saved = {name: list(found) for name, found in hooks._ns.items()}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="dash-auth generated a secret key", category=RuntimeWarning)
        yield
    _reset_dash_globals()
    # Hooks a test registered (dash.hooks.route, ...) would reach every later app;
    # the process-wide hooks dash-auth installs once stay.
    for name, found in hooks._ns.items():
        before = saved.get(name, [])
        kept = [h for h in found if h in before or getattr(h.func, "__module__", "").startswith("dash_auth")]
        hooks._ns[name] = kept




_BACKEND_MODULES = {"flask": "flask", "quart": "quart", "fastapi": "fastapi"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "backends(*names, reason=''): run the test only on these Dash backends (flask, quart, fastapi)"
    )


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker else helpers.BACKENDS
    unknown = set(names) - set(helpers.BACKENDS)
    if unknown:
        raise pytest.UsageError(f"unknown backends {sorted(unknown)} on {metafunc.definition.nodeid}")
    metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture
def backend(request):
    """The Dash backend under test; ``helpers.make_dash()`` creates apps on it."""
    name = getattr(request, "param", "flask")
    module = _BACKEND_MODULES[name]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"the {name} backend needs `pip install dash-auth-core[{name}]`")
    helpers.use_backend(name)
    try:
        yield name
    finally:
        helpers.stop_all()
        helpers.use_backend("flask")
