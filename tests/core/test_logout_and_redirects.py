"""Logout (CSRF-protected POST, ``on_logout``) and ``safe_next`` against open redirects."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import pytest
from dash import html
from helpers import SECRET

import dash_auth_core
from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack, redirect, safe_next
from dash_auth_core.backends.flask import to_flask
from dash_auth_core.testing import basic_header, client_for, make_dash

USERS = {"alice": "wonderland"}
ALICE = basic_header("alice", "wonderland")
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class LogoutRecorder:
    def __init__(self):
        self.calls = []

    @dash_auth_core.hookimpl
    def on_logout(self, identity, request):
        self.calls.append((identity, request.path))


@pytest.fixture
def app():
    app = make_dash(__name__)
    app.layout = html.Div("the app")
    BasicAuth(app, USERS, secret_key=SECRET)
    return app


@pytest.fixture
def recorder(app):
    recorder = LogoutRecorder()
    stack = AuthStack.of(app)
    stack.register(recorder)
    yield recorder
    stack.unregister(recorder)


def signed_in_client(app):
    """A client whose session holds alice (signed in once with Basic, header not sent again).

    The header is checked afresh: one verified before serves a new client statelessly."""
    dash_auth_core.AuthStack.get(app).get_plugin("dash_auth_basic").forget()
    client = client_for(app)
    assert client.get("/", headers=ALICE).status_code == 200
    assert session_user(client) == "alice"
    assert client.get("/").status_code == 200  # the session alone keeps her in
    return client


def session_user(client):
    with client.session_transaction() as session:
        user = session.get("user")
    return None if user is None else user.get("id")


def logout_token(client):
    response = client.get("/logout")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert '<form method="post"' in text
    match = TOKEN_RE.search(text)
    assert match, text
    return match.group(1)


def assert_still_signed_in(client, recorder):
    assert session_user(client) == "alice"
    assert client.get("/").status_code == 200
    assert recorder.calls == []


# -- logout ------------------------------------------------------------------


def test_get_logout_shows_a_form_and_does_not_log_out(app, recorder):
    client = signed_in_client(app)
    response = client.get("/logout")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert '<form method="post" action="/logout"' in text
    token = TOKEN_RE.search(text).group(1)
    assert len(token) >= 32
    assert "no-store" in response.headers["Cache-Control"]
    # Even a GET that carries the token does nothing.
    assert client.get(f"/logout?csrf_token={token}").status_code == 200
    assert client.head("/logout").status_code == 200
    assert_still_signed_in(client, recorder)


def test_token_is_stable_within_a_session_and_differs_between_sessions(app):
    first = signed_in_client(app)
    assert logout_token(first) == logout_token(first)
    second = signed_in_client(app)
    assert logout_token(first) != logout_token(second)


def test_post_without_token_is_refused(app, recorder):
    client = signed_in_client(app)
    logout_token(client)
    response = client.post("/logout")
    assert response.status_code == 403
    response = client.post("/logout", data={"other": "x"})
    assert response.status_code == 403
    assert_still_signed_in(client, recorder)


@pytest.mark.parametrize(
    "submitted", ["wrong", "", " ", "x" * 43, "\u00e9" * 43, "null"], ids=["wrong", "empty", "space", "same-length", "non-ascii", "null"]
)
def test_post_with_a_wrong_token_is_refused(app, recorder, submitted):
    client = signed_in_client(app)
    logout_token(client)
    response = client.post("/logout", data={"csrf_token": submitted})
    assert response.status_code == 403
    assert_still_signed_in(client, recorder)


def test_post_with_the_token_of_another_session_is_refused(app, recorder):
    other = client_for(app)
    stolen = logout_token(other)
    client = signed_in_client(app)
    logout_token(client)
    assert client.post("/logout", data={"csrf_token": stolen}).status_code == 403
    assert_still_signed_in(client, recorder)


def test_post_with_a_token_but_no_session_token_is_refused(app, recorder):
    """A session that never loaded the form has no token to match."""
    client = signed_in_client(app)
    stolen = logout_token(client_for(app))
    assert client.post("/logout", data={"csrf_token": stolen}).status_code == 403
    assert_still_signed_in(client, recorder)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "https://localhost"},  # same host, other scheme
        {"Origin": "http://localhost.evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Referer": "http://evil.example/logout"},
        {"Origin": "https://evil.example", "Referer": "http://localhost/logout"},
    ],
    ids=["origin-https", "origin-http", "origin-null", "origin-scheme", "origin-suffix", "referer-https",
         "referer-http", "origin-wins-over-referer"],
)
def test_post_with_the_right_token_from_another_origin_is_refused(app, recorder, headers):
    client = signed_in_client(app)
    token = logout_token(client)
    response = client.post("/logout", data={"csrf_token": token}, headers=headers)
    assert response.status_code == 403
    assert "Signed out" not in response.get_data(as_text=True)
    assert_still_signed_in(client, recorder)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"csrf_token": "TOKEN"}', "application/json"),
        ("--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nTOKEN", "multipart/form-data; boundary=b"),
        ("csrf_token=TOKEN", "text/plain"),
        ("\xff\xfe", "application/x-www-form-urlencoded"),
    ],
    ids=["json", "truncated-multipart", "text-plain", "binary-form"],
)
def test_post_with_the_token_in_an_unreadable_body_is_refused_not_500(app, recorder, body, content_type):
    client = signed_in_client(app)
    token = logout_token(client)
    response = client.post("/logout", data=body.replace("TOKEN", token).encode("latin-1"), content_type=content_type)
    assert response.status_code == 403
    assert_still_signed_in(client, recorder)


def test_token_in_the_query_string_only_is_refused(app, recorder):
    client = signed_in_client(app)
    token = logout_token(client)
    assert client.post(f"/logout?csrf_token={token}").status_code == 403
    assert_still_signed_in(client, recorder)


@pytest.mark.parametrize("origin", [None, "http://localhost"], ids=["no-origin", "same-origin"])
def test_post_with_the_token_logs_out(app, recorder, origin):
    client = signed_in_client(app)
    token = logout_token(client)
    headers = {"Origin": origin} if origin else {}
    response = client.post("/logout", data={"csrf_token": token}, headers=headers)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Signed out" in text
    assert response.headers.get("Clear-Site-Data") == '"cache"'
    with client.session_transaction() as session:
        assert "user" not in session
        assert dict(session) == {}
    assert len(recorder.calls) == 1
    identity, path = recorder.calls[0]
    assert identity is not None and identity.id == "alice"
    assert path == "/logout"
    # Signed out for real: without the Basic header the app asks for credentials again.
    assert client.get("/").status_code == 401


def test_token_cannot_be_replayed_after_logout(app, recorder):
    client = signed_in_client(app)
    token = logout_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    assert client.get("/", headers=ALICE).status_code == 200  # the header still signs her in (statelessly)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 403
    assert session_user(client) is None  # the old session, and its token, are gone
    assert len(recorder.calls) == 1


def test_on_logout_is_called_with_none_for_an_anonymous_logout(app, recorder):
    client = client_for(app)
    token = logout_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    assert recorder.calls == [(None, "/logout")]


def test_a_failing_on_logout_still_signs_the_user_out(app, caplog):
    class Failing:
        @dash_auth_core.hookimpl
        def on_logout(self, identity, request):
            raise RuntimeError("the provider is down")

    stack = AuthStack.of(app)
    failing = Failing()
    stack.register(failing)
    try:
        client = signed_in_client(app)
        with caplog.at_level(logging.ERROR, logger="dash_auth"):
            assert client.post("/logout", data={"csrf_token": logout_token(client)}).status_code == 200
        assert "on_logout hook failed" in caplog.text
        assert session_user(client) is None
        assert client.get("/").status_code == 401
    finally:
        stack.unregister(failing)


def test_recorder_is_gone_after_unregister(app):
    stack = AuthStack.of(app)
    recorder = LogoutRecorder()
    stack.register(recorder)
    stack.unregister(recorder)
    client = signed_in_client(app)
    assert client.post("/logout", data={"csrf_token": logout_token(client)}).status_code == 200
    assert recorder.calls == []


# -- safe_next ------------------------------------------------------------------

OPEN_REDIRECTS = [
    "https://evil.com",
    "http://evil.com/",
    "HTTPS://EVIL.COM",
    "//evil.com",
    "///evil.com",
    "////evil.com/path",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "/\\/evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.com",
    "evil.com/path",
    "https:/evil.com",
    "https:evil.com",
]

CONTROL = [
    "/\r\nSet-Cookie:x=1",
    "/\nSet-Cookie:x=1",
    "/\rx",
    "/\tevil",
    "/\x00",
    "/\x01",
    "/\x1b[31m",
    "/\x1f",
    "/\x7f",
    "\t//evil.com",
    "\n//evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
]

NOT_STRINGS = [None, 0, 1, b"/bytes", ["/"], {"next": "/"}, object()]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
@pytest.mark.parametrize("prefix", ["/", "/app/"])
def test_safe_next_refuses_other_origins(target, prefix):
    assert safe_next(target, prefix) == prefix


@pytest.mark.parametrize("target", CONTROL, ids=[repr(c) for c in CONTROL])
@pytest.mark.parametrize("prefix", ["/", "/app/"])
def test_safe_next_refuses_control_characters(target, prefix):
    assert safe_next(target, prefix) == prefix


@pytest.mark.parametrize("target", NOT_STRINGS, ids=[type(t).__name__ for t in NOT_STRINGS])
def test_safe_next_refuses_non_strings(target):
    assert safe_next(target) == "/"
    assert safe_next(target, "/app/") == "/app/"


@pytest.mark.parametrize("length", [2049, 10_000, 1_000_000])
def test_safe_next_refuses_very_long_targets(length):
    target = "/" + "a" * (length - 1)
    assert safe_next(target) == "/"
    assert safe_next("/app/" + "a" * length, "/app/") == "/app/"


def test_safe_next_accepts_long_but_reasonable_targets():
    target = "/" + "a" * 2047
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    ["", "/", "/application", "/ap", "/other/page", "/other?x=/app/", "/APP/page", "/app-evil/x",
     "app/page", "/app/../admin", "/app/./../admin", "/app/%2e%2e/admin", "/app/%2E%2E/admin", "/app/..",
     "/app/.%2e/admin"],
)
def test_safe_next_refuses_paths_outside_the_prefix(target):
    assert safe_next(target, "/app/") == "/app/"


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/page",
        "/page/",
        "/a/b/c",
        "/page?x=1&y=two",
        "/page#section",
        "/page?next=//evil.com",  # the query is not the location
        "/caf\u00e9",
        "/path%20with%20space",
        "/user/42/public",
        "/%E2%9C%93",
        "/a:b",
    ],
)
def test_safe_next_keeps_good_relative_paths(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", ["/app", "/app/", "/app/page", "/app/page?x=1#y", "/app/a/b/"])
def test_safe_next_keeps_good_paths_under_a_prefix(target):
    assert safe_next(target, "/app/") == target


def test_safe_next_default():
    assert safe_next("//evil.com", "/app/", default="/app/home") == "/app/home"
    assert safe_next("/app/page", "/app/", default="/app/home") == "/app/page"
    assert safe_next(None, "/", default="/landing") == "/landing"


@pytest.mark.parametrize(
    "target", ["/%0d%0aSet-Cookie:x=1", "/%0D%0ALocation:%20https://evil.com", "/%2F%2Fevil.com", "/%5Cevil.com"]
)
def test_percent_encoded_tricks_stay_harmless_same_origin_paths(target):
    """Kept encoded, these are plain same-origin paths: no header injection, no other host."""
    result = safe_next(target)
    assert result == "/" or result == target
    response = to_flask(redirect(result))
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert "Set-Cookie" not in response.headers
    assert urlsplit(location).netloc == ""
    assert location.startswith("/") and not location.startswith("//")


# -- the login form: next= end to end ---------------------------------------------


def form_app(**kwargs):
    app = make_dash(__name__, **kwargs)
    app.layout = html.Div("the app")
    BasicAuth(app, USERS, secret_key=SECRET, login_form=True)
    return app


def login(app, next_value, prefix="/"):
    client = client_for(app)
    page = client.get(f"{prefix}login")
    assert page.status_code == 200
    token = TOKEN_RE.search(page.get_data(as_text=True)).group(1)
    data = {"csrf_token": token, "username": "alice", "password": "wonderland", "next": next_value}
    return client.post(f"{prefix}login", data=data)


@pytest.mark.parametrize("target", OPEN_REDIRECTS + CONTROL[:4] + ["/%0d%0aSet-Cookie:x=1"])
def test_login_form_never_redirects_off_site(target):
    app = form_app()
    response = login(app, target)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert not any("x=1" in cookie for cookie in response.headers.getlist("Set-Cookie"))
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert urlsplit(location).netloc == "" and urlsplit(location).scheme == ""


@pytest.mark.parametrize("target", ["//evil.com", "/other", "/app/../admin", "https://evil.com/app/"])
def test_login_form_under_a_prefix_stays_in_the_app(target):
    app = form_app(url_base_pathname="/app/")
    response = login(app, target, prefix="/app/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/app/"


def test_login_form_keeps_a_good_next():
    app = form_app()
    response = login(app, "/reports?year=2024")
    assert response.status_code == 303
    assert response.headers["Location"] == "/reports?year=2024"


def test_login_form_page_does_not_echo_a_bad_next():
    app = form_app()
    client = client_for(app)
    text = client.get("/login?next=//evil.com/%22%3E%3Cscript%3E").get_data(as_text=True)
    assert "evil.com" not in text
    assert "<script>" not in text
