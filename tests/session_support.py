"""Apps and steps the session tests share."""

from __future__ import annotations

import re
from typing import Any

from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core.testing import callback_body, client_for, make_dash

USERS = {"alice": "wonderland", "bob": "builder"}


def form_app(users: dict[str, str] | None = None, **options: Any):
    """A Dash app behind BasicAuth's login form, with one private callback; options go to the stack."""
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def private(n):
        from dash_auth_core import current_user

        user = current_user()
        return f"hello {user.id}" if user else "nobody"

    auth = BasicAuth(app, USERS if users is None else users, login_form=True, secret_key=SECRET, **options)
    return app, auth


def form_token(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found is not None, text[:300]
    return found.group(1)


def sign_in(client: Any, username: str = "alice", password: str | None = None, remember: bool = False) -> Any:
    token = form_token(client.get("/login").get_data(as_text=True))
    data = {"csrf_token": token, "username": username, "password": password or USERS[username], "next": "/"}
    if remember:
        data["remember"] = "1"
    return client.post("/login", data=data)


def call(client: Any, app: Any) -> Any:
    return client.post("/_dash-update-component", json=callback_body(app, "o.children", [1]))


def session_cookie(client: Any, name: str = "session") -> str | None:
    cookie = client.get_cookie(name)
    return None if cookie is None else cookie.value


def new_client(app: Any) -> Any:
    return client_for(app)


def jarless(app: Any) -> Any:
    """A client without a cookie jar: requests carry exactly the headers given."""
    return client_for(app, use_cookies=False)
