"""Groups, the seed's login_user_callback, and Clerk beside Basic and OpenID Connect in one app."""

from __future__ import annotations

import pytest
from dash import Input, Output, html
from oidc_support import CLIENT_ID, CLIENT_SECRET, ThreadProvider, authorize, path_of

from dash_auth_basic import BasicAuth
from dash_auth_clerk import ClerkAuth, LoginRefused
from dash_auth_core import Response, current_user
from dash_auth_core.testing import basic_header, callback_body, client_for
from dash_auth_groups import protected_callback
from dash_auth_oidc import OIDCAuth

from .conftest import SECRET, build_app
from .test_clerk_flow import signed_in, who


@pytest.fixture(scope="module")
def idp():
    provider = ThreadProvider()
    provider.set_user("olga", email="olga@example.org", name="Olga", groups=["ops"])
    yield provider
    provider.stop()


def test_user_groups_keyed_by_email_or_user_id(make_app, clerk, backend):
    app, _ = make_app(user_groups={"alice@example.org": ["admin", "editor"], "user_bob": ["viewer"]})
    alice, _ = signed_in(clerk, app)
    assert who(alice, app) == (200, "user_alice|alice@example.org|admin,editor")
    bob, _ = signed_in(clerk, app, user="user_bob")
    assert who(bob, app) == (200, "user_bob|bob@example.org|viewer")


def test_an_unverified_email_gives_no_groups(make_app, clerk):
    clerk.add_user("eve", "alice-lookalike@example.org", verified=False)
    seen = []
    app, _ = make_app(user_groups=lambda email: seen.append(email) or ["x"] if email else [])
    eve, _ = signed_in(clerk, app, user="user_eve")
    assert who(eve, app) == (200, "user_eve|alice-lookalike@example.org|")
    assert seen == []


def test_user_groups_callable_gets_the_email(make_app, clerk):
    app, _ = make_app(user_groups=lambda email: ["db:" + email])
    alice, _ = signed_in(clerk, app)
    assert who(alice, app) == (200, "user_alice|alice@example.org|db:alice@example.org")


def test_groups_from_the_organization_and_public_metadata(make_app, clerk):
    clerk.org = {"id": "org_1", "slg": "acme", "rol": "org:admin"}
    app, _ = make_app(organization_groups=True, metadata_groups_key="groups", user_groups={"user_alice": ["x"]})
    alice, _ = signed_in(clerk, app)
    assert who(alice, app) == (200, "user_alice|alice@example.org|x,acme:admin,beta")
    token = clerk.token(clerk.create_session("user_alice"))
    bearer = client_for(app, use_cookies=False)
    assert who(bearer, app, {"Authorization": f"Bearer {token}"}) == (200, "user_alice|alice@example.org|x,acme:admin,beta")


def test_with_dash_auth_groups(clerk, backend):
    app = build_app()
    app.layout = html.Div([html.Button(id="btn"), html.Div(id="out"), html.Div(id="admin")])

    @protected_callback(Output("admin", "children"), Input("btn", "n_clicks"), groups=["admin"],
                        missing_permissions_output="no", app=app)
    def admin_only(_n):
        return f"yes {current_user().email}"

    ClerkAuth(app, secret_key=SECRET, user_groups={"alice@example.org": ["admin"]})
    alice, _ = signed_in(clerk, app)
    bob, _ = signed_in(clerk, app, user="user_bob")
    body = callback_body(app, "admin.children", [1])
    assert alice.post("/_dash-update-component", json=body).get_data(as_text=True).count("yes alice@example.org") == 1
    refused = bob.post("/_dash-update-component", json=body).get_data(as_text=True)
    assert '"children":"no"' in refused.replace(" ", "") and "yes" not in refused
    assert client_for(app).post("/_dash-update-component", json=body).status_code == 401


@pytest.mark.backends("flask", reason="the seed's callback writes Flask's session and returns Flask's redirect")
def test_the_seeds_login_user_callback(make_app, clerk, backend):
    from flask import redirect, session

    seen = []

    def my_post_login(user, idp):
        seen.append((user.id, idp))
        session["user"] = {
            "email": user.email_addresses[0].email_address,
            "name": f"{user.first_name} {user.last_name}",
            "role": "analyst",
        }
        return redirect("/dashboard")

    app, _ = make_app(login_user_callback=my_post_login, user_groups={"alice@example.org": ["admin"]})
    client = client_for(app)
    sid = clerk.create_session("user_alice")
    client.set_cookie("__session", clerk.token(sid))
    done = client.get("/clerk/callback?next=/reports")
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard"
    assert seen == [("user_alice", "clerk")]
    with client.session_transaction() as stored:
        user = stored["user"]
    assert (user["email"], user["name"], user["role"], user["groups"]) == (
        "alice@example.org", "Alice Liddell", "analyst", ["admin"])
    assert who(client, app) == (200, "user_alice|alice@example.org|admin")
    # The listener's JSON sign-in follows the callback's redirect.
    other = client_for(app)
    state = other.get("/clerk/state").get_json()["state"]
    token = clerk.token(clerk.create_session("user_alice"))
    done = other.post("/clerk/callback", data={"token": token, "state": state}, headers={"Accept": "application/json"})
    assert done.get_json() == {"next": "/dashboard"}


def test_a_login_user_callback_may_refuse(make_app, clerk, backend):
    def refuse(user, idp):
        if user.id == "user_bob":
            raise LoginRefused("Bob may not use this app.")
        return Response(302, b"", headers={"Location": "/welcome"})

    app, _ = make_app(login_user_callback=refuse)
    client = client_for(app)
    client.set_cookie("__session", clerk.token(clerk.create_session("user_bob")))
    page = client.get("/clerk/callback?next=/")
    assert page.status_code == 403 and "Bob may not use this app." in page.get_data(as_text=True)
    assert who(client, app)[0] == 401
    alice = client_for(app)
    alice.set_cookie("__session", clerk.token(clerk.create_session("user_alice")))
    assert alice.get("/clerk/callback?next=/").headers["Location"] == "/welcome"
    # The callback cannot run for a script's token: Bearer tokens are off with it ...
    bearer = {"Authorization": "Bearer " + clerk.token(clerk.create_session("user_bob"))}
    assert who(client_for(app, use_cookies=False), app, bearer)[0] == 401
    # ... unless the app turns them on.
    app2, _ = make_app(login_user_callback=refuse, bearer_tokens=True)
    assert who(client_for(app2, use_cookies=False), app2, bearer)[0] == 200


def test_basic_for_scripts_beside_clerk_for_browsers(clerk, backend):
    app = build_app()
    BasicAuth(app, {"robot": "a-long-robot-password"}, secret_key=SECRET)
    ClerkAuth(app, secret_key=SECRET)
    script = client_for(app, use_cookies=False)
    assert who(script, app, basic_header("robot", "a-long-robot-password")) == (200, "robot|robot|")
    assert who(script, app, basic_header("robot", "wrong-password"))[0] == 401
    browser, _ = signed_in(clerk, app)
    assert who(browser, app) == (200, "user_alice|alice@example.org|")
    # A wrong Basic header refuses the request whatever the Clerk login says.
    assert who(browser, app, basic_header("robot", "wrong-password"))[0] == 401
    # Pages send browsers to Clerk, not to the Basic prompt.
    first = client_for(app).get("/")
    assert first.status_code == 302 and "/sign-in?redirect_url=" in first.headers["Location"]
    # A Clerk Bearer token works beside Basic too.
    token = clerk.token(clerk.create_session("user_bob"))
    assert who(script, app, {"Authorization": f"Bearer {token}"}) == (200, "user_bob|bob@example.org|")


def test_oidc_and_clerk_in_one_app(clerk, idp, backend):
    app = build_app()
    oidc = OIDCAuth(app, secret_key=SECRET)
    oidc.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)
    ClerkAuth(app, secret_key=SECRET)
    # A Clerk login ...
    browser, _ = signed_in(clerk, app)
    assert who(browser, app) == (200, "user_alice|alice@example.org|")
    # ... and an OIDC login, each in its own browser.
    other = client_for(app)
    start = other.get("/oidc/idp/login?next=/")
    assert start.status_code == 302
    done = other.get(path_of(authorize(start.headers["Location"], "olga")))
    assert done.status_code == 302
    assert who(other, app) == (200, "olga|olga@example.org|ops")
    # Signing in with Clerk in the OIDC browser replaces that login.
    other.set_cookie("__session", clerk.token(clerk.create_session("user_bob")))
    assert other.get("/clerk/callback?next=/").status_code == 302
    assert who(other, app) == (200, "user_bob|bob@example.org|")
