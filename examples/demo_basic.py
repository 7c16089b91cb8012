"""The demo: a multi-page Dash app behind BasicAuth on the embedded defaults.

Signed-cookie sessions, no server to run. Start it with ``hatch run demo``
and open http://127.0.0.1:8050 :

* ``/`` is public and has a public callback;
* ``/reports`` needs a login (``demo`` / ``demo-password``, or
  ``analyst`` / ``analyst-password`` whose password is stored hashed);
* ``/logout`` signs out (a confirmation form, then a POST).
"""

from __future__ import annotations

import argparse
import os
import secrets

import dash
from dash import Dash, Input, Output, dcc, html

from dash_auth_basic import BasicAuth, generate_password_hash, public_callback
from dash_auth_core import current_user

USERS = {
    "demo": "demo-password",
    # Passwords may be werkzeug hashes; the hash is checked once, then cached.
    "analyst": generate_password_hash("analyst-password"),
}


def create_app() -> Dash:
    app = Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="dash-auth demo")

    dash.register_page(
        "home",
        path="/",
        name="Home",
        layout=html.Div(
            [
                html.H2("Welcome"),
                html.P("This page and its button are public."),
                html.Button("Count", id="public-button"),
                html.Div(id="public-out"),
            ]
        ),
    )

    def reports_layout(**_kwargs):
        user = current_user()
        return html.Div(
            [
                html.H2("Reports"),
                html.P(f"Signed in as {user.display_name if user else '?'}; only signed-in users see this."),
                html.Button("Who am I?", id="private-button"),
                html.Div(id="private-out"),
            ]
        )

    dash.register_page("reports", path="/reports", name="Reports", layout=reports_layout)

    app.layout = html.Div(
        [
            html.Nav(
                [
                    dcc.Link("Home", href="/"),
                    " | ",
                    dcc.Link("Reports (sign-in)", href="/reports", refresh=True),
                    " | ",
                    html.A("Sign out", href="/logout"),
                ]
            ),
            dash.page_container,
        ],
        style={"fontFamily": "system-ui, sans-serif", "margin": "2rem"},
    )

    @public_callback(Output("public-out", "children"), Input("public-button", "n_clicks"))
    def count(n_clicks):
        return f"Clicked {n_clicks or 0} times (public callback)."

    @dash.callback(Output("private-out", "children"), Input("private-button", "n_clicks"), prevent_initial_call=True)
    def whoami(_n):
        user = current_user()
        return f"You are {user.id} (provider {user.provider}); this callback needs a login."

    BasicAuth(
        app,
        USERS,
        public_routes=["/"],
        # A fixed key keeps sessions across restarts; the demo makes one per run.
        secret_key=os.environ.get("DASH_AUTH_SECRET_KEY") or secrets.token_urlsafe(32),
    )
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args()
    print(f"dash-auth demo on http://{args.host}:{args.port}  (users: demo/demo-password, analyst/analyst-password)")
    create_app().run(host=args.host, port=args.port, debug=False)


if __name__ == "__main__":
    main()
