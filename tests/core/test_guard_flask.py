"""The guard on every backend: what is public, what is protected, and how refusals look."""

from __future__ import annotations

import json

import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack, ConfigurationError, public_callback
from dash_auth_core.testing import (
    backend_of,
    basic_header,
    callback_body,
    client_for,
    make_dash,
    server_route,
)

USERS = {"alice": "wonderland", "bob": "builder"}
ALICE = basic_header("alice", "wonderland")


def make_app(**kwargs):
    ran = []
    app = make_dash(__name__, **kwargs)
    app.layout = html.Div([html.Button(id="btn"), html.Div(id="out"), html.Div(id="pub")])

    @app.callback(Output("out", "children"), Input("btn", "n_clicks"))
    def private(n):
        ran.append(("private", n))
        return f"private {n}"

    @public_callback(Output("pub", "children"), Input("btn", "n_clicks"))
    def public(n):
        ran.append(("public", n))
        return f"public {n}"

    return app, ran


def test_index_needs_credentials_and_challenges_with_basic():
    app, _ = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    response = client.get("/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="Dash app"')
    assert client.get("/", headers=ALICE).status_code == 200


@pytest.mark.parametrize("path", ["/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/some/page"])
def test_dash_internals_and_pages_are_protected(path):
    app, _ = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    assert client.get(path).status_code == 401
    if path != "/_reload-hash":  # only served in debug mode
        assert client.get(path, headers=ALICE).status_code == 200


def test_internal_json_refusals_are_json_not_html():
    app, _ = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    response = client_for(app).get("/_dash-layout")
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["error"] == "unauthenticated"
    assert "WWW-Authenticate" not in response.headers


def test_component_suites_and_favicon_are_public():
    app, _ = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    assert client.get("/_favicon.ico").status_code == 200
    # An unknown suite file is a 404 from Dash, not a 401 from us.
    assert client.get("/_dash-component-suites/dash/nope.js").status_code != 401


def test_protected_callback_refused_without_running():
    app, ran = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    body = callback_body(app, "out.children", [3])
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"] == "unauthenticated"
    assert ran == []
    response = client.post("/_dash-update-component", json=body, headers=ALICE)
    assert response.status_code == 200
    assert ran == [("private", 3)]


def test_public_callback_runs_without_credentials():
    app, ran = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    body = callback_body(app, "pub.children", [1])
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data
    assert json.loads(response.data)["response"]["pub"]["children"] == "public 1"
    assert ran == [("public", 1)]


def test_public_callback_makes_its_registration_public_not_the_function():
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="btn"), html.Div(id="shared-pub"), html.Div(id="shared-priv")])
    ran = []

    def shared(n):
        ran.append(n)
        return f"shared {n}"

    public_callback(Output("shared-pub", "children"), Input("btn", "n_clicks"))(shared)
    app.callback(Output("shared-priv", "children"), Input("btn", "n_clicks"))(shared)
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    public = client.post("/_dash-update-component", json=callback_body(app, "shared-pub.children", [1]))
    assert public.status_code == 200 and json.loads(public.data)["response"]["shared-pub"]["children"] == "shared 1"
    private = client.post("/_dash-update-component", json=callback_body(app, "shared-priv.children", [2]))
    assert private.status_code == 401
    assert ran == [1]
    signed_in = client.post("/_dash-update-component", json=callback_body(app, "shared-priv.children", [3]), headers=ALICE)
    assert signed_in.status_code == 200 and ran == [1, 3]


def test_wrong_password_is_refused():
    app, ran = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    assert client.get("/", headers=basic_header("alice", "WRONG")).status_code == 401
    assert client.get("/", headers=basic_header("mallory", "wonderland")).status_code == 401
    body = callback_body(app, "out.children", [1])
    assert client.post("/_dash-update-component", json=body, headers=basic_header("bob", "x")).status_code == 401
    assert ran == []


def test_unknown_callback_id_is_denied():
    app, ran = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    body = callback_body(app, "out.children", [1])
    body["output"] = "forged.children"
    anonymous = client.post("/_dash-update-component", json=body)
    assert anonymous.status_code == 401
    signed_in = client.post("/_dash-update-component", json=body, headers=ALICE)
    assert signed_in.status_code == 400
    assert signed_in.get_json()["error"] == "unknown_callback"
    assert ran == []


def test_public_routes_and_add_public_routes():
    from dash_auth_basic import add_public_routes

    app, _ = make_app()
    BasicAuth(app, USERS, public_routes=["/", "/open"], secret_key=SECRET)
    add_public_routes(app, public_routes=["/user/<user_id>/public"])
    client = client_for(app)
    assert client.get("/").status_code == 200
    assert client.get("/open").status_code == 200
    assert client.get("/user/42/public").status_code == 200
    assert client.get("/user/42/private").status_code == 401
    assert client.get("/user/4/2/public").status_code == 401
    # public pages make the layout and dependencies public too
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/_dash-dependencies").status_code == 200


def test_layout_is_private_when_no_page_is_public():
    """A public route that a server route answers does not publish the single layout (see
    tests/core/test_single_layout.py for one that Dash's index answers)."""
    app, _ = make_app()

    @server_route(app, "/healthz")
    def healthz():
        return "ok"

    BasicAuth(app, USERS, public_routes=["/healthz"], secret_key=SECRET)
    client = client_for(app)
    assert client.get("/healthz").data == b"ok"
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-dependencies").status_code == 401


def test_plain_server_routes_are_protected_unless_public():
    app, _ = make_app()

    @server_route(app, "/api/secret")
    def secret():
        return "the secret"

    @server_route(app, "/api/open")
    def open_route():
        return "open"

    BasicAuth(app, USERS, public_routes=["/api/open"], secret_key=SECRET)
    client = client_for(app)
    assert client.get("/api/secret").status_code == 401
    assert b"the secret" not in client.get("/api/secret").data
    assert client.get("/api/secret", headers=ALICE).data == b"the secret"
    assert client.get("/api/open").data == b"open"


def test_assets_need_a_user_except_the_allow_list(tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "data.csv").write_text("secret,data")
    (assets / "style.css").write_text("body{}")
    (assets / "favicon.ico").write_bytes(b"\x00")
    app, _ = make_app(assets_folder=str(assets))
    BasicAuth(app, USERS, secret_key=SECRET, public_assets=["*.css"])
    client = client_for(app)
    assert client.get("/assets/data.csv").status_code == 401
    assert client.get("/assets/data.csv", headers=ALICE).data == b"secret,data"
    assert client.get("/assets/style.css").status_code == 200
    assert client.get("/assets/favicon.ico").status_code == 200


def test_user_and_session_are_seed_compatible():
    app, _ = make_app()
    BasicAuth(app, USERS, secret_key=SECRET, user_groups={"alice": ["admins", "staff"]})
    client = client_for(app)
    client.get("/", headers=ALICE)
    with client.session_transaction() as session:
        user = session["user"]
    assert user["email"] == "alice"
    assert user["groups"] == ["admins", "staff"]
    assert user["provider"] == "basic"


def test_unknown_option_is_a_clear_error():
    app, _ = make_app()
    with pytest.raises(ConfigurationError, match="public_routes"):
        BasicAuth(app, USERS, secret_key=SECRET, public_route=["/"])


@pytest.mark.parametrize("rule", ["no-slash", "/user/<id", "/x/<bogus:id>"])
def test_malformed_public_route_is_a_clear_error(rule):
    app, _ = make_app()
    with pytest.raises(ConfigurationError, match="public route"):
        BasicAuth(app, USERS, secret_key=SECRET, public_routes=[rule])


def test_weak_secret_is_refused():
    app, _ = make_app()
    with pytest.raises(ConfigurationError, match="too short"):
        BasicAuth(app, USERS, secret_key="Test!")


def test_generated_secret_warns():
    app, _ = make_app()
    with pytest.warns(RuntimeWarning, match="generated a secret key"):
        BasicAuth(app, USERS)


def test_plugin_needing_sessions_without_secret_fails_at_start_up():
    class NeedsSessions:
        requires_sessions = True

    app, _ = make_app()
    BasicAuth(app, USERS)
    with pytest.raises(ConfigurationError, match="secret_key"):
        AuthStack.of(app).register(NeedsSessions())


def test_two_front_doors_share_one_stack():
    app, _ = make_app()
    first = BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
    second = BasicAuth(app, {"bob": "builder"}, public_routes=["/open"])
    assert first.stack is second.stack
    client = client_for(app)
    assert client.get("/", headers=ALICE).status_code == 200
    assert client.get("/", headers=basic_header("bob", "builder")).status_code == 200
    assert client.get("/open").status_code == 200


def _user_hook(app, seen):
    """User code that runs on every request: a before_request function, or a middleware on FastAPI."""
    if backend_of(app) == "fastapi":

        class Recorder:
            def __init__(self, inner):
                self.inner = inner

            async def __call__(self, scope, receive, send):
                if scope["type"] == "http":
                    seen.append(scope["path"])
                await self.inner(scope, receive, send)

        app.server.add_middleware(Recorder)
        return
    if backend_of(app) == "quart":
        from quart import request

        async def user_hook():
            seen.append(request.path)
    else:

        def user_hook():
            from flask import request

            seen.append(request.path)

    app.server.before_request(user_hook)


@pytest.mark.parametrize("order", ["user-code-first", "auth-first"])
def test_guard_runs_before_user_code(order):
    app, _ = make_app()
    seen = []
    if order == "user-code-first":
        _user_hook(app, seen)
    BasicAuth(app, USERS, secret_key=SECRET)
    if order == "auth-first":
        _user_hook(app, seen)
    client = client_for(app)
    assert client.get("/private-thing").status_code == 401
    assert seen == []  # refused before user code ran
    client.get("/", headers=ALICE)
    assert seen == ["/"]


def test_cors_preflight_on_the_callback_endpoint_runs_nothing():
    app, ran = make_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    response = client_for(app).options("/_dash-update-component")
    # Flask and Quart answer the preflight themselves; FastAPI has no OPTIONS route (405).
    assert response.status_code in (200, 204, 405)
    assert "POST" in response.headers["Allow"]
    assert ran == []


def test_logout_route_follows_the_url_prefix():
    app, _ = make_app(url_base_pathname="/app/")
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    page = client.get("/app/logout")
    assert page.status_code == 200
    assert b'action="/app/logout"' in page.data
    assert client.get("/logout").status_code == 401  # outside the app: just another protected path


@pytest.mark.parametrize("path", ["/assets/public/../secret.js", "/assets/public/%2e%2e/secret.js",
                                  "/assets/public//../secret.js", "/assets/public/..%2fsecret.js"])
def test_public_asset_globs_cannot_be_escaped(tmp_path, path):
    assets = tmp_path / "assets"
    (assets / "public").mkdir(parents=True)
    (assets / "secret.js").write_text("var secret = 1;")
    (assets / "public" / "ok.js").write_text("var ok = 1;")
    app, _ = make_app(assets_folder=str(assets))
    BasicAuth(app, USERS, secret_key=SECRET, public_assets=["public/*"])
    c = client_for(app)
    assert c.get("/assets/public/ok.js").status_code == 200
    response = c.get(path)
    assert response.status_code in (401, 404) and b"secret = 1" not in response.data
