"""The HTML login form: redirects with a safe ``next``, CSRF, throttling, sessions."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import ConfigurationError
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash, server_route


def make_app(**kwargs):
    ran = []
    app = make_dash(__name__, **kwargs)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def private(n):
        ran.append(n)
        return "private"

    BasicAuth(app, {"alice": "wonderland"}, login_form=True, secret_key=SECRET)
    return app, ran


def form_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def sign_in(client, username="alice", password="wonderland", next_url="/", login="/login"):
    token = form_token(client.get(login).data)
    return client.post(login, data={"csrf_token": token, "username": username, "password": password, "next": next_url})


def test_pages_redirect_to_the_form_with_next():
    app, _ = make_app()
    response = client_for(app).get("/reports?tab=2")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/reports?tab=2"]


def test_next_keeps_repeated_query_arguments_and_non_ascii_paths():
    app, _ = make_app()
    client = client_for(app)
    response = client.get("/reports?tag=a&tag=b&x=1")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/reports?tag=a&tag=b&x=1"]
    # A page with a non-ASCII name: the whole round trip answers, percent-encoded (never a 500).
    response = client.get("/résumé-ā")
    assert response.status_code == 302
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    signed_in = sign_in(client, next_url=next_url)
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/r%C3%A9sum%C3%A9-%C4%81"


def test_a_server_route_outside_the_prefix_is_named_by_its_own_path():
    app, _ = make_app(url_base_pathname="/app/")

    @server_route(app, "/api/data")
    def data():
        return "data"

    response = client_for(app).get("/api/data?x=1")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/api/data?x=1"]


def test_callbacks_get_json_with_the_login_url_not_a_redirect():
    app, ran = make_app()
    response = client_for(app).post("/_dash-update-component", json=callback_body(app, "o.children"))
    assert response.status_code == 401
    assert response.get_json()["login_url"] == "/login"
    assert ran == []


def test_sign_in_redirects_to_next_and_starts_a_session():
    app, ran = make_app()
    client = client_for(app)
    response = sign_in(client, next_url="/reports?tab=2")
    assert response.status_code == 303
    assert response.headers["Location"] == "/reports?tab=2"
    assert client.get("/").status_code == 200
    assert client.post("/_dash-update-component", json=callback_body(app, "o.children")).status_code == 200
    with client.session_transaction() as session:
        assert session["user"]["id"] == "alice" and session["user"]["provider"] == "form"


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""])
def test_next_cannot_leave_the_app(evil):
    app, _ = make_app()
    response = sign_in(client_for(app), next_url=evil)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_next_stays_inside_the_url_prefix():
    app, _ = make_app(url_base_pathname="/app/")
    client = client_for(app)
    response = client.get("/app/reports")
    assert response.headers["Location"].startswith("/app/login?next=/app/reports")
    assert sign_in(client, next_url="/other-app/", login="/app/login").headers["Location"] == "/app/"


def test_wrong_password_missing_csrf_and_bad_bodies():
    app, ran = make_app()
    client = client_for(app)
    wrong = sign_in(client, password="nope")
    assert wrong.status_code == 401 and b"Wrong username or password" in wrong.data
    assert client.get("/").status_code == 302
    no_token = client.post("/login", data={"username": "alice", "password": "wonderland"})
    assert no_token.status_code == 403
    forged = client.post("/login", data={"csrf_token": "forged" * 8, "username": "alice", "password": "wonderland"})
    assert forged.status_code == 403
    token = form_token(client.get("/login").data)
    cross_site = client.post("/login", data={"csrf_token": token, "username": "alice", "password": "wonderland"},
                             headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    empty = client.post("/login", data={"csrf_token": token})
    assert empty.status_code == 400
    json_body = client.post("/login", json={"username": "alice"})
    assert json_body.status_code == 403
    assert client.get("/").status_code == 302
    assert ran == []


def test_repeated_failures_are_throttled():
    app, _ = make_app()
    client = client_for(app)
    statuses = [sign_in(client, password=f"guess{i}").status_code for i in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    locked = sign_in(client)  # even the right password waits out the lockout
    assert locked.status_code == 429 and "Retry-After" in locked.headers


def test_basic_headers_still_work_for_scripts():
    app, _ = make_app()
    assert client_for(app).get("/", headers=basic_header("alice", "wonderland")).status_code == 200
    # A wrong header is answered by the provider that refused it (a script learns why), not by
    # a redirect to the form; a browser without a header still goes to the form.
    refused = client_for(app).get("/", headers=basic_header("alice", "bad"))
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic ")
    assert client_for(app).get("/").status_code == 302


def test_form_needs_a_fixed_secret():
    app = make_dash(__name__)
    app.layout = html.Div("x")
    with pytest.raises(ConfigurationError, match="secret_key"):
        BasicAuth(app, {"alice": "wonderland"}, login_form=True)


@pytest.mark.parametrize("password", ["", None])
def test_an_empty_password_is_a_400(password):
    app, ran = make_app()
    client = client_for(app)
    token = form_token(client.get("/login").data)
    data = {"csrf_token": token, "username": "alice", "next": "/"}
    if password is not None:
        data["password"] = password
    response = client.post("/login", data=data)
    assert response.status_code == 400 and b"Enter a username and a password" in response.data
    assert client.get("/_dash-layout").status_code in (302, 401)  # not signed in
    assert ran == []
