"""The authorization-code flow end to end against real providers on 127.0.0.1.

The app is driven with Flask's test client; the provider (oidc-provider-mock)
is a real server reached over HTTP, in a thread or as its own process. Tests
taking ``any_idp`` run against it and against the strict oidc-provider (a Node
process, see tests/oidc_matrix.py); those taking ``strict_idp`` against the
strict one only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oidc_matrix import StrictIdP
from oidc_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET,
    authorize,
    build_app,
    path_of,
    session_of,
    sign_in,
    start_login,
)

from dash_auth_core import AuthStack, ConfigurationError, hookimpl
from dash_auth_core.testing import callback_body
from dash_auth_oidc import LoginRefused, MemoryTokenStore, OIDCAuth
from dash_auth_oidc.state import STATE_KEY
from dash_auth_oidc.store import TOKENS_KEY

OUT = "out.children"


def tokens_of(app, auth, client) -> dict[str, str]:
    """The tokens the app keeps for ``client``'s session."""
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        return auth.get_tokens()


def who(app, client) -> Any:
    """POST the private callback; return (status, text or JSON)."""
    response = client.post("/_dash-update-component", json=callback_body(app, OUT))
    if response.status_code == 200:
        return 200, response.get_json()["response"]["out"]["children"]
    return response.status_code, response.get_json()


def assert_signed_out(app, client, start: str = "/") -> None:
    response = client.get(start)
    assert response.status_code == 302
    assert "/oidc/" in response.headers["Location"] or "/login" in response.headers["Location"]
    assert "user" not in session_of(app, client)


# -- the happy path -------------------------------------------------------------


def test_a_protected_page_redirects_to_the_only_provider_with_next(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    response = client.get("/reports?tab=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/oidc/idp/login?next=/reports%3Ftab%3D2"
    # Nothing was written to the session for an anonymous page request.
    assert client.get_cookie("session") is None
    status, body = who(app, client)
    assert status == 401 and body["login_url"] == "/oidc/login"


def test_sign_in_refresh_and_logout_with_a_real_provider_process(idp_process, make_app, clock):
    """Login, callback, session, protected callback, refresh and RP-initiated logout,
    against ``python -m oidc_provider_mock`` running as its own process."""
    app, auth = make_app(idp_process, store_access_token=True)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    dance = sign_in(client, "/reports?tab=2", sub="dora")
    assert dance.response.status_code == 302
    assert dance.response.headers["Location"] == "/reports?tab=2"  # the page asked for
    assert client.get("/reports?tab=2").status_code == 200
    assert who(app, client) == (200, "dora|oidc:idp|ops")

    state = session_of(app, client)[STATE_KEY]
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        before = auth.get_tokens()
    clock.advance(state["r"] - clock() + 5)
    assert who(app, client) == (200, "dora|oidc:idp|ops")
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        after = auth.get_tokens()
    assert after["access_token"] != before["access_token"]  # refreshed at the provider

    client.get("/oidc/logout")
    token = session_of(app, client)["_dash_auth_csrf"]
    done = client.post("/oidc/logout", data={"csrf_token": token})
    assert done.status_code == 303
    assert done.headers["Location"].startswith(idp_process.url + "/oauth2/end_session?")
    assert requests.get(done.headers["Location"], timeout=10).status_code == 200
    assert_signed_out(app, client)


def test_sign_in_lands_on_the_page_asked_for_with_identity_and_groups(any_idp, make_app):
    app, auth = make_app(any_idp, user_groups={"alice@example.org": ["editors"]})
    client = app.server.test_client()
    dance = any_idp.sign_in(client, "/reports?tab=2")
    assert dance.response.headers["Location"] == "/reports?tab=2"
    assert client.get("/").status_code == 200
    assert who(app, client) == (200, "alice|oidc:idp|staff,readers,editors")
    session = session_of(app, client)
    user = session["user"]
    # The seed libraries' shape: email and groups at the top level.
    assert user["email"] == "alice@example.org" and user["groups"] == ["staff", "readers", "editors"]
    assert user["name"] == "Alice Liddell" and user["provider"] == "oidc:idp"
    assert session["idp"] == "idp"
    assert session[STATE_KEY]["p"] == "idp" and session[STATE_KEY]["s"] == "alice"
    assert auth.providers["idp"].issuer == any_idp.url
    if any_idp.kind == "strict":
        assert any_idp.pages == ["login", "consent"]  # its real sign-in and consent pages
        # RFC 9207: the strict provider names itself in the answer (and it matched).
        assert parse_qs(urlsplit(dance.callback_url).query)["iss"] == [any_idp.url]


def test_authorization_request_has_state_nonce_and_pkce_s256(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    authorize_url = start_login(client, "/")
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == "http://localhost/oidc/idp/callback"
    assert set(params["scope"].split()) == {"openid", "email", "profile"}
    assert params["code_challenge_method"] == "S256"
    pending = session_of(app, client)["_oidc_pending"]
    [(_state, idp_name, _started, nonce, verifier, next_url)] = [e for e in pending if e[0] == params["state"]]
    assert idp_name == "idp" and next_url == "/"
    assert params["nonce"] == nonce and len(params["state"]) >= 32
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert params["code_challenge"] == expected and 43 <= len(verifier) <= 128


def test_tokens_are_encrypted_in_the_http_only_session_cookie(idp, make_app):
    app, auth = make_app(idp)
    client = app.server.test_client()
    dance = sign_in(client)
    set_cookie = dance.response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    session = session_of(app, client)
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        tokens = auth.get_tokens()
    assert tokens is not None and tokens["refresh_token"] and tokens["id_token"].count(".") == 2
    assert "access_token" not in tokens  # only kept with store_access_token=True
    # The decoded session (what anyone holding the cookie can read) has neither token in it.
    readable = json.dumps(session)
    assert tokens["refresh_token"] not in readable
    assert tokens["id_token"].split(".")[1][:40] not in readable
    assert len(raw) < 2500  # small enough to leave room under the 4 KB cookie limit


def test_memory_token_store_keeps_only_a_handle_in_the_cookie(idp, make_app):
    store = MemoryTokenStore()
    app, auth = make_app(idp, token_store=store, store_access_token=True)
    client = app.server.test_client()
    sign_in(client)
    handle = session_of(app, client)[TOKENS_KEY]
    assert isinstance(handle, str) and len(handle) >= 32
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        tokens = auth.get_tokens()
    assert tokens["access_token"] and tokens["refresh_token"] not in raw


def test_session_is_rotated_at_login(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    client.get("/oidc/logout")  # an anonymous session with a CSRF token
    before = session_of(app, client)["_dash_auth_csrf"]
    sign_in(client)
    after = session_of(app, client)
    assert "_dash_auth_csrf" not in after or after["_dash_auth_csrf"] != before
    assert "_oidc_pending" not in after


@pytest.mark.parametrize(
    ("next_value", "lands"),
    [
        ("/reports?x=1", "/reports?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/a/../../etc", "/"),
        ("/reports?q=" + "x" * 1100, "/"),  # safe, but too long to keep: the app root, not ""
    ],
)
def test_after_login_only_same_origin_relative_next(idp, make_app, next_value, lands):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    response = client.get("/oidc/idp/login", query_string={"next": next_value})
    callback = authorize(response.headers["Location"])
    done = client.get(path_of(callback))
    assert done.status_code == 302 and done.headers["Location"] == lands


def test_url_prefix_is_respected(idp, make_app):
    app, _auth = make_app(idp, dash_kwargs={"url_base_pathname": "/app/"})
    client = app.server.test_client()
    response = client.get("/app/reports")
    assert response.headers["Location"] == "/app/oidc/idp/login?next=/app/reports"
    dance = sign_in(client, "/app/reports")
    assert dance.authorize_params["redirect_uri"] == "http://localhost/app/oidc/idp/callback"
    assert dance.response.headers["Location"] == "/app/reports"
    assert client.get("/app/").status_code == 200


# -- redirect URI: the request's own scheme and host ------------------------------


def test_redirect_uri_ignores_forwarded_headers(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    response = client.get(
        "/oidc/idp/login",
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "Forwarded": "host=evil.example"},
    )
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert params["redirect_uri"] == ["http://localhost/oidc/idp/callback"]


def test_a_pinned_host_keeps_a_forged_host_out_of_redirect_uris(idp, make_app):
    """With Flask's TRUSTED_HOSTS (docs/backends.md), a forged Host gets a 400, never a login redirect."""
    app, _auth = make_app(idp)
    app.server.config["TRUSTED_HOSTS"] = ["localhost"]
    client = app.server.test_client()
    assert client.get("/oidc/idp/login").status_code == 302
    for path in ("/oidc/idp/login", "/", "/oidc/idp/callback?state=x&code=y"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 400, path
        assert "evil.example" not in response.headers.get("Location", ""), path


def test_force_https_callback_bool_and_environment_variable(idp, make_app, monkeypatch):
    app, _auth = make_app(idp, force_https_callback=True)
    response = app.server.test_client().get("/oidc/idp/login")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["redirect_uri"] == [
        "https://localhost/oidc/idp/callback"
    ]
    app2, _auth2 = make_app(idp, force_https_callback="DASH_AUTH_TEST_FORCE_HTTPS")
    client = app2.server.test_client()
    monkeypatch.delenv("DASH_AUTH_TEST_FORCE_HTTPS", raising=False)
    first = parse_qs(urlsplit(client.get("/oidc/idp/login").headers["Location"]).query)["redirect_uri"]
    monkeypatch.setenv("DASH_AUTH_TEST_FORCE_HTTPS", "1")
    second = parse_qs(urlsplit(client.get("/oidc/idp/login").headers["Location"]).query)["redirect_uri"]
    assert first == ["http://localhost/oidc/idp/callback"] and second == ["https://localhost/oidc/idp/callback"]


# -- refresh ----------------------------------------------------------------------


def test_tokens_are_refreshed_before_expiry(any_idp, make_app, clock):
    app, auth = make_app(any_idp, store_access_token=True)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    any_idp.sign_in(client)
    first = session_of(app, client)[STATE_KEY]
    # Refresh a minute before the access token expires (half its lifetime when that is shorter:
    # the strict provider's last 30 seconds).
    assert first["e"] - first["r"] == (60 if any_idp.kind == "mock" else 15)
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        old = auth.get_tokens()
    assert who(app, client) == (200, "alice|oidc:idp|staff,readers")
    assert session_of(app, client)[STATE_KEY] == first  # not due yet: nothing changed
    clock.advance(first["r"] - clock() + 5)  # past the refresh point, before expiry
    assert who(app, client) == (200, "alice|oidc:idp|staff,readers")
    second = session_of(app, client)[STATE_KEY]
    assert second["r"] > first["r"] and second["s"] == "alice"
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        new = auth.get_tokens()
    assert new["access_token"] != old["access_token"]  # the provider issued a new one
    assert new["id_token"] == old["id_token"]  # kept from the login for RP-initiated logout
    assert client.get("/").status_code == 200


def test_a_refused_refresh_ends_the_login_cleanly(any_idp, make_app, clock, caplog):
    app, auth = make_app(any_idp)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    any_idp.sign_in(client, sub="bob")
    state = session_of(app, client)[STATE_KEY]
    any_idp.revoke("bob", tokens_of(app, auth, client)["refresh_token"])  # the provider forgets bob's grant
    clock.advance(state["r"] - clock() + 5)
    with caplog.at_level(logging.INFO, logger="dash_auth.oidc"):
        response = client.get("/reports")
    assert response.status_code == 302 and response.headers["Location"] == "/oidc/idp/login?next=/reports"
    assert session_of(app, client) == {}
    assert "token refresh refused: invalid_grant" in caplog.text
    # ...and the user can sign in again.
    assert any_idp.sign_in(client, "/reports", sub="bob").response.headers["Location"] == "/reports"


def test_tokens_are_refreshed_past_their_expiry_in_real_time(any_idp, make_app, idp_quick):
    """No clock of the tests' own: access tokens that live 2 seconds, a request after they died
    at the provider too; the login goes on with new tokens."""
    provider = any_idp if any_idp.kind == "strict" else idp_quick
    register = {"client_id": CLIENT_ID + "-quick"} if any_idp.kind == "strict" else {}
    app, auth = make_app(provider, store_access_token=True, register=register)
    client = app.server.test_client()
    any_idp.sign_in(client) if any_idp.kind == "strict" else sign_in(client)
    first = session_of(app, client)[STATE_KEY]
    assert first["e"] - first["r"] == 1  # half of a 2-second lifetime
    old = tokens_of(app, auth, client)
    time.sleep(max(0.0, first["e"] + 1.1 - time.time()))  # past the access token's expiry
    userinfo = requests.get(auth.providers["idp"].metadata()["userinfo_endpoint"], timeout=10,
                            headers={"Authorization": f"Bearer {old['access_token']}"})
    assert userinfo.status_code == 401  # the provider too says the old access token is dead
    assert who(app, client) == (200, "alice|oidc:idp|staff,readers")
    new = tokens_of(app, auth, client)
    assert new["access_token"] != old["access_token"]
    assert session_of(app, client)[STATE_KEY]["e"] > first["e"]


@pytest.mark.parametrize("consent", [False, True], ids=["offline_access-left-out", "prompt=consent"])
def test_a_refresh_keeps_the_scope_the_strict_provider_granted(strict_idp, make_app, clock, consent):
    """Issue 24. The strict provider grants ``offline_access`` only with ``prompt=consent`` (OpenID
    Connect Core 11) yet issues a refresh token either way (as many providers do). A refresh that
    asked for the configured scope was refused (``invalid_scope``) and ended the login at the first
    access-token expiry; the app asks for no scope, which means "as granted" (RFC 6749 §6)."""
    granted = []
    kwargs = {"scope": "openid email profile offline_access", **({"prompt": "consent"} if consent else {})}
    app, auth = make_app(strict_idp, register={"client_kwargs": kwargs},
                         after_logged_in=lambda user, idp, token: granted.append(token["scope"]))
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    idp = StrictIdP(strict_idp)
    assert idp.sign_in(client).response.status_code == 302
    assert idp.pages == ["login", "consent"]
    assert ("offline_access" in granted[0].split()) is consent
    first = session_of(app, client)[STATE_KEY]
    for _round in range(2):  # past the expiry of the first access token, then of the refreshed one
        clock.advance(session_of(app, client)[STATE_KEY]["e"] - clock() + 5)
        assert who(app, client) == (200, "alice|oidc:idp|staff,readers")
        assert client.get("/").status_code == 200
    assert session_of(app, client)[STATE_KEY]["e"] > first["e"]


def test_client_secret_post_at_every_endpoint_of_the_strict_provider(strict_idp, make_app, clock):
    """The strict provider holds a client to the authentication method it registered: the code
    exchange, the refresh and the revocation all authenticate with ``client_secret_post``."""
    app, auth = make_app(strict_idp, register={"client_id": CLIENT_ID + "-post",
                                               "token_endpoint_auth_method": "client_secret_post"})
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    idp = StrictIdP(strict_idp)
    assert idp.sign_in(client).response.status_code == 302
    clock.advance(session_of(app, client)[STATE_KEY]["e"] - clock() + 5)
    assert who(app, client) == (200, "alice|oidc:idp|staff,readers")  # refreshed
    refresh_token = tokens_of(app, auth, client)["refresh_token"]
    page = client.get("/oidc/logout").get_data(as_text=True)
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/oidc/logout", data={"csrf_token": csrf_token}).status_code == 303
    dead = requests.post(strict_idp.metadata["token_endpoint"], timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": CLIENT_ID + "-post", "client_secret": CLIENT_SECRET})
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"  # revoked at sign-out


def test_the_strict_provider_s_default_gives_no_refresh_token_without_offline_access(strict_idp, make_app, clock):
    """oidc-provider's own rule (a refresh token only with ``offline_access``): the login holds
    until the access token expires, then ends cleanly and the next page signs in again."""
    app, auth = make_app(strict_idp, register={"client_id": CLIENT_ID + "-offline"})
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    StrictIdP(strict_idp).sign_in(client)
    assert "refresh_token" not in tokens_of(app, auth, client)
    state = session_of(app, client)[STATE_KEY]
    assert state["r"] == state["e"]
    assert who(app, client)[0] == 200
    clock.advance(state["e"] - clock() + 1)
    status, body = who(app, client)
    assert status == 401 and body["error"] == "unauthenticated"
    assert client.get("/reports").headers["Location"] == "/oidc/idp/login?next=/reports"


def test_without_refresh_token_the_login_ends_at_expiry(idp_no_refresh, make_app, clock):
    app, auth = make_app(idp_no_refresh)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    sign_in(client)
    state = session_of(app, client)[STATE_KEY]
    assert state["r"] == state["e"]
    clock.advance(state["e"] - clock() - 30)
    assert who(app, client)[0] == 200
    clock.advance(60)
    status, body = who(app, client)
    assert status == 401 and body["error"] == "unauthenticated"
    assert client.get("/").status_code == 302


def test_provider_down_during_refresh_keeps_a_valid_login(idp, make_app, clock, caplog):
    app, auth = make_app(idp)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    sign_in(client)
    state = session_of(app, client)[STATE_KEY]
    provider = auth.providers["idp"]
    meta = provider.metadata()
    saved = meta["token_endpoint"]
    meta["token_endpoint"] = "http://127.0.0.1:9/token"  # nothing listens on port 9
    try:
        clock.advance(state["r"] - clock() + 5)
        with caplog.at_level(logging.WARNING, logger="dash_auth.oidc"):
            assert who(app, client)[0] == 200  # still within the token's lifetime
        assert "refresh postponed" in caplog.text
        clock.advance(120)  # now past expiry, provider still down
        assert who(app, client)[0] == 401
    finally:
        meta["token_endpoint"] = saved


# -- groups follow the provider at refresh -----------------------------------------


def _signed_in(make_app, provider, clock, sub="alice", **options):
    """An app with one provider on the tests' clock, and a client signed in as ``sub``."""
    app, auth = make_app(provider, **options)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    sign_in(client, sub=sub, via=getattr(provider, "authorize", None))  # an IdP of the matrix signs in its way
    return app, client


@pytest.fixture
def no_refresh_reuse(monkeypatch):
    """Each refresh asks the provider (the plugin shares one answer for 30 real seconds; the tests' clock is fake)."""
    monkeypatch.setattr("dash_auth_oidc.renewal.REFRESH_REUSE_SECONDS", 0.0)


def _due(app, client, clock) -> None:
    """Move the clock past the session's refresh point."""
    clock.advance(session_of(app, client)[STATE_KEY]["r"] - clock() + 5)


def test_a_refresh_brings_the_groups_the_provider_gives_now(idp, make_app, clock, no_refresh_reuse):
    """A group taken away at the provider goes at the next token refresh (userinfo), not the next sign-in."""
    idp.set_user("dora", email="dora@example.org", name="Dora", groups=["staff", "readers"])
    app, client = _signed_in(make_app, idp, clock, sub="dora")
    assert who(app, client) == (200, "dora|oidc:idp|staff,readers")
    idp.set_user("dora", email="dora@example.org", name="Dora", groups=["readers", "auditors"])
    assert who(app, client) == (200, "dora|oidc:idp|staff,readers")  # tokens not due: nothing asked
    _due(app, client, clock)
    assert who(app, client) == (200, "dora|oidc:idp|readers,auditors")
    assert session_of(app, client)["user"]["groups"] == ["readers", "auditors"]
    idp.set_user("dora", email="dora@example.org", name="Dora", groups=[])
    _due(app, client, clock)
    assert who(app, client) == (200, "dora|oidc:idp|")  # every group gone


def test_a_refresh_keeps_the_groups_user_groups_add(idp, make_app, clock):
    idp.set_user("erin", email="erin@example.org", email_verified=True, groups=["staff"])
    app, client = _signed_in(make_app, idp, clock, sub="erin", user_groups={"erin@example.org": ["local"]})
    assert who(app, client) == (200, "erin|oidc:idp|staff,local")
    idp.set_user("erin", email="erin@example.org", email_verified=True, groups=["readers"])
    _due(app, client, clock)
    assert who(app, client) == (200, "erin|oidc:idp|readers,local")


def test_a_refreshed_id_token_brings_the_groups_it_names(proxy, idp, make_app, clock, no_refresh_reuse):
    """Providers that send an ID token with the refresh (and no userinfo fetch here): its groups count."""
    app, client = _signed_in(make_app, proxy, clock, register={"issuer": idp.url, "fetch_userinfo": False})
    assert who(app, client) == (200, "alice|oidc:idp|staff,readers")
    _due(app, client, clock)
    times = {"iat": int(clock()), "exp": int(clock()) + 600}  # the plugin's clock, not the proxy's
    proxy.refresh_id_token = {"sub": "alice", "aud": CLIENT_ID, "groups": ["readers"], **times}
    assert who(app, client) == (200, "alice|oidc:idp|readers")
    # An ID token that names nobody's groups leaves them as they are.
    _due(app, client, clock)
    proxy.refresh_id_token = {"sub": "alice", "aud": CLIENT_ID, "iat": int(clock()), "exp": int(clock()) + 600}
    assert who(app, client) == (200, "alice|oidc:idp|readers")
    assert session_of(app, client)[STATE_KEY]["r"] > clock()  # refreshed twice


def test_a_refresh_whose_userinfo_fails_keeps_the_groups_and_the_login(proxy, idp, make_app, clock, caplog):
    app, auth = make_app(proxy, register={"issuer": idp.url})
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    sign_in(client)
    proxy.userinfo_status = 503
    before = session_of(app, client)[STATE_KEY]
    _due(app, client, clock)
    with caplog.at_level(logging.WARNING, logger="dash_auth.oidc"):
        assert who(app, client) == (200, "alice|oidc:idp|staff,readers")
    assert "not re-read after the refresh" in caplog.text
    assert session_of(app, client)[STATE_KEY]["r"] > before["r"]  # the tokens were refreshed all the same


def test_a_refresh_whose_userinfo_names_another_user_ends_the_login(proxy, idp, make_app, clock):
    app, client = _signed_in(make_app, proxy, clock, register={"issuer": idp.url})
    proxy.userinfo_extra = {"sub": "mallory", "groups": ["admins"]}
    _due(app, client, clock)
    status, body = who(app, client)
    assert status == 401 and body["error"] == "unauthenticated"
    assert "user" not in session_of(app, client)


def test_a_refresh_leaves_the_groups_after_logged_in_chose(idp, make_app, clock, no_refresh_reuse):
    idp.set_user("eve", email="eve@example.org", name="Eve", groups=["staff", "admins"])

    def strip_admins(user, idp_name, token):
        user["groups"] = [g for g in user.get("groups", []) if g != "admins"]  # the app's own allow-list

    app, client = _signed_in(make_app, idp, clock, sub="eve", after_logged_in=strip_admins)
    assert who(app, client) == (200, "eve|oidc:idp|staff")
    _due(app, client, clock)
    assert who(app, client) == (200, "eve|oidc:idp|staff")
    _due(app, client, clock)  # and at every later refresh
    assert who(app, client) == (200, "eve|oidc:idp|staff")


def test_a_refresh_leaves_the_groups_a_login_user_callback_chose(idp, make_app, clock):
    def callback(user):
        from flask import session

        session["user"] = {"email": user["email"], "groups": ["chosen"]}

    idp.set_user("fay", email="fay@example.org", groups=["staff"])
    app, client = _signed_in(make_app, idp, clock, sub="fay", login_user_callback=callback)
    assert who(app, client)[1].endswith("|chosen")
    idp.set_user("fay", email="fay@example.org", groups=["readers"])
    _due(app, client, clock)
    assert who(app, client)[1].endswith("|chosen")


# -- logout -------------------------------------------------------------------------


def test_logout_is_a_csrf_protected_post_with_rp_initiated_logout(any_idp, make_app):
    calls = []
    app, auth = make_app(any_idp, before_logout=lambda: calls.append("before"), logout_page="<p id='bye'>Bye!</p>")
    client = app.server.test_client()
    any_idp.sign_in(client)
    id_token = tokens_of(app, auth, client)["id_token"]

    form = client.get("/oidc/logout")
    assert form.status_code == 200 and 'method="post"' in form.get_data(as_text=True)
    assert client.get("/").status_code == 200  # a GET does not sign out

    assert client.post("/oidc/logout", data={}).status_code == 403
    token = session_of(app, client)["_dash_auth_csrf"]
    cross = client.post("/oidc/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert client.get("/").status_code == 200 and calls == []

    done = client.post("/oidc/logout", data={"csrf_token": token}, headers={"Origin": "http://localhost"})
    assert done.status_code == 303 and calls == ["before"]
    end = done.headers["Location"]
    assert end.startswith(requests.get(any_idp.metadata_url, timeout=10).json()["end_session_endpoint"] + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(end).query).items()}
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == "http://localhost/oidc/logged-out"
    assert params["client_id"] == CLIENT_ID
    assert_signed_out(app, client)

    # The provider's end-session page confirms and sends the browser back to the app (the strict
    # one checks the ID token hint and the post-logout URI the client registered).
    assert any_idp.end_session(end) == "http://localhost/oidc/logged-out"
    final = client.get("/oidc/logged-out")
    assert final.status_code == 200 and "Bye!" in final.get_data(as_text=True)


def test_logout_without_end_session_endpoint_shows_the_logout_page(idp, make_app):
    meta = requests.get(idp.metadata_url, timeout=10).json()
    del meta["end_session_endpoint"]
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, metadata=meta)
    client = app.server.test_client()
    sign_in(client)
    client.get("/oidc/logout")
    token = session_of(app, client)["_dash_auth_csrf"]
    done = client.post("/oidc/logout", data={"csrf_token": token})
    assert done.status_code == 200 and "You are signed out" in done.get_data(as_text=True)
    assert_signed_out(app, client)


def test_core_logout_route_also_ends_the_oidc_session(idp, make_app):
    app, _auth = make_app(idp, token_store=MemoryTokenStore())
    client = app.server.test_client()
    sign_in(client)
    client.get("/logout")
    token = session_of(app, client)["_dash_auth_csrf"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    assert_signed_out(app, client)


# -- several providers ---------------------------------------------------------------


def test_two_providers_with_the_seed_selection_route(idp, idp2):
    """The seed README's multi-provider example: an app route chooses, url_for("oidc_login")."""
    from flask import redirect, request, url_for

    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET, idp_selection_route="/login")
    for name, provider in (("IDP 1", idp), ("IDP 2", idp2)):
        auth.register_provider(name, token_endpoint_auth_method="client_secret_post", client_id=CLIENT_ID,
                               client_secret=CLIENT_SECRET, server_metadata_url=provider.metadata_url)

    @app.server.route("/login", methods=["GET", "POST"])
    def login_handler():
        idp_name = request.form.get("idp") if request.method == "POST" else request.args.get("idp")
        if idp_name is not None:
            return redirect(url_for("oidc_login", idp=idp_name))
        return "<form><select name='idp'><option>IDP 1</option><option>IDP 2</option></select></form>"

    client = app.server.test_client()
    first = client.get("/reports")
    assert first.status_code == 302 and first.headers["Location"] == "/login?next=/reports"
    assert "select" in client.get("/login").get_data(as_text=True)  # the selection page is public
    chosen = client.get("/login", query_string={"idp": "IDP 2"})
    assert chosen.headers["Location"] == "/oidc/IDP%202/login"
    to_provider = client.get(path_of(chosen.headers["Location"]))
    assert to_provider.headers["Location"].startswith(idp2.url + "/oauth2/authorize?")
    done = client.get(path_of(authorize(to_provider.headers["Location"], "carol")))
    # The page asked for before the app's own selection page is remembered.
    assert done.status_code == 302 and done.headers["Location"] == "/reports"
    assert who(app, client) == (200, "carol|oidc:IDP 2|admins")

    other = app.server.test_client()
    dance = sign_in(other, "/oidc/IDP%201/login?next=/x")
    assert dance.authorize_url.startswith(idp.url) and dance.response.headers["Location"] == "/x"
    assert who(app, other) == (200, "alice|oidc:IDP 1|staff,readers")


def test_two_providers_without_selection_route_get_the_built_in_chooser(idp, idp2):
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    auth.register_provider("one", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           server_metadata_url=idp.metadata_url, display_name="First <Corp>")
    auth.register_provider("two", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           server_metadata_url=idp2.metadata_url)
    client = app.server.test_client()
    response = client.get("/page")
    assert response.headers["Location"] == "/oidc/login?next=/page"
    chooser = client.get("/oidc/login?next=/page").get_data(as_text=True)
    assert 'href="/oidc/one/login?next=/page"' in chooser and 'href="/oidc/two/login?next=/page"' in chooser
    assert "First &lt;Corp&gt;" in chooser
    dance = sign_in(client, "/oidc/two/login?next=/page", sub="carol")
    assert dance.response.headers["Location"] == "/page"


def test_a_state_from_one_provider_is_refused_at_the_others_callback(idp, idp2):
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    for name, provider in (("one", idp), ("two", idp2)):
        auth.register_provider(name, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                               server_metadata_url=provider.metadata_url)
    client = app.server.test_client()
    to_provider = client.get("/oidc/one/login").headers["Location"]
    callback = urlsplit(authorize(to_provider))
    response = client.get("/oidc/two/callback?" + callback.query)
    assert response.status_code == 400
    assert "user" not in session_of(app, client)


# -- hooks: mixed logins, after_logged_in, on_login -------------------------------------


def test_logout_revokes_the_refresh_token_so_an_old_cookie_renews_nothing(any_idp, make_app, clock):
    app, auth = make_app(any_idp)
    auth.plugin.set_clock(clock)
    any_idp.set_user("ivy", email="ivy@example.org")
    client = app.server.test_client()
    any_idp.sign_in(client, sub="ivy")
    refresh_token = tokens_of(app, auth, client)["refresh_token"]
    copied = client.get_cookie("session").value  # a copy taken before the logout
    state = session_of(app, client)[STATE_KEY]
    client.get("/oidc/logout")
    token = session_of(app, client)["_dash_auth_csrf"]
    assert client.post("/oidc/logout", data={"csrf_token": token}).status_code in (302, 303)
    # Revoked at the provider (RFC 7009): it renews nothing for it any more.
    assert not any_idp.refresh_works(refresh_token)
    # The old cookie, once its tokens are due: the refresh is refused and the login ends.
    clock.advance(state["r"] - clock() + 5)
    replay = app.server.test_client()
    replay.set_cookie("session", copied)
    response = replay.get("/reports")
    assert response.status_code == 302 and "/oidc/idp/login" in response.headers["Location"]


def test_many_groups_keep_the_session_cookie_small_or_say_why(idp, make_app, caplog):
    """Groups as Entra ID sends them (ids): stored once, and the ID token makes way for them."""
    import uuid

    groups = [str(uuid.UUID(int=n)) for n in range(40)]
    idp.set_user("gina", email="gina@example.org", email_verified=True, groups=groups)
    app, auth = make_app(idp)
    client = app.server.test_client()
    sign_in(client, sub="gina")
    stored = session_of(app, client)
    assert stored["user"]["groups"] == groups
    assert "groups" not in stored["user"].get("claims", {})  # not a second copy
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        tokens = auth.get_tokens()
    assert "refresh_token" in tokens and "id_token" not in tokens  # dropped to keep the cookie small
    assert len(raw) < 4096
    # Far more groups than a cookie holds: still signed in here, and the log says what to do.
    idp.set_user("hugo", email="hugo@example.org", groups=[str(uuid.UUID(int=n)) for n in range(200)])
    with caplog.at_level(logging.WARNING, logger="dash_auth.oidc"):
        sign_in(app.server.test_client(), sub="hugo")
    assert "browsers drop cookies over 4 KB" in caplog.text


def test_a_callback_that_renames_the_user_keeps_the_provider_subject_for_refresh(idp, make_app):
    """A refreshed ID token names the provider's ``sub``: that, not the id a callback chose, is compared."""
    from flask import session

    def callback(user_info, idp=None):
        session["user"] = {**user_info, "id": user_info["email"]}

    app, _auth = make_app(idp, login_user_callback=callback)
    client = app.server.test_client()
    sign_in(client)
    stored = session_of(app, client)
    assert stored["user"]["id"] == "alice@example.org"
    assert stored[STATE_KEY]["s"] == "alice"


def test_seed_mixed_logins_provider_and_local_credentials_feed_one_session(idp):
    """The seed's "Mixed Logins": login_user_callback writes the session; local users too."""
    from flask import redirect, request, session, url_for

    logins = []

    class Audit:
        @hookimpl
        def on_login(self, identity, request):
            logins.append((identity.id, identity.provider, tuple(identity.groups)))

    app = build_app()

    def all_login_method(user_info, idp=None):
        if idp:
            session["user"] = user_info
            session["idp"] = idp
            session["user"]["groups"] = ["this", "is", "a", "testing"]
            session["_user_id"] = user_info["email"]  # what Flask-Login's login_user() writes
        else:
            session["user"] = {}
            session["user"]["groups"] = ["nah"]
            session["user"]["email"] = user_info.get("user")
        return redirect(app.config.get("url_base_pathname") or "/")

    auth = OIDCAuth(app, secret_key=SECRET, idp_selection_route="/login", login_user_callback=all_login_method)
    AuthStack.of(app).register(Audit())
    auth.register_provider("IDP 1", token_endpoint_auth_method="client_secret_post", client_id=CLIENT_ID,
                           client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)

    @app.server.route("/login", methods=["GET", "POST"])
    def login_handler():
        form_data = request.form if request.method == "POST" else request.args
        if form_data.get("user") and form_data.get("password"):
            return all_login_method(form_data)
        if form_data.get("IDP 1"):
            return redirect(url_for("oidc_login", idp="IDP 1"))
        return "<form method='POST'>...</form>"

    oidc_client = app.server.test_client()
    to_provider = oidc_client.post("/login", data={"IDP 1": "true"})
    assert to_provider.headers["Location"] == "/oidc/IDP%201/login"
    dance = oidc_client.get(path_of(authorize(oidc_client.get("/oidc/IDP%201/login").headers["Location"])))
    assert dance.status_code == 302 and dance.headers["Location"] == "/"  # the callback's own response
    stored = session_of(app, oidc_client)
    assert stored["user"]["groups"] == ["this", "is", "a", "testing"]
    assert stored["user"]["email"] == "alice@example.org" and stored["idp"] == "IDP 1"
    assert stored["_user_id"] == "alice@example.org"
    assert who(app, oidc_client) == (200, "alice|oidc:IDP 1|this,is,a,testing")
    assert logins == [("alice", "oidc:IDP 1", ("this", "is", "a", "testing"))]

    # A provider's own auth_time claim (an old single sign-on) copied by the callback
    # does not make the login look expired.
    idp.set_user("erin", email="erin@example.org", auth_time=1_000_000)
    erin = app.server.test_client()
    to_provider = erin.get("/oidc/IDP%201/login").headers["Location"]
    assert erin.get(path_of(authorize(to_provider, "erin"))).status_code == 302
    assert abs(session_of(app, erin)["user"]["auth_time"] - time.time()) < 60
    assert who(app, erin)[0] == 200

    local = app.server.test_client()
    assert local.post("/login", data={"user": "dave", "password": "pw"}).status_code == 302
    assert who(app, local) == (200, "dave||nah")


def test_after_logged_in_subclass_adds_session_attributes_and_can_refuse(idp):
    class MyOIDCAuth(OIDCAuth):
        def after_logged_in(self, user, idp, token):
            if user["sub"] == "bob":
                raise LoginRefused("Bob may not use this app.")
            user["params"] = {"team": "blue"}
            assert token["access_token"] and token["id_token"]
            return super().after_logged_in(user, idp, token)

    app = build_app()
    auth = MyOIDCAuth(app, secret_key=SECRET)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)
    client = app.server.test_client()
    sign_in(client)
    assert session_of(app, client)["user"]["params"] == {"team": "blue"}

    bob = app.server.test_client()
    refused = sign_in(bob, sub="bob").response
    assert refused.status_code == 403 and "Bob may not use this app." in refused.get_data(as_text=True)
    assert "user" not in session_of(app, bob)


def test_per_provider_hooks_and_groups_claim(idp):
    seen = []
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET, groups_claim="roles",
                    user_groups=lambda user, idp: ["from-" + idp])
    auth.register_provider(
        "idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url,
        groups_claim="groups",  # this provider sends "groups", not the app-wide "roles"
        after_logged_in=lambda user, name, token: seen.append((user["email"], name)),
    )
    client = app.server.test_client()
    sign_in(client)
    assert seen == [("alice@example.org", "idp")]
    assert who(app, client) == (200, "alice|oidc:idp|staff,readers,from-idp")


# -- pending states ---------------------------------------------------------------------


def test_pending_states_are_bounded_and_the_oldest_is_dropped(idp, make_app):
    app, _auth = make_app(idp, max_pending_logins=3)
    client = app.server.test_client()
    urls = [client.get("/oidc/idp/login", query_string={"next": f"/page-{i}"}).headers["Location"] for i in range(12)]
    pending = session_of(app, client)["_oidc_pending"]
    assert len(pending) == 3
    assert len(client.get_cookie("session").value) < 1500  # does not grow with every attempt
    oldest = client.get(path_of(authorize(urls[0])))
    assert oldest.status_code == 400
    newest = client.get(path_of(authorize(urls[-1])))
    assert newest.status_code == 302 and newest.headers["Location"] == "/page-11"


def test_logins_started_with_long_next_values_keep_the_cookie_small(idp, make_app):
    """Another site can start logins at will (a public GET): the cookie must stay far from 4 KB."""
    import secrets

    app, _auth = make_app(idp)
    client = app.server.test_client()
    urls = []
    for _ in range(8):
        target = "/" + secrets.token_urlsafe(800)[:1000]  # random: it does not compress
        urls.append(client.get("/oidc/idp/login", query_string={"next": target}).headers["Location"])
    assert len(client.get_cookie("session").value) < 2500
    newest = client.get(path_of(authorize(urls[-1])))
    assert newest.status_code == 302 and len(newest.headers["Location"]) > 1000  # the newest still works


def test_anonymous_page_requests_do_not_grow_the_cookie(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    for i in range(20):
        assert client.get(f"/page-{i}").status_code == 302
    assert client.get_cookie("session") is None


def test_a_pending_state_expires(idp, make_app, clock):
    app, auth = make_app(idp, login_timeout=300)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    to_provider = client.get("/oidc/idp/login").headers["Location"]
    callback = authorize(to_provider)
    clock.advance(301)
    response = client.get(path_of(callback))
    assert response.status_code == 400 and "took too long" in response.get_data(as_text=True)
    assert "user" not in session_of(app, client)


# -- routes -------------------------------------------------------------------------------


def test_seed_url_for_oidc_login_and_route_endpoints(idp, make_app):
    from flask import url_for

    app, _auth = make_app(idp)
    with app.server.test_request_context():
        assert url_for("oidc_login", idp="IDP 1") == "/oidc/IDP%201/login"
        assert url_for("oidc_callback", idp="idp") == "/oidc/idp/callback"
        assert url_for("oidc_logout") == "/oidc/logout"


def test_callback_route_wins_over_a_catch_all_page(idp):
    import dash

    app = build_app(use_pages=True, pages_folder="")
    app.layout = dash.html.Div([dash.page_container])
    dash.register_page("catchall", path_template="/<a>/<b>/<c>", layout=lambda a=None, b=None, c=None: "page")
    dash.register_page("home", path="/", layout=lambda: "home")
    auth = OIDCAuth(app, secret_key=SECRET)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)
    client = app.server.test_client()
    dance = sign_in(client, "/x/y/z")
    assert dance.response.status_code == 302 and dance.response.headers["Location"] == "/x/y/z"
    assert client.get("/oidc/idp/callback?state=nope&code=x").status_code == 400  # our view, not the page


def test_a_page_under_the_oidc_routes_is_a_start_up_error(idp):
    import dash

    app = build_app(use_pages=True, pages_folder="")
    dash.register_page("clash", path="/oidc/about", layout=lambda: "x")
    with pytest.raises(ConfigurationError, match="lies under the OIDC routes"):
        OIDCAuth(app, secret_key=SECRET)


def test_custom_routes(idp, make_app):
    app, _auth = make_app(idp, login_route="/sso/<idp>/start", callback_route="/sso/<idp>/done",
                          logout_route="/sso/logout")
    client = app.server.test_client()
    assert client.get("/").headers["Location"] == "/sso/idp/start?next=/"
    dance = sign_in(client)
    assert dance.authorize_params["redirect_uri"] == "http://localhost/sso/idp/done"
    assert client.get("/sso/logout").status_code == 200


# -- the cost of a signed-in request -------------------------------------------------------


def test_a_signed_in_request_calls_no_provider_and_decodes_the_cookie_once(idp, make_app, monkeypatch):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    sign_in(client)
    serializer = app.server.session_interface.get_signing_serializer(app.server)
    decoded = []
    original = serializer.loads
    monkeypatch.setattr(serializer, "loads", lambda *a, **k: decoded.append(1) or original(*a, **k))
    sent = []
    original_send = requests.Session.send
    monkeypatch.setattr(requests.Session, "send", lambda self, *a, **k: sent.append(a) or original_send(self, *a, **k))
    for _ in range(20):
        assert who(app, client) == (200, "alice|oidc:idp|staff,readers")
    assert sent == []  # no provider round-trip per request
    assert len(decoded) == 1  # the cookie is verified once, then its identity is remembered
    assert client.get("/").status_code == 200
    # A changed cookie is verified again.
    client.get("/oidc/logout")  # writes a CSRF token: a new cookie
    assert who(app, client)[0] == 200 and len(decoded) >= 2


def _post_logout(client, route):
    page = client.get(route).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(route, data={"csrf_token": token})


@pytest.mark.parametrize("route", ["/logout", "/oidc/logout"])
def test_every_sign_out_route_ends_the_oidc_login(any_idp, make_app, clock, no_refresh_reuse, route):
    """The core's /logout too: before_logout runs once and the refresh token is revoked, so a copy
    of the old cookie renews nothing."""
    called = []
    app, auth = make_app(any_idp, before_logout=lambda: called.append(1))
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    any_idp.sign_in(client)
    refresh_token = tokens_of(app, auth, client)["refresh_token"]
    copy = client.get_cookie("session").value
    assert _post_logout(client, route).status_code in (200, 303)
    assert called == [1] and not any_idp.refresh_works(refresh_token)
    thief = app.server.test_client()
    thief.set_cookie("session", copy)
    clock.advance(3600)
    assert who(app, thief)[0] == 401


def test_a_new_login_over_an_oidc_session_revokes_its_refresh_token(proxy, idp, make_app):
    app, auth = make_app(proxy, register={"issuer": idp.url})
    client = app.server.test_client()
    sign_in(client)
    assert proxy.revoked == []
    sign_in(client, "/oidc/idp/login", sub="bob")  # another user, same browser, no sign-out first
    assert len(proxy.revoked) == 1 and who(app, client)[1].startswith("bob|")


def test_an_oidc_logout_route_that_clashes_with_the_stack_s_is_a_start_up_error(idp):
    app = build_app()
    with pytest.raises(ConfigurationError, match="two dash-auth views for /logout"):
        OIDCAuth(app, secret_key=SECRET, logout_route="/logout")
    # Nothing was left half-registered: the corrected call works on the same app.
    auth = OIDCAuth(app, secret_key=SECRET, logout_route="/sso/logout")
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)
    assert app.server.test_client().get("/sso/logout").status_code == 200


def test_a_page_registered_after_oidcauth_under_its_login_rule_stays_private(idp):
    """The login and callback rules made any path they match public, pages registered later included."""
    import dash
    from dash import Dash, html

    from dash_auth_core.testing import router_body

    app = Dash(__name__, use_pages=True, pages_folder="")
    dash.register_page("home", path="/", layout=html.Div("home"))
    auth = OIDCAuth(app, secret_key=SECRET, login_route="/login/<idp>", callback_route="/callback/<idp>")
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)
    dash.register_page("help", path="/login/help", layout=html.Div("SECRET-HELP"))
    app.layout = dash.page_container
    client = app.server.test_client()
    response = client.post("/_dash-update-component", json=router_body("/login/help"))
    assert response.status_code == 401 and b"SECRET-HELP" not in response.data
    # The login route itself still answers anonymous browsers.
    assert client.get("/login/idp").status_code == 302


def test_login_starts_in_a_large_signed_in_session_keep_the_cookie_under_4_kb(idp, make_app):
    """Pending logins were bounded by count and next length only, not by what the session already holds."""
    import secrets
    import uuid

    idp.set_user("gina", email="gina@example.org", name="Gina", groups=[str(uuid.uuid4()) for _ in range(60)])
    app, _auth = make_app(idp)
    client = app.server.test_client()
    sign_in(client, sub="gina")
    for _ in range(5):  # links to the login route, or another site sending the browser there
        assert client.get(f"/oidc/idp/login?next=/{secrets.token_urlsafe(150)}").status_code == 302
    cookie = client.get_cookie("session")
    assert len("session=") + len(cookie.value) <= 4096
    assert session_of(app, client)["_oidc_pending"]  # the newest login can still finish


@pytest.mark.parametrize("style", ["reassign", "remove-in-place"])
def test_a_refresh_leaves_the_groups_after_logged_in_edited_in_place(idp, make_app, clock, no_refresh_reuse, style):
    idp.set_user("eve2", email="eve2@example.org", name="Eve", groups=["staff", "admins"])

    def strip_admins(user, idp_name, token):
        if style == "reassign":
            user["groups"] = [g for g in user["groups"] if g != "admins"]
        else:
            user["groups"].remove("admins")  # the list itself, edited in place

    app, client = _signed_in(make_app, idp, clock, sub="eve2", after_logged_in=strip_admins)
    assert who(app, client) == (200, "eve2|oidc:idp|staff")
    _due(app, client, clock)
    assert who(app, client) == (200, "eve2|oidc:idp|staff")


def test_a_refresh_leaves_a_nested_groups_claim_after_logged_in_edited(idp, make_app, clock, no_refresh_reuse):
    idp.set_user("ned", email="ned@example.org", name="Ned", realm_access={"roles": ["staff", "admins"]})

    def strip_admins(user, idp_name, token):
        user["realm_access"]["roles"] = [r for r in user["realm_access"]["roles"] if r != "admins"]

    app, client = _signed_in(make_app, idp, clock, sub="ned", after_logged_in=strip_admins, groups_claim="realm_access.roles")
    assert who(app, client) == (200, "ned|oidc:idp|staff")
    _due(app, client, clock)
    assert who(app, client) == (200, "ned|oidc:idp|staff")


def test_a_login_from_before_the_mark_with_an_after_logged_in_hook_keeps_its_groups(idp, make_app, clock, no_refresh_reuse):
    idp.set_user("old", email="old@example.org", name="Old", groups=["staff", "admins"])

    def strip_admins(user, idp_name, token):
        user["groups"] = [g for g in user["groups"] if g != "admins"]

    app, client = _signed_in(make_app, idp, clock, sub="old", after_logged_in=strip_admins)
    with client.session_transaction() as session:  # what the previous release wrote: no "g"
        state = dict(session[STATE_KEY])
        state.pop("g", None)
        session[STATE_KEY] = state
    _due(app, client, clock)
    assert who(app, client) == (200, "old|oidc:idp|staff")


def test_the_same_user_signing_in_again_keeps_the_provider_grant(proxy, idp, make_app, clock, no_refresh_reuse):
    """Revoking the old refresh token at a re-login of the same user could end the new login's grant too."""
    app, client = _signed_in(make_app, proxy, clock, register={"issuer": idp.url})
    sign_in(client, "/oidc/idp/login")  # alice again, same browser
    assert proxy.revoked == []
    _due(app, client, clock)
    assert who(app, client)[0] == 200


@pytest.mark.parametrize("strict", [False, True])
def test_user_groups_at_a_refresh_see_the_claims_they_saw_at_sign_in(idp, make_app, clock, no_refresh_reuse, strict):
    """They saw {"sub"} and userinfo only: ID-token claims such as iss were gone (a KeyError was a 500)."""
    idp.set_user("gus", email="gus@example.org", groups=["staff"])

    def user_groups(user):
        issuer = user["iss"] if strict else user.get("iss")
        return ["corp"] if issuer == idp.url else []

    app, client = _signed_in(make_app, idp, clock, sub="gus", user_groups=user_groups)
    assert who(app, client) == (200, "gus|oidc:idp|staff,corp")
    _due(app, client, clock)
    assert who(app, client) == (200, "gus|oidc:idp|staff,corp")


def test_user_groups_that_fail_at_a_refresh_keep_the_login_s_groups(idp, make_app, clock, no_refresh_reuse, caplog):
    idp.set_user("ivy", email="ivy@example.org", groups=["staff"])
    calls = []

    def user_groups(user):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("directory down")
        return ["corp"]

    app, auth = make_app(idp, user_groups=user_groups)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    sign_in(client, sub="ivy")
    idp.set_user("ivy", email="ivy@example.org", groups=["readers"])
    _due(app, client, clock)
    with caplog.at_level(logging.ERROR, logger="dash_auth.oidc"):
        assert who(app, client) == (200, "ivy|oidc:idp|staff,corp")
    assert "not re-read after the refresh" in caplog.text


def test_a_refresh_never_lets_a_stale_email_verified_vouch_for_a_new_address(idp, make_app, clock, no_refresh_reuse):
    idp.set_user("mallory", email="mallory@example.org", email_verified=True, groups=["staff"])
    app, client = _signed_in(make_app, idp, clock, sub="mallory", user_groups={"boss@corp.example": ["admins"]})
    assert who(app, client) == (200, "mallory|oidc:idp|staff")
    # The address changes at the provider, which does not call the new one verified.
    idp.set_user("mallory", email="boss@corp.example", groups=["staff"])
    _due(app, client, clock)
    assert who(app, client) == (200, "mallory|oidc:idp|staff")


@pytest.mark.parametrize("error", [LoginRefused("not on the list"), RuntimeError("user database down")],
                         ids=["refused", "raises"])
def test_a_login_user_callback_that_fails_after_writing_the_session_signs_nobody_in(idp, make_app, error):
    """A seed-style callback writes ``session["user"]`` and then refuses the user (or fails):
    the 403 (or 500) used to carry a session cookie holding that user, who was then signed in."""
    from flask import session

    def callback(user_info, idp=None):
        session["user"] = user_info
        raise error

    app, _auth = make_app(idp, login_user_callback=callback)
    client = app.server.test_client()
    dance = sign_in(client)
    assert dance.response.status_code == (403 if isinstance(error, LoginRefused) else 500)
    assert client.get("/_dash-layout").status_code == 401
    assert "user" not in session_of(app, client)
