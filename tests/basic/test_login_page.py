"""The sign-in form's page on every backend: what it says after a failure, in which language,
with what it keeps, and that nothing typed or passed in comes back unescaped."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth, LoginThrottle
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash

EVIL = '"><script>alert(1)</script>'


def make_app(**options):
    app = make_dash(__name__, title="Reports")
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def private(n):
        return "private"

    BasicAuth(app, {"alice": "wonderland"}, login_form=True, secret_key=SECRET, **options)
    return app


def token_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def post(client, username, password, next_url="/", headers=None, token=None):
    token = token or token_of(client.get("/login"))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password,
                                       "next": next_url}, headers=headers or {})


def field_value(body: str, name: str) -> str | None:
    found = re.search(rf'<input id="{name}" name="{name}"[^>]*?value="([^"]*)"', body)
    return found.group(1) if found else None


def test_the_form_is_labelled_and_autocompletes():
    body = client_for(make_app()).get("/login").get_data(as_text=True)
    assert '<label for="username">Username</label>' in body and '<label for="password">Password</label>' in body
    assert 'autocomplete="username"' in body and 'autocomplete="current-password"' in body
    assert 'role="alert"' not in body and "<title>Sign in · Reports</title>" in body


def test_a_wrong_password_keeps_the_username_and_says_why():
    client = client_for(make_app())
    wrong = post(client, "alice", "nope", next_url="/reports?tab=2")
    assert wrong.status_code == 401
    body = wrong.get_data(as_text=True)
    assert field_value(body, "username") == "alice"
    assert 'role="alert"' in body and "Wrong username or password." in body
    assert 'aria-invalid="true" aria-describedby="login-error"' in body
    assert 'name="next" value="/reports?tab=2"' in body
    assert 'type="password" autocomplete="current-password" required autofocus' in body  # on to the password


def test_everything_typed_or_passed_comes_back_escaped():
    client = client_for(make_app())
    body = post(client, EVIL, "nope", next_url=EVIL).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert field_value(body, "username") == "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    assert 'name="next" value="/"' in body  # an unsafe next is dropped, not echoed
    page = client.get("/login", query_string={"next": "/a\"><b>x", "reason": EVIL}).get_data(as_text=True)
    assert "<b>x" not in page and 'role="status"' not in page


def test_too_many_attempts_says_how_long_to_wait():
    client = client_for(make_app(throttle=LoginThrottle(max_failures=2, window=60, lockout=90)))
    assert [post(client, "alice", f"x{i}").status_code for i in range(2)] == [401, 401]
    locked = post(client, "alice", "wonderland")
    assert locked.status_code == 429
    wait = int(locked.headers["Retry-After"])
    assert 85 <= wait <= 91
    body = locked.get_data(as_text=True)
    assert "Too many failed sign-ins." in body and f"Try again in {wait} seconds." in body
    assert field_value(body, "username") == "alice"


def test_missing_fields_and_a_forged_form_say_so():
    client = client_for(make_app())
    empty = post(client, "", "", next_url="/")
    assert empty.status_code == 400 and "Enter a username and a password." in empty.get_data(as_text=True)
    forged = post(client, "alice", "wonderland", token="forged" * 8)
    body = forged.get_data(as_text=True)
    assert forged.status_code == 403 and "did not come from this site" in body
    assert field_value(body, "username") == "alice"
    unreadable = client.post("/login", data=b"\xff" * 10, content_type="multipart/form-data; boundary=x")
    assert 400 <= unreadable.status_code < 500


def test_an_expired_session_is_named_on_the_way_back_to_the_page():
    app = make_app(session_lifetime=1)
    client = client_for(app)
    assert post(client, "alice", "wonderland", next_url="/reports").status_code == 303
    assert client.get("/reports").status_code == 200
    time.sleep(1.2)
    again = client.get("/reports?tab=2")
    assert again.status_code == 302
    location = urlsplit(again.headers["Location"])
    assert parse_qs(location.query) == {"next": ["/reports?tab=2"], "reason": ["expired"]}
    form = client.get(f"{location.path}?{location.query}", headers={"Accept-Language": "de"})
    body = form.get_data(as_text=True)
    assert "Ihre Sitzung ist abgelaufen." in body and 'role="status"' in body
    assert 'name="next" value="/reports?tab=2"' in body
    # A callback of the open page gets JSON 401 with the login URL the page script follows.
    refused = client.post("/_dash-update-component", json=callback_body(app, "o.children"))
    assert refused.status_code == 401 and refused.get_json()["login_url"] == "/login"
    # Signing in again lands on the page.
    back = post(client, "alice", "wonderland", next_url="/reports?tab=2")
    assert back.status_code == 303 and back.headers["Location"] == "/reports?tab=2"


@pytest.mark.parametrize(("header", "phrases"), [
    ("de", ["Anmelden", "Benutzername", "Passwort", "Falscher Benutzername oder falsches Passwort."]),
    ("fr", ["Sign in", "Username", "Password", "Wrong username or password."]),
])
def test_the_form_in_the_browsers_language(header, phrases):
    client = client_for(make_app())
    body = post(client, "alice", "nope", headers={"Accept-Language": header}).get_data(as_text=True)
    for phrase in phrases:
        assert phrase in body


def test_a_browser_throttled_on_the_basic_header_gets_the_429_page():
    client = client_for(make_app(throttle=LoginThrottle(max_failures=2, window=60, lockout=60)))
    html_accept = {"Accept": "text/html"}
    for _ in range(2):
        client.get("/", headers={**basic_header("alice", "bad"), **html_accept})
    locked = client.get("/", headers={**basic_header("alice", "bad"), **html_accept, "Accept-Language": "de"})
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    body = locked.get_data(as_text=True)
    assert "Zu viele Versuche" in body and "Sekunden erneut" in body
