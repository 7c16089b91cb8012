"""OIDC logins and the session lifecycle: revocation reaches the identity cache, a Redis store holds the login."""

from __future__ import annotations

from typing import Any

from oidc_support import sign_in

from dash_auth_core import revoke_user
from dash_auth_core.testing import callback_body

OUT = "out.children"


def who(app, client) -> Any:
    response = client.post("/_dash-update-component", json=callback_body(app, OUT))
    if response.status_code == 200:
        return 200, response.get_json()["response"]["out"]["children"]
    return response.status_code, response.get_json()


def test_revoke_user_ends_a_cached_oidc_login(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    sign_in(client)
    for _ in range(3):
        assert who(app, client)[0] == 200  # the identity is now remembered per cookie
    revoke_user(app, "alice")
    assert who(app, client)[0] == 401
    sign_in(client)
    assert who(app, client)[0] == 200


def test_an_oidc_login_in_a_redis_store_ends_at_logout_on_another_instance(idp, make_app, redis_url):
    import re

    one, _ = make_app(idp, session_store=redis_url)
    two, _ = make_app(idp, session_store=redis_url)
    client = one.server.test_client()
    sign_in(client)
    sid = client.get_cookie("session").value
    assert len(sid) == 44  # an id, not the data
    other = two.server.test_client()
    other.set_cookie("session", sid)
    assert who(two, other) == (200, "alice|oidc:idp|staff,readers")
    page = client.get("/oidc/logout").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/oidc/logout", data={"csrf_token": token}).status_code in (200, 303)
    assert who(two, other)[0] == 401
