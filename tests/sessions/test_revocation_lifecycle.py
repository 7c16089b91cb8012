"""Revocation, forget(), users removed from the table, lifetimes and remember-me, with and without a store."""

from __future__ import annotations

import time

import pytest
from session_support import USERS, call, form_app, new_client, session_cookie, sign_in

from dash_auth_core import AuthStack, revoke_user
from dash_auth_core.identity import SESSION_KEY
from dash_auth_core.testing import basic_header


@pytest.fixture(params=["signed-cookie", "redis"])
def store(request):
    """``session_store`` for the app: none (signed cookies) or the private Redis."""
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return None


def options(store):
    return {} if store is None else {"session_store": store}


def test_revoke_user_ends_every_session_of_that_user(store):
    app, _ = form_app(**options(store))
    alice1, alice2, bob = new_client(app), new_client(app), new_client(app)
    for client, user in ((alice1, "alice"), (alice2, "alice"), (bob, "bob")):
        assert sign_in(client, user).status_code == 303
        assert call(client, app).status_code == 200
    revoke_user(app, "alice")
    assert call(alice1, app).status_code == 401
    assert call(alice2, app).status_code == 401
    assert call(bob, app).status_code == 200
    # A new login after the revocation works.
    sign_in(alice1)
    assert call(alice1, app).status_code == 200


def test_sign_out_everywhere_ends_the_users_other_sessions(store):
    import re

    app, _ = form_app(**options(store))
    laptop, phone = new_client(app), new_client(app)
    sign_in(laptop)
    sign_in(phone)
    page = laptop.get("/logout").get_data(as_text=True)
    assert 'id="sign-out-everywhere"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert laptop.post("/logout", data={"csrf_token": token, "everywhere": "1"}).status_code == 200
    assert call(laptop, app).status_code == 401
    assert call(phone, app).status_code == 401


def test_forget_ends_the_users_sessions_and_cached_headers(store):
    app, auth = form_app(**options(store))
    browser, script = new_client(app), new_client(app)
    sign_in(browser)
    header = basic_header("alice", "wonderland")
    assert script.post("/_dash-update-component", json={"output": "o.children", "inputs": [
        {"id": "b", "property": "n_clicks", "value": 1}], "changedPropIds": ["b.n_clicks"]},
        headers=header).status_code in (200, 400)
    auth.forget("alice")
    assert call(browser, app).status_code == 401
    # The header itself still proves the password: it is checked again, and works.
    assert call(new_client(app), app).status_code == 401
    response = new_client(app).post("/_dash-update-component", json=_body(app), headers=header)
    assert response.status_code == 200


def _body(app):
    from dash_auth_core.testing import callback_body

    return callback_body(app, "o.children", [1])


def test_a_user_removed_from_the_table_loses_sessions_and_headers(store):
    users = dict(USERS)
    app, _ = form_app(users, **options(store))
    browser, script = new_client(app), new_client(app)
    sign_in(browser)
    header = basic_header("alice", "wonderland")
    assert script.post("/_dash-update-component", json=_body(app), headers=header).status_code == 200
    assert call(browser, app).status_code == 200
    del users["alice"]
    assert call(browser, app).status_code == 401
    assert script.post("/_dash-update-component", json=_body(app), headers=header).status_code == 401
    users["carol"] = "new-password"  # added at run time: can sign in
    assert script.post("/_dash-update-component", json=_body(app),
                       headers=basic_header("carol", "new-password")).status_code == 200


def test_a_changed_password_stops_the_old_header(store):
    users = dict(USERS)
    app, _ = form_app(users, **options(store))
    script = new_client(app)
    header = basic_header("bob", "builder")
    assert script.post("/_dash-update-component", json=_body(app), headers=header).status_code == 200
    users["bob"] = "a-new-password"
    assert script.post("/_dash-update-component", json=_body(app), headers=header).status_code == 401


def test_script_clients_are_served_without_a_session():
    app, _ = form_app()
    header = basic_header("alice", "wonderland")
    first = new_client(app).post("/_dash-update-component", json=_body(app), headers=header)
    assert first.status_code == 200
    for _ in range(3):
        response = new_client(app).post("/_dash-update-component", json=_body(app), headers=header)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers and "set-cookie" not in response.headers


def test_a_session_without_a_login_time_is_expired(store):
    app, _ = form_app(**options(store))
    client = new_client(app)
    sign_in(client)
    assert call(client, app).status_code == 200
    _rewrite(client, app, store, lambda data: data[SESSION_KEY].pop("auth_time"))
    assert call(client, app).status_code == 401


def test_absolute_lifetime_and_idle_timeout(store):
    app, _ = form_app(session_lifetime=3600, session_idle_timeout=600, **options(store))
    client = new_client(app)
    sign_in(client)
    _rewrite(client, app, store, lambda data: data[SESSION_KEY].update(auth_time=time.time() - 3601))
    assert call(client, app).status_code == 401
    if store is None:  # with a store the record's own expiry is the idle timeout (see the store tests)
        sign_in(client)
        _rewrite(client, app, None, lambda data: data.update(_dash_auth_seen=time.time() - 601))
        assert call(client, app).status_code == 401
        sign_in(client)
        _rewrite(client, app, None, lambda data: data.update(_dash_auth_seen=time.time() - 300))
        assert call(client, app).status_code == 200


def test_remember_me_gets_a_persistent_cookie_a_plain_login_does_not(store):
    app, _ = form_app(**options(store))
    client = new_client(app)
    assert 'name="remember"' in client.get("/login").get_data(as_text=True)
    plain = sign_in(client)
    cookie = _set_cookie(plain)
    assert "max-age" not in cookie.lower() and "expires" not in cookie.lower()
    remembered = sign_in(new_client(app), remember=True)
    cookie = _set_cookie(remembered).lower()
    assert "max-age=" in cookie or "expires=" in cookie
    stack = AuthStack.get(app)
    if "max-age=" in cookie:
        age = int(cookie.split("max-age=")[1].split(";")[0])
        assert stack.remember_lifetime - 60 <= age <= stack.remember_lifetime


def test_a_remembered_login_outlives_the_session_lifetime_but_not_its_own(store):
    app, _ = form_app(session_lifetime=3600, remember_lifetime=7200, **options(store))
    client = new_client(app)
    sign_in(client, remember=True)
    _rewrite(client, app, store, lambda data: data[SESSION_KEY].update(auth_time=time.time() - 5000))
    assert call(client, app).status_code == 200
    _rewrite(client, app, store, lambda data: data[SESSION_KEY].update(auth_time=time.time() - 7300))
    assert call(client, app).status_code == 401


def _set_cookie(response) -> str:
    values = [v for k, v in response.headers.items() if k.lower() == "set-cookie" and v.startswith("session=")]
    assert values, dict(response.headers)
    return values[-1]


def _rewrite(client, app, store, change):
    """Change the signed-in session's data in place (the cookie, or the record in Redis)."""
    if store is None:
        with client.session_transaction() as session:
            data = dict(session)
        change(data)
        if hasattr(app.server, "session_interface") and hasattr(client, "set_cookie"):
            # Flask: sign the cookie directly (its save path would stamp a missing login time,
            # as it does for a login the app writes by hand: this is a cookie from before).
            serializer = app.server.session_interface.get_signing_serializer(app.server)
            client.set_cookie("session", serializer.dumps(data))
            return
        with client.session_transaction() as session:
            session.clear()
            session.update(data)
        return
    import json

    import redis

    from dash_auth_core.sessions import ids

    raw = redis.Redis.from_url(store)
    key = "dash_auth:s:" + ids.record_key(session_cookie(client))
    record = json.loads(raw.get(key))
    change(record["d"])
    raw.set(key, json.dumps(record), keepttl=True)
