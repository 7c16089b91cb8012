"""Fixtures for the Clerk tests: the local stand-in for Clerk's cloud, and apps that use it.

Every test here runs on each Dash backend (see tests/conftest.py) unless it
says otherwise, with the real clerk-backend-api SDK talking to the stand-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from clerk_support import ClerkStandIn
from dash import Dash, Input, Output, html

from dash_auth_clerk import ClerkAuth
from dash_auth_core import current_user
from dash_auth_core.testing import make_dash

SECRET = "clerk-test-session-secret-0123456789"


@pytest.fixture(scope="session")
def standin() -> Iterator[ClerkStandIn]:
    clerk = ClerkStandIn()
    clerk.add_user("alice", "alice@example.org", first_name="Alice", last_name="Liddell",
                   public_metadata={"groups": ["beta"]})
    clerk.add_user("bob", "bob@example.org", first_name="Bob")
    yield clerk
    clerk.stop()


@pytest.fixture
def clerk(standin: ClerkStandIn, monkeypatch: pytest.MonkeyPatch) -> ClerkStandIn:
    """The stand-in, its ``CLERK_*`` variables set, up and answering."""
    for name, value in standin.env().items():
        monkeypatch.setenv(name, value)
    for name in ("CLERK_JWT_KEY", "CLERK_ALLOWED_PARTIES"):
        monkeypatch.delenv(name, raising=False)
    standin.mode = "up"
    standin.org = None
    standin.calls.clear()
    return standin


def build_app(**dash_kwargs: Any) -> Dash:
    """A private page with a callback that says who is calling, and a public page."""
    app = make_dash(__name__, **dash_kwargs)
    app.layout = html.Div([html.Button("go", id="btn"), html.Div(id="out"), html.Div("private content")])

    @app.callback(Output("out", "children"), Input("btn", "n_clicks"))
    def who(_n: Any) -> str:
        user = current_user()
        return f"{user.id}|{user.email}|{','.join(user.groups)}" if user else "anonymous"

    return app


@pytest.fixture
def make_app(clerk: ClerkStandIn) -> Callable[..., tuple[Dash, ClerkAuth]]:
    def make(dash_kwargs: dict[str, Any] | None = None, **options: Any) -> tuple[Dash, ClerkAuth]:
        app = build_app(**(dash_kwargs or {}))
        options.setdefault("secret_key", SECRET)
        options.setdefault("api_timeout", 1.0)
        return app, ClerkAuth(app, **options)

    return make
