"""OIDC demo: a multi-page Dash app signing users in with OpenID Connect.

Against your own provider (Keycloak, Entra ID, Auth0, Okta, Google, ...)::

    export OIDC_METADATA_URL=https://idp.example/.well-known/openid-configuration
    export OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... DASH_SECRET_KEY=...
    python examples/oidc_demo.py

Register ``http://127.0.0.1:8050/oidc/idp/callback`` as the redirect URI and
``http://127.0.0.1:8050/oidc/logged-out`` as the post-logout redirect URI.

Without ``OIDC_METADATA_URL`` the demo starts a local test provider
(``oidc-provider-mock``, ``pip install oidc-provider-mock``) on 127.0.0.1, where
you sign in by typing any user name (try ``alice``, who is in group ``staff``).
``hatch run demo-oidc`` does that.

* ``/`` is public; ``/reports`` needs a sign-in and shows who you are;
* scripts may call the app with ``Authorization: Bearer <ID token>``;
* "Sign out" ends the local session and the provider's (RP-initiated logout).
"""

from __future__ import annotations

import argparse
import os
import secrets
import threading
from typing import Any

import dash
from dash import Dash, Input, Output, dcc, html

from dash_auth_core import current_user, public_callback
from dash_auth_oidc import OIDCAuth


def create_app(metadata_url: str, client_id: str, client_secret: str | None, secret_key: str) -> Dash:
    app = Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="dash-auth OIDC demo")

    dash.register_page("home", path="/", name="Home", layout=html.Div([
        html.H2("Welcome"),
        html.P("This page and its button are public."),
        html.Button("Count", id="public-button"),
        html.Div(id="public-out"),
    ]))

    def reports_layout(**_kwargs: Any) -> html.Div:
        user = current_user()
        return html.Div([
            html.H2("Reports"),
            html.P(f"Signed in as {user.display_name if user else '?'} "
                   f"({user.email if user else '-'}), groups: {', '.join(user.groups) if user else '-'}.",
                   id="whoami"),
            html.Button("Who am I (server callback)?", id="private-button"),
            html.Div(id="private-out"),
        ])

    dash.register_page("reports", path="/reports", name="Reports", layout=reports_layout)

    app.layout = html.Div([
        html.Nav([
            dcc.Link("Home", href="/"), " | ",
            dcc.Link("Reports (sign-in)", href="/reports", refresh=True), " | ",
            html.A("Sign out", href="/oidc/logout", id="logout-link"),
        ]),
        dash.page_container,
    ], style={"fontFamily": "system-ui, sans-serif", "margin": "2rem"})

    @public_callback(Output("public-out", "children"), Input("public-button", "n_clicks"))
    def count(n_clicks: Any) -> str:
        return f"Clicked {n_clicks or 0} times (public callback)."

    @dash.callback(Output("private-out", "children"), Input("private-button", "n_clicks"), prevent_initial_call=True)
    def whoami(_n: Any) -> str:
        user = current_user()
        return f"{user.id} via {user.provider}" if user else "nobody"

    auth = OIDCAuth(
        app,
        secret_key=secret_key,
        public_routes=["/"],
        bearer_tokens=True,
        # Optional extras: groups from a lookup table, on top of the provider's "groups" claim.
        user_groups={"alice@example.org": ["reporting"]},
    )
    auth.register_provider(
        "idp",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=metadata_url,
        client_kwargs={"scope": "openid email profile"},
    )
    return app


def start_mock_provider() -> str:
    """Start oidc-provider-mock on 127.0.0.1 in a thread; return its discovery URL."""
    import oidc_provider_mock
    from werkzeug.serving import make_server

    users = [
        oidc_provider_mock.User(sub="alice", claims={"email": "alice@example.org", "email_verified": True, "name": "Alice", "groups": ["staff"]}),
        oidc_provider_mock.User(sub="bob", claims={"email": "bob@example.org", "email_verified": True, "name": "Bob"}),
    ]
    server = make_server("127.0.0.1", 0, oidc_provider_mock.app(require_nonce=True, user_claims=users), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True, name="oidc-provider-mock").start()
    url = f"http://127.0.0.1:{server.server_port}"
    print(f"Local test provider on {url}")
    return url + "/.well-known/openid-configuration"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args()
    metadata_url = os.environ.get("OIDC_METADATA_URL") or start_mock_provider()
    app = create_app(
        metadata_url,
        os.environ.get("OIDC_CLIENT_ID", "dash-demo"),
        os.environ.get("OIDC_CLIENT_SECRET", "dash-demo-secret"),
        os.environ.get("DASH_SECRET_KEY") or secrets.token_urlsafe(32),
    )
    print(f"Open http://127.0.0.1:{args.port}/reports")
    app.run(host="127.0.0.1", port=args.port, debug=False)


if __name__ == "__main__":
    main()
