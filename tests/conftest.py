"""Shared fixtures: a clean Dash global state per test, the backend matrix, and request helpers.

The backend matrix: a test that uses the ``backend`` fixture (directly or
through an autouse fixture, as every test in tests/core and tests/basic does)
runs once per Dash backend in ``dash_auth_core.testing.BACKENDS``; the kit's
``make_dash()`` and ``client_for()`` follow it. ``@pytest.mark.backends("flask",
reason="...")`` limits a test to some backends. Backends whose packages are
not installed are skipped with a reason.
"""

from __future__ import annotations

import gc
import os
import sys
import warnings

import pytest

from dash_auth_core import testing
from dash_auth_core.testing import reset_dash_globals as _reset_dash_globals

# This suite registers every plugin it tests itself.
os.environ.setdefault("DASH_AUTH_DISABLE_PLUGINS", "1")


@pytest.fixture(scope="session")
def redis_server():
    """A private redis-server for this test run (see tests/redis_server.py); tests flush it freely."""
    from redis_server import RedisServer

    server = RedisServer()
    if server.executable is None:
        if os.environ.get("CI") or os.environ.get("DASH_AUTH_REQUIRE_REDIS"):
            pytest.fail("redis-server is missing: .ci/run installs it (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_url(redis_server):
    """The private Redis's URL, its data flushed, and a server that is up (a test may have stopped it)."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.client().flushall()
    yield redis_server.url
    # The stores of this test's apps: their tracking threads and connections end with it.
    from dash_auth_core.sessions import tracking

    tracking.close_all()


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
    if sys.version_info < (3, 11):
        # Python 3.10's importlib raises KeyError when a finalizer that warns or imports (an
        # unclosed asyncio transport or redis-py client of a finished test's event loop) runs in
        # the middle of another import (CPython gh-91351, fixed in 3.12): collect this test's
        # garbage here, between tests, rather than inside the next test's imports.
        gc.collect()

def pytest_configure(config):
    config.addinivalue_line(
        "markers", "backends(*names, reason=''): run the test only on these Dash backends (flask, quart, fastapi)"
    )


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker else testing.BACKENDS
    unknown = set(names) - set(testing.BACKENDS)
    if unknown:
        raise pytest.UsageError(f"unknown backends {sorted(unknown)} on {metafunc.definition.nodeid}")
    metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture
def backend(request):
    """The Dash backend under test; the kit's ``make_dash()`` creates apps on it."""
    name = getattr(request, "param", "flask")
    if name not in testing.installed_backends():
        pytest.skip(f"the {name} backend needs `pip install dash-auth-core[{name}]`")
    testing.use_backend(name)
    try:
        yield name
    finally:
        testing.stop_all()
        testing.use_backend("flask")
