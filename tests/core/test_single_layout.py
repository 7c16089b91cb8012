"""A public route on an app without Dash Pages: the page it opens must load.

Dash's index answers every path of a single-layout app with the one layout.
When a public route is such a path, the index shell was served but
``_dash-layout`` and ``_dash-dependencies`` answered 401: a broken page that
neither worked nor asked for a login. Now the layout is served, and a
warning says that the single layout is public. Runs on each backend.
"""

from __future__ import annotations

import logging

import dash
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth, public_callback
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash, server_route

USERS = {"alice": "wonderland"}


def single_layout_app(public_routes, with_health_route=False):
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div("THE ONE LAYOUT"), html.Div(id="o"), html.Div(id="p")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def private(n):
        return "private callback ran"

    @public_callback(Output("p", "children"), Input("b", "n_clicks"))
    def public(n):
        return "public callback ran"

    if with_health_route:

        @server_route(app, "/healthz")
        def healthz():
            return "ok"

    BasicAuth(app, USERS, public_routes=public_routes, secret_key=SECRET)
    return app


def test_a_public_route_answered_by_the_index_serves_the_layout(caplog):
    app = single_layout_app(["/about", "/user/<user_id>/public"])
    client = client_for(app, use_cookies=False)
    with caplog.at_level(logging.WARNING, logger="dash_auth"):
        assert client.get("/about").status_code == 200
    assert "single layout" in caplog.text and "now public" in caplog.text
    assert "/about" in caplog.text and "/user/<user_id>/public" in caplog.text
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and b"THE ONE LAYOUT" in layout.data
    assert client.get("/_dash-dependencies").status_code == 200
    assert client.get("/user/7/public").status_code == 200
    # Callbacks keep their own rule: private ones still need a user.
    assert client.post("/_dash-update-component", json=callback_body(app, "o.children", [1])).status_code == 401
    assert client.post("/_dash-update-component", json=callback_body(app, "p.children", [1])).status_code == 200
    assert client.get("/private-page").status_code == 401


def test_the_warning_is_given_once(caplog):
    app = single_layout_app(["/about"])
    client = client_for(app, use_cookies=False)
    with caplog.at_level(logging.WARNING, logger="dash_auth"):
        for _ in range(3):
            client.get("/_dash-layout")
    assert caplog.text.count("now public") == 1


def test_a_public_server_route_does_not_publish_the_layout(caplog):
    app = single_layout_app(["/healthz"], with_health_route=True)
    client = client_for(app, use_cookies=False)
    with caplog.at_level(logging.WARNING, logger="dash_auth"):
        assert client.get("/healthz").data == b"ok"
        assert client.get("/_dash-layout").status_code == 401
    assert "now public" not in caplog.text
    assert client.get("/_dash-layout", headers=basic_header("alice", "wonderland")).status_code == 200


def test_a_pages_app_is_unchanged():
    """With Dash Pages a public route publishes its page only, as before."""
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("secret", path="/secret", layout=html.Div("SECRET"))
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, public_routes=["/nothing-here/<x>"], secret_key=SECRET)
    assert client_for(app, use_cookies=False).get("/_dash-layout").status_code == 401


def test_a_public_server_route_with_typed_variables_does_not_publish_the_layout(caplog):
    """``/api/<int:item>`` for a server route: every path the rule matches is the route's, so
    the layout stays private (it was published: ``/api/x`` was asked, which the route refuses)."""
    for rule in ("/api/<int:item>", "/v/<uuid:key>", "/rate/<float:value>", "/report-<int:year>"):
        dash.page_registry.clear()
        app = make_dash(__name__)
        app.layout = html.Div("THE ONE LAYOUT")

        @server_route(app, rule)
        def api(**_values):
            return "api"

        BasicAuth(app, USERS, public_routes=[rule], secret_key=SECRET)
        client = client_for(app, use_cookies=False)
        with caplog.at_level(logging.WARNING, logger="dash_auth"):
            layout = client.get("/_dash-layout")
        assert layout.status_code == 401 and b"THE ONE LAYOUT" not in layout.data, rule
        assert client.get("/_dash-dependencies").status_code == 401, rule
        assert "now public" not in caplog.text, rule


def test_a_typed_public_route_the_index_answers_still_serves_the_layout():
    """The same rules with no server route behind them open Dash's index: the layout loads."""
    app = single_layout_app(["/year/<int:year>", "/when/<float:at>"])
    client = client_for(app, use_cookies=False)
    assert client.get("/year/2024").status_code == 200
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and b"THE ONE LAYOUT" in layout.data


def test_a_public_post_only_server_route_does_not_publish_the_layout(caplog):
    """A public webhook (``POST /webhook``): a GET of its path falls to Dash's catch-all, but the
    rule was written for the server route, so the layout stays private (it became public)."""
    app = make_dash(__name__)
    app.layout = html.Div("THE ONE LAYOUT")

    @server_route(app, "/webhook", methods=("POST",))
    def webhook():
        return "hooked"

    BasicAuth(app, USERS, public_routes=["/webhook"], secret_key=SECRET)
    client = client_for(app, use_cookies=False)
    with caplog.at_level(logging.WARNING, logger="dash_auth"):
        assert client.post("/webhook").data == b"hooked"
        layout = client.get("/_dash-layout")
    assert layout.status_code == 401 and b"THE ONE LAYOUT" not in layout.data
    assert client.get("/_dash-dependencies").status_code == 401
    assert "now public" not in caplog.text
