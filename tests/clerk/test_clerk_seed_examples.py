"""The seed README's Clerk examples, kept under examples/ with only the import lines changed, work
against the local Clerk stand-in."""

from __future__ import annotations

import json
import logging
import pathlib
import runpy
import sys

import dash
import pytest

from dash_auth_core.testing import callback_body, client_for, current_backend, router_body, sign_out

from .test_clerk_flow import signed_in

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


class _DashOnBackend(dash.Dash):
    """``Dash`` as the examples write it, created on the backend under test."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("backend", current_backend())
        super().__init__(*args, **kwargs)


def load(relative: str) -> dict:
    path = EXAMPLES / relative
    sys.path.insert(0, str(path.parent))
    original = dash.Dash
    dash.Dash = _DashOnBackend
    try:
        return runpy.run_path(str(path), run_name="seed_example")
    finally:
        dash.Dash = original
        sys.path.remove(str(path.parent))


def test_basic_clerk_setup(clerk, backend):
    app = load("seed_clerk_basic.py")["app"]
    client = client_for(app)
    assert client.get("/").status_code == 200
    home = client.post("/_dash-update-component", json=callback_body(app, "home-contents.children", [2]))
    assert json.loads(home.data)["response"]["home-contents"]["children"] == "You clicked the button 2 times"
    # The seed writes path_template="/user/{user_id}/private" where Dash's syntax is <user_id>:
    # Dash takes the braces literally, so the pages live at those literal paths.
    private_page = "/user/{user_id}/private"
    # auth_protect_layouts: the private page's routing callback answers, with the placeholder only.
    private = client.post("/_dash-update-component", json=router_body(private_page))
    assert private.status_code == 200 and b"Members-only" not in private.data
    assert client.get(private_page).status_code == 200  # the shell, no content
    # Any other path is private as usual: sign in with Clerk.
    first = client.get("/user/john_doe/private")
    assert first.status_code == 302 and first.headers["Location"].startswith(clerk.url + "/sign-in?")
    member, _ = signed_in(clerk, app, next_path="/user/john_doe/private")
    assert member.get("/user/john_doe/private").status_code == 200
    # (Signed in, the literal page would call the seed's layout without user_id, which fails in
    # Dash itself: the seed's typo, not the stack's.)
    assert sign_out(member).status_code == 200
    assert member.get("/user/john_doe/private").status_code == 302


def test_embedded_sign_in_page(clerk, backend):
    app = load("seed_clerk_embedded/app.py")["app"]
    client = client_for(app)
    page = client.get("/login")
    assert page.status_code == 200 and b"clerk.js" in page.data and b"/clerk/listener.js" in page.data
    state = client.get("/clerk/state").get_json()["state"]
    token = clerk.token(clerk.create_session("user_alice"))
    client.set_cookie("__session", token)
    done = client.post("/clerk/callback", data={"token": token, "state": state, "page": "/login"},
                       headers={"Accept": "application/json"})
    assert done.status_code == 200 and done.get_json() == {"next": "/login"}  # where the user was


@pytest.mark.backends("flask", reason="the seed's subclass returns Flask's redirect")
def test_embedded_sign_in_with_the_seeds_login_request_subclass(clerk, backend):
    app = load("seed_clerk_embedded/app_redirect.py")["app"]
    client = client_for(app)
    first = client.get("/reports")  # a private server path: the challenge asks login_request
    assert first.status_code == 302 and first.headers["Location"] == "/login"
    state = client.get("/clerk/state").get_json()["state"]
    token = clerk.token(clerk.create_session("user_alice"))
    client.set_cookie("__session", token)
    done = client.post("/clerk/callback", data={"token": token, "state": state, "page": "/login"},
                       headers={"Accept": "application/json"})
    assert done.get_json() == {"next": "/reports"}  # remembered by _redirect_test()


@pytest.fixture
def snippets(clerk):
    return load("seed_clerk_snippets.py")


def test_user_groups_snippets(snippets, clerk, backend):
    app = snippets["groups_callable_app"]()
    app.callback(dash.Output("x", "children"), dash.Input("y", "n_clicks"))(lambda n: "")
    client, _ = signed_in(clerk, app)
    with client.session_transaction() as session:
        assert session["user"]["groups"] == ["analyst"]
    app2 = snippets["groups_dict_app"]()
    client2, _ = signed_in(clerk, app2, user="user_bob")
    with client2.session_transaction() as session:
        assert session["user"]["groups"] == []  # bob@example.org is not bob@example.com
    assert snippets["layouts_app"]() is not None


@pytest.mark.backends("flask", reason="the seed's hooks use Flask's session and redirect")
def test_login_callback_and_logout_snippets(snippets, clerk, backend, caplog):
    app = snippets["login_callback_app"]()
    client = client_for(app)
    client.set_cookie("__session", clerk.token(clerk.create_session("user_alice")))
    done = client.get("/clerk/callback?next=/")
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard"
    with client.session_transaction() as session:
        assert session["user"]["role"] == "member" and session["user"]["name"] == "Alice Liddell"
    app2 = snippets["logout_app"]()
    client2, _ = signed_in(clerk, app2)
    with caplog.at_level(logging.INFO):
        sign_out(client2)
    assert "User alice@example.org is logging out." in caplog.text
    assert "You've been signed out." in client2.get("/clerk/signed-out").get_data(as_text=True)
    assert client2.get("/").status_code == 302  # signed out: back to Clerk's sign-in
