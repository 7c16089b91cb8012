"""Signing in with Clerk, staying signed in, and signing out, on every backend.

The real clerk-backend-api SDK verifies tokens and reads users and sessions
from the local stand-in (tests/clerk_support.py).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from clerk_support import ClerkStandIn

from dash_auth_core.testing import callback_body, client_for, sign_out


@pytest.fixture(autouse=True)
def _on_every_backend(backend):
    return backend


class Clock:
    """A wall clock the tests move forward (patched into the plugin)."""

    def __init__(self) -> None:
        import time

        self.offset = 0.0
        self._time = time.time

    def __call__(self) -> float:
        return self._time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def who(client: Any, app: Any, headers: dict[str, str] | None = None) -> tuple[int, str]:
    response = client.post("/_dash-update-component", json=callback_body(app, "out.children", [1]), headers=headers or {})
    if response.status_code != 200:
        return response.status_code, ""
    # (Dash's FastAPI backend answers callbacks without a JSON content type.)
    return 200, json.loads(response.get_data(as_text=True))["response"]["out"]["children"]


def signed_in(clerk: ClerkStandIn, app: Any, user: str = "user_alice", next_path: str = "/") -> tuple[Any, str]:
    """A client that signed in the way the hosted page's return does (the ``__session`` cookie)."""
    client = client_for(app)
    sid = clerk.create_session(user)
    client.set_cookie("__session", clerk.token(sid))
    done = client.get(f"/clerk/callback?next={next_path}")
    assert done.status_code == 302, done.get_data(as_text=True)
    assert done.headers["Location"] == next_path
    return client, sid


def test_an_anonymous_page_request_goes_to_the_hosted_sign_in(make_app, clerk):
    app, _ = make_app()
    client = client_for(app)
    first = client.get("/reports?tab=2")
    assert first.status_code == 302
    target = urlsplit(first.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{clerk.url}/sign-in"
    back = parse_qs(target.query)["redirect_url"][0]
    assert back == "http://localhost/clerk/callback?next=/reports%3Ftab%3D2"
    # Callbacks get JSON, never a redirect, with where to sign in.
    refused = client.post("/_dash-update-component", json=callback_body(app, "out.children", [1]))
    assert refused.status_code == 401 and refused.get_json()["login_url"] == "/clerk/login"


def test_every_dash_page_loads_clerk_js_and_the_listener(make_app, clerk):
    app, _ = make_app(public_routes=["/"])
    page = client_for(app).get("/").get_data(as_text=True)
    assert f'data-clerk-publishable-key="{clerk.publishable_key}"' in page
    assert 'src="/clerk/listener.js"' in page and 'data-callback="/clerk/callback"' in page
    listener = client_for(app).get("/clerk/listener.js")
    assert listener.status_code == 200 and "clerk_logged_in" in listener.get_data(as_text=True)


def test_sign_in_through_the_session_cookie(make_app, clerk):
    app, _ = make_app()
    client, sid = signed_in(clerk, app, next_path="/reports")
    assert client.get("/reports").status_code == 200
    assert who(client, app) == (200, "user_alice|alice@example.org|")
    assert "GET /v1/users/user_alice" in clerk.calls


def test_the_callback_page_completes_a_sign_in_without_a_cookie(make_app, clerk):
    app, _ = make_app()
    client = client_for(app)
    page = client.get("/clerk/callback?next=/reports")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "data-dash-auth-clerk-callback" in text and "clerk.js" in text
    state = client.get("/clerk/state").get_json()["state"]
    sid = clerk.create_session("user_bob")
    client.set_cookie("__session", clerk.token(sid))
    done = client.post("/clerk/callback", data={"token": clerk.token(sid), "state": state, "next": "/reports"},
                       headers={"Accept": "application/json"})
    assert done.status_code == 200 and done.get_json() == {"next": "/reports"}
    assert who(client, app) == (200, "user_bob|bob@example.org|")


def test_a_form_post_of_the_callback_redirects(make_app, clerk):
    app, _ = make_app()
    client = client_for(app)
    state = client.get("/clerk/state").get_json()["state"]
    sid = clerk.create_session("user_bob")
    client.set_cookie("__session", clerk.token(sid))
    done = client.post("/clerk/callback", data={"token": clerk.token(sid), "state": state, "next": "/x?y=1"})
    assert done.status_code == 303 and done.headers["Location"] == "/x?y=1"


def test_scripts_send_the_token_as_bearer(make_app, clerk):
    app, _ = make_app()
    client = client_for(app, use_cookies=False)
    token = clerk.token(clerk.create_session("user_alice"))
    assert who(client, app, {"Authorization": f"Bearer {token}"}) == (200, "user_alice|alice@example.org|")
    calls = len(clerk.calls)
    assert who(client, app, {"Authorization": f"Bearer {token}"})[0] == 200
    assert len(clerk.calls) == calls  # remembered: no Backend API call per request
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_sign_out_at_clerk_in_the_same_browser_ends_the_login_at_once(make_app, clerk):
    app, _ = make_app()
    client, _ = signed_in(clerk, app)
    assert who(client, app)[0] == 200
    client.delete_cookie("__session")  # what clerk-js does on Clerk.signOut()
    assert who(client, app)[0] == 401
    assert client.get("/").status_code == 302  # and the app session is gone for good
    client.set_cookie("__session", "x.y.z")
    assert who(client, app)[0] == 401


def test_another_users_clerk_session_in_the_browser_ends_the_login(make_app, clerk):
    app, _ = make_app()
    client, _ = signed_in(clerk, app)
    client.set_cookie("__session", clerk.token(clerk.create_session("user_bob")))
    assert who(client, app)[0] == 401


def test_a_refreshed_session_token_keeps_the_login(make_app, clerk):
    app, _ = make_app()
    client, sid = signed_in(clerk, app)
    for _ in range(3):
        client.set_cookie("__session", clerk.token(sid))  # clerk-js refreshes it about every minute
        assert who(client, app) == (200, "user_alice|alice@example.org|")


def test_a_session_revoked_at_clerk_ends_within_the_check_interval(make_app, clerk):
    app, auth = make_app(session_check_interval=30)
    clock = Clock()
    auth.plugin.clock = clock
    client, sid = signed_in(clerk, app)
    assert who(client, app)[0] == 200
    clerk.revoke(sid)
    clock.advance(10)
    assert who(client, app)[0] == 200  # not asked yet: within the interval
    checks = clerk.calls.count(f"GET /v1/sessions/{sid}")
    clock.advance(25)
    assert who(client, app)[0] == 401
    assert clerk.calls.count(f"GET /v1/sessions/{sid}") == checks + 1
    assert client.get("/").status_code == 302


def test_an_active_session_is_asked_about_once_per_interval(make_app, clerk):
    app, auth = make_app(session_check_interval=30)
    clock = Clock()
    auth.plugin.clock = clock
    client, sid = signed_in(clerk, app)
    for _ in range(5):
        assert who(client, app)[0] == 200
    assert clerk.calls.count(f"GET /v1/sessions/{sid}") == 0  # the sign-in itself vouched for it
    clock.advance(31)
    for _ in range(5):
        assert who(client, app)[0] == 200
    assert clerk.calls.count(f"GET /v1/sessions/{sid}") == 1


def test_logout_is_a_csrf_checked_post_that_revokes_the_clerk_session(make_app, clerk):
    app, _ = make_app()
    client, sid = signed_in(clerk, app)
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert who(client, app)[0] == 200
    done = sign_out(client)
    text = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "signOut" in text and "clerk_logged_in" in text and clerk.publishable_key in text
    assert clerk.sessions[sid]["status"] == "revoked"
    assert who(client, app)[0] == 401
    # The old Clerk session's tokens sign nobody in again here.
    client.set_cookie("__session", clerk.token(sid))
    assert client.get("/clerk/callback?next=/").status_code == 200  # the page, not a login
    assert who(client, app)[0] == 401


def test_before_logout_and_logout_page(make_app, clerk):
    seen = []
    app, _ = make_app(before_logout=lambda: seen.append("bye"), logout_page="<h1 id='custom'>See you</h1>")
    client, _ = signed_in(clerk, app)
    done = sign_out(client).get_data(as_text=True)
    assert seen == ["bye"]
    assert '"/clerk/signed-out"' in done  # the snippet continues to the app's page after Clerk's sign-out
    page = client.get("/clerk/signed-out")
    assert page.status_code == 200 and "id='custom'" in page.get_data(as_text=True)


def test_log_signins(make_app, clerk, caplog):
    app, _ = make_app()
    with caplog.at_level("INFO", logger="dash_auth.clerk"):
        signed_in(clerk, app)
    assert any("Clerk sign-in of user_alice" in r.getMessage() for r in caplog.records)
    app2, _ = make_app(log_signins=False)
    caplog.clear()
    with caplog.at_level("INFO", logger="dash_auth.clerk"):
        signed_in(clerk, app2)
    assert not any("Clerk sign-in of" in r.getMessage() for r in caplog.records)


def test_the_embedded_sign_in_option(make_app, clerk):
    app, _ = make_app(sign_in="embedded")
    client = client_for(app)
    first = client.get("/reports")
    assert first.status_code == 302 and first.headers["Location"] == "/clerk/sign-in?next=/reports"
    page = client.get(first.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "mountSignIn" in text and "data-dash-auth-clerk-page" in text
    assert re.search(r'data-clerk-publishable-key="pk_test_', text)


def test_an_app_page_as_the_sign_in_page(make_app, clerk):
    app, _ = make_app(sign_in="/login")
    client = client_for(app)
    first = client.get("/reports")
    assert first.status_code == 302 and first.headers["Location"] == "/login?next=/reports"
    assert client.get("/login").status_code == 200  # made public
    # The page lost ?next= on the way (client-side navigation): the session remembered it.
    state = client.get("/clerk/state").get_json()["state"]
    sid = clerk.create_session("user_alice")
    done = client.post("/clerk/callback", data={"token": clerk.token(sid), "state": state, "page": "/login"},
                       headers={"Accept": "application/json"})
    assert json.loads(done.get_data(as_text=True)) == {"next": "/reports"}
