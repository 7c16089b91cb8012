"""Callable stand-in outputs of protected callbacks over WebSocket callbacks (Quart, FastAPI).

The same rule as over HTTP: a refused user's stand-in is called (awaited when
async, given ``path`` when it accepts one) and the body never runs. Real
servers on 127.0.0.1 and a real WebSocket client.
"""

from __future__ import annotations

import asyncio

import pytest
import requests
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core.testing import basic_header, callback_body, make_dash
from dash_auth_groups import protected_callback

pytestmark = [pytest.mark.backends("quart", "fastapi", reason="Dash serves WebSocket callbacks on ASGI backends"),
              pytest.mark.timeout(120)]

USERS = {"alice": "wonderland", "bob": "builder"}


def output_of(payload, component):
    assert payload["status"] == "ok", payload
    return payload["data"]["response"][component]["children"]


def test_stand_ins_over_the_socket(backend, live, socket_to):
    ran = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="sync-out"), html.Div(id="async-out")])

    async def later(path=None):
        await asyncio.sleep(0)
        return f"awaited stand-in ({path})"

    @protected_callback(Output("sync-out", "children"), Input("b", "n_clicks"), groups=["A"], websocket=True,
                        missing_permissions_output=lambda: "called stand-in")
    def sync_body(n):
        ran.append("sync")
        return "sync body"

    @protected_callback(Output("async-out", "children"), Input("b", "n_clicks"), groups=["A"], websocket=True,
                        missing_permissions_output=later)
    async def async_body(n):
        ran.append("async")
        return "async body"

    BasicAuth(app, USERS, user_groups={"alice": ["A"]}, secret_key=SECRET)
    server = live(app)
    for user, expected in (("bob", ("called stand-in", "awaited stand-in (None)")), ("alice", ("sync body", "async body"))):
        session = requests.Session()
        assert session.get(server.url("/"), headers=basic_header(user, USERS[user]), timeout=10).status_code == 200
        cookies = {"Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items())}
        with socket_to(server, headers=cookies) as ws:
            assert output_of(ws.call(callback_body(app, "sync-out.children", [1])), "sync-out") == expected[0]
            assert output_of(ws.call(callback_body(app, "async-out.children", [1])), "async-out") == expected[1]
    assert ran == ["sync", "async"]  # bob's bodies never ran
