"""An app served by real server processes in the multi-instance tests (gunicorn, hypercorn, uvicorn).

Configured by environment variables: ``DASH_AUTH_TEST_BACKEND`` (flask, quart,
fastapi), ``DASH_AUTH_TEST_STORE`` (the session store's URL) and
``DASH_AUTH_TEST_ADMIN`` (the token of the test-only revocation route).
"""

from __future__ import annotations

import hmac
import os

from dash import Dash, Input, Output, html

from dash_auth_basic import BasicAuth
from dash_auth_core import current_user, revoke_user
from dash_auth_core.testing import server_route

BACKEND = os.environ.get("DASH_AUTH_TEST_BACKEND", "flask")
USERS = {"alice": "wonderland", "bob": "builder"}

app = Dash(__name__) if BACKEND == "flask" else Dash(__name__, backend=BACKEND)
app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])


@app.callback(Output("o", "children"), Input("b", "n_clicks"))
def private(_n):
    user = current_user()
    return f"hello {user.id} from {os.getpid()}" if user else "nobody"


BasicAuth(app, USERS, login_form=True, secret_key="multi-instance-secret-0123456789",
          session_store=os.environ["DASH_AUTH_TEST_STORE"], public_routes=["/test/revoke/<user>"])


@server_route(app, "/test/revoke/<user>")
def revoke(user: str) -> str:
    """Test-only: revoke a user's logins from this instance (the token guards it)."""
    from dash_auth_core import AuthStack

    request = AuthStack.get(app).adapter.current_request()
    token = request.args.get("token", "") if request is not None else ""
    if not hmac.compare_digest(token, os.environ.get("DASH_AUTH_TEST_ADMIN", "")):
        return "refused"
    revoke_user(app, user)
    return "revoked"


server = app.server
