"""WebSocket callbacks (Quart, FastAPI) with a Clerk login: the handshake's cookies sign the socket
in, and a session revoked at Clerk closes it with 4001 (the page reloads to the sign-in)."""

from __future__ import annotations

import pytest
import requests
from dash import Input, Output, html

from dash_auth_clerk import ClerkAuth
from dash_auth_core import current_user
from dash_auth_core.testing import callback_body, make_dash, use_backend

from .conftest import SECRET
from .test_clerk_flow import Clock


@pytest.mark.parametrize("server_backend", ["quart", "fastapi"])
def test_a_revoked_session_closes_the_socket(clerk, server_backend):
    from live_servers import LiveApp
    from ws_client import Socket

    use_backend(server_backend)
    server = None
    try:
        app = make_dash(__name__)
        app.layout = html.Div([html.Button(id="btn"), html.Div(id="out")])

        @app.callback(Output("out", "children"), Input("btn", "n_clicks"), websocket=True)
        def private(n):
            return f"hi {current_user().id}"

        auth = ClerkAuth(app, secret_key=SECRET, session_check_interval=30)
        clock = Clock()
        auth.plugin.clock = clock
        server = LiveApp(app).start()
        browser = requests.Session()
        sid = clerk.create_session("user_alice")
        browser.cookies.set("__session", clerk.token(sid))
        done = browser.get(server.url("/clerk/callback?next=/"), allow_redirects=False, timeout=10)
        assert done.status_code == 302
        cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
        body = callback_body(app, "out.children", [1])
        ws = Socket(server, headers=cookie)
        assert ws.call(body)["data"]["response"]["out"]["children"] == "hi user_alice"
        clerk.revoke(sid)
        clock.advance(31)
        assert Socket(server, headers=cookie).wait_closed().code == 4001
    finally:
        if server is not None:
            server.stop()
        use_backend("flask")
