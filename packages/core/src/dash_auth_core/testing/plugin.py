"""The pytest plugin of dash-auth-core's test kit (loaded through the ``pytest11`` entry point).

Fixtures:

``dash_auth_backend``
    Runs the test once per Dash backend installed here (``"flask"``,
    ``"quart"``, ``"fastapi"``); apps made by ``dash_auth_app`` use it.
    ``@pytest.mark.dash_auth_backends("flask", "quart")`` narrows the set.
``dash_auth_app``
    A factory: ``dash_auth_app(layout=html.Div(...), **dash_kwargs)`` makes a
    Dash app on the test's backend. Dash's global registries are reset
    around the test, and ASGI apps' lifespans stopped after it.
``dash_auth_client``
    A factory: ``dash_auth_client(app, use_cookies=True)``, see
    :func:`dash_auth_core.testing.client_for`.

Entry-point plugins load as they would in the app: set
``DASH_AUTH_DISABLE_PLUGINS=1`` (or ``DASH_AUTH_PLUGINS=...``) in the test
environment to see only the plugins a test registers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from . import BACKENDS, client_for, installed_backends, make_dash, reset_dash_globals, stop_all, use_backend


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "dash_auth_backends(*names): run a dash_auth_backend test on these backends only"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dash_auth_backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("dash_auth_backends")
    names = marker.args if marker else BACKENDS
    unknown = set(names) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"unknown backends {sorted(unknown)} on {metafunc.definition.nodeid}")
    metafunc.parametrize("dash_auth_backend", names, indirect=True)


@pytest.fixture
def dash_auth_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The Dash backend under test (skipped with a reason when its package is missing)."""
    name = getattr(request, "param", "flask")
    if name not in installed_backends():
        pytest.skip(f"the {name} backend needs `pip install dash-auth-core[{name}]`")
    use_backend(name)
    try:
        yield name
    finally:
        stop_all()
        use_backend("flask")


@pytest.fixture
def dash_auth_app(dash_auth_backend: str) -> Iterator[Callable[..., Any]]:
    """A factory of Dash apps on the test's backend, with Dash's registries reset around the test."""
    reset_dash_globals()

    def factory(*args: Any, layout: Any = None, **kwargs: Any) -> Any:
        app = make_dash(*(args or ("dash_auth_test_app",)), **kwargs)
        if layout is not None:
            app.layout = layout
        return app

    try:
        yield factory
    finally:
        reset_dash_globals()


@pytest.fixture
def dash_auth_client() -> Callable[..., Any]:
    """``dash_auth_client(app, use_cookies=True)``: a client with Flask's interface on any backend."""
    return client_for
