"""Remember-me in Chromium: a remembered login survives a browser restart (a new browser process on the
same profile), a plain one does not; with signed cookies and with the Redis session store."""

from __future__ import annotations

from typing import Any

import pytest
from dash import Dash, Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import current_user


def remember_app(store: str | None) -> Dash:
    app = Dash(__name__)
    app.layout = html.Div([html.H1("Dashboard", id="title"), html.Div(id="whoami")])

    @app.callback(Output("whoami", "children"), Input("title", "children"))
    def whoami(_title):
        user = current_user()
        return f"signed in as {user.id}" if user else "anonymous"

    options = {} if store is None else {"session_store": store}
    BasicAuth(app, {"alice": "wonderland"}, login_form=True, secret_key=SECRET, **options)
    return app


def sign_in(page: Any, remember: bool) -> None:
    page.open("/")
    page.wait(lambda d: page.location() == "/login", lambda: f"not sent to the form: {page.location()}")
    page.find("username").send_keys("alice")
    page.find("password").send_keys("wonderland")
    if remember:
        page.find("remember").click()
    page.find("login-submit").click()
    page.wait_for_text("whoami", "signed in as alice")


@pytest.fixture(params=["signed-cookie", "redis"])
def store(request):
    return request.getfixturevalue("redis_url") if request.param == "redis" else None


@pytest.mark.parametrize("remember", [True, False], ids=["remembered", "plain"])
def test_a_remembered_login_survives_a_browser_restart_a_plain_one_does_not(serve, restartable_browser, store,
                                                                           remember):
    server = serve(remember_app(store))
    sign_in(restartable_browser().attach(server), remember)
    # The browser process ends (session cookies go, persistent ones stay on disk) and a new one starts.
    page = restartable_browser().attach(server)
    page.open("/")
    if remember:
        page.wait_for_text("whoami", "signed in as alice")
    else:
        page.wait(lambda d: page.location() == "/login", lambda: f"still signed in at {page.location()}")
