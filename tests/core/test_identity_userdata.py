"""Identity, the session shape, session lifetime, and the user-data API."""

from __future__ import annotations

import json
import time

import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack, DashAuthError, Identity, get_user_data, get_username, set_user_data
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash, server_route

ALICE = basic_header("alice", "wonderland")


def test_identity_is_immutable_and_round_trips():
    ident = Identity(id="u1", name="U", email="u@example.com", groups=["a", "b"], provider="p", claims={"x": 1})
    with pytest.raises(AttributeError):
        ident.id = "other"
    with pytest.raises(TypeError):
        ident.claims["y"] = 2
    assert ident.groups == ("a", "b")
    back = Identity.from_session(ident.to_session())
    assert back == ident and back.claims["x"] == 1


@pytest.mark.parametrize("data", [None, "alice", 3, [], {}, {"groups": ["a"]}, {"id": ""}, {"id": 5}])
def test_unusable_session_data_is_no_identity(data):
    assert Identity.from_session(data) is None


def test_seed_style_session_user_is_read():
    ident = Identity.from_session({"email": "me@example.com", "groups": ["g", 3, None]})
    assert ident.id == "me@example.com" and ident.groups == ("g",)


def make_app():
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o"), html.Div(id="r")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def store(n):
        set_user_data({"theme": "dark", "n": n})
        return get_username()

    @app.callback(Output("r", "children"), Input("b", "n_clicks"))
    def read(n):
        return json.dumps(get_user_data())

    BasicAuth(app, {"alice": "wonderland", "bob": "builder"}, secret_key=SECRET)
    return app


def test_user_data_round_trip_and_is_per_user():
    app = make_app()
    client = client_for(app)
    stored = client.post("/_dash-update-component", json=callback_body(app, "o.children", [2]), headers=ALICE)
    assert json.loads(stored.data)["response"]["o"]["children"] == "alice"
    read = client.post("/_dash-update-component", json=callback_body(app, "r.children"), headers=ALICE)
    assert json.loads(json.loads(read.data)["response"]["r"]["children"]) == {"theme": "dark", "n": 2}
    # Same browser, another user: the old user's data is not shown.
    other = client.post("/_dash-update-component", json=callback_body(app, "r.children"), headers=basic_header("bob", "builder"))
    assert json.loads(json.loads(other.data)["response"]["r"]["children"]) == {}


def test_user_data_needs_a_signed_in_request():
    app = make_app()

    @server_route(app, "/try-user-data")
    def try_user_data():
        try:
            set_user_data({"x": 1})
        except DashAuthError as exc:
            return f"refused: {exc}"
        return "stored"

    AuthStack.of(app).add_public_routes(["/try-user-data"])
    response = client_for(app).get("/try-user-data")
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("refused: set_user_data needs a signed-in user")
    with pytest.raises(DashAuthError):  # outside any request
        get_user_data()


def test_user_data_over_the_limit_is_refused():
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def store(n):
        try:
            set_user_data({"blob": "x" * 5000})
        except ValueError as exc:
            return str(exc)
        return "stored"

    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
    response = client_for(app).post(
        "/_dash-update-component", json=callback_body(app, "o.children"), headers=ALICE
    )
    assert "limited" in json.loads(response.data)["response"]["o"]["children"]


def test_tampered_session_cookie_is_ignored():
    app = make_app()
    client = client_for(app)
    client.get("/", headers=ALICE)
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.set_cookie("session", cookie.value[:-3] + "AAA")
    assert client.get("/").status_code == 401


def test_session_login_expires_after_its_lifetime():
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET, session_lifetime=60)
    client = client_for(app)
    client.get("/", headers=ALICE)
    assert client.get("/").status_code == 200  # the session alone is enough
    with client.session_transaction() as session:
        user = dict(session["user"], auth_time=time.time() - 120)
        session["user"] = user
    assert client.get("/").status_code == 401


def test_session_cookie_flags():
    app = make_app()
    response = client_for(app).get("/", headers=ALICE)
    flags = [part.strip().lower() for part in response.headers["Set-Cookie"].split(";")[1:]]
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
    # (A header verified before serves a client without a session statelessly: check it afresh.)
    AuthStack.get(app).get_plugin("dash_auth_basic").forget()
    secure = client_for(app).get("/", headers=ALICE, base_url="https://localhost")
    assert "secure" in [part.strip().lower() for part in secure.headers["Set-Cookie"].split(";")[1:]]


@pytest.mark.backends("flask", reason="unit test of the Flask and Quart session interfaces themselves")
@pytest.mark.parametrize("framework", ["flask", "quart"])
def test_an_unread_session_is_null_to_the_framework_so_it_is_never_saved(framework):
    """Flask and Quart save only sessions that are not "null": ours is null until something reads it."""
    if framework == "flask":
        from flask.sessions import NullSession, SecureCookieSession

        from dash_auth_core.backends.flask import LazySession, _SessionInterface
    else:
        from quart.sessions import NullSession, SecureCookieSession

        from dash_auth_core.backends.quart import LazySession, _SessionInterface
    interface = _SessionInterface()
    loads = []
    session = LazySession(lambda: loads.append(1) or {"user": {"id": "alice"}})
    assert interface.is_null_session(session) and not loads  # asking decodes nothing
    assert session.get("user") == {"id": "alice"} and loads == [1]
    assert not interface.is_null_session(session)  # read: saved if changed
    written = LazySession(lambda: None)
    written["k"] = "v"
    assert not interface.is_null_session(written)
    assert not interface.is_null_session(SecureCookieSession())  # the framework's own, as before
    assert interface.is_null_session(NullSession())
