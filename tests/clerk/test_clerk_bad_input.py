"""Forged and broken tokens, abused callbacks, off-site redirects and a Backend API that fails.

Every one is anonymous with a 4xx (or a 503 while Clerk cannot be asked),
never a 500 and never a login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from clerk_support import new_key

from dash_auth_core.testing import callback_body, client_for

from .test_clerk_flow import Clock, signed_in, who


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.{_b64(signature)}"


def _claims(clerk, sid, **extra):
    now = int(time.time())
    return {"exp": now + 60, "iat": now, "iss": clerk.issuer, "nbf": now - 5, "sid": sid,
            "sub": clerk.sessions[sid]["user_id"], "v": 2, **extra}


def forged_tokens(clerk):
    """(name, token) pairs that must never sign anyone in."""
    sid = clerk.create_session("user_alice")
    pem = clerk.jwt_key.encode()
    hs_header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": clerk.kid}).encode())
    hs_payload = _b64(json.dumps(_claims(clerk, sid)).encode())
    hs_sig = hmac.new(pem, f"{hs_header}.{hs_payload}".encode(), hashlib.sha256).digest()
    return [
        ("alg none", _unsigned({"alg": "none", "typ": "JWT"}, _claims(clerk, sid))),
        ("alg none with a kid", _unsigned({"alg": "none", "kid": clerk.kid}, _claims(clerk, sid))),
        ("HS256 signed with the public key", f"{hs_header}.{hs_payload}.{_b64(hs_sig)}"),
        ("a key Clerk never issued", clerk.token(sid, key=new_key())),
        ("a key Clerk never issued, its own kid", clerk.token(sid, key=new_key(), kid="ins_attacker")),
        ("expired", clerk.token(sid, lifetime=-120)),
        ("not yet valid", clerk.token(sid, nbf_offset=600)),
        ("no sid", clerk.token(sid, drop=("sid",))),
        ("no sub", clerk.token(sid, drop=("sub",))),
        ("no exp", clerk.token(sid, drop=("exp",))),
        ("a number as sub", clerk.token(sid, sub=12345)),
        ("oversized", clerk.token(sid, pad="x" * 9000)),
        ("tampered payload", _tamper(clerk.token(sid))),
        ("not a JWT", "hello"),
        ("two segments", "abc.def"),
        ("bad base64", "a$b.c%d.e"),
        ("JSON that is not an object", f"{_b64(b'[1]')}.{_b64(b'[2]')}.sig"),
        ("an API key", "ak_" + "x" * 40),
        ("a machine token", "mt_" + "x" * 40),
        ("an OAuth token", "oat_" + "x" * 40),
    ]


def _tamper(token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "user_bob"
    return f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"


@pytest.mark.parametrize("jwt_key", [False, True], ids=["jwks", "jwt_key"])
def test_forged_bearer_tokens_are_anonymous_401(make_app, clerk, backend, jwt_key):
    app, _ = make_app(jwt_key=clerk.jwt_key if jwt_key else None)
    client = client_for(app, use_cookies=False)
    for name, token in forged_tokens(clerk):
        status, _ = who(client, app, {"Authorization": f"Bearer {token}"})
        assert status == 401, name
        page = client.get("/", headers={"Authorization": f"Bearer {token}"})
        assert 400 <= page.status_code < 500, name
    # No forged token made the SDK call the network on its own.
    assert not any("m2m" in c or "api_keys" in c for c in clerk.calls)


@pytest.mark.filterwarnings("ignore:The '__session' cookie is too large")
def test_forged_tokens_never_complete_the_callback(make_app, clerk):
    app, _ = make_app()
    client = client_for(app)
    state = client.get("/clerk/state").get_json()["state"]
    for name, token in forged_tokens(clerk):
        done = client.post("/clerk/callback", data={"token": token, "state": state, "next": "/"},
                           headers={"Accept": "application/json"})
        assert done.status_code == 401, (name, done.get_data(as_text=True))
        assert done.get_json()["error"] == "TokenRejected"
        client.set_cookie("__session", token)
        page = client.get("/clerk/callback?next=/")
        assert page.status_code == 200 and "Signing you in" in page.get_data(as_text=True), name
        assert who(client, app)[0] == 401, name


def test_authorized_parties(make_app, clerk, monkeypatch):
    monkeypatch.setenv("CLERK_ALLOWED_PARTIES", "http://localhost, https://app.example.com")
    app, _ = make_app()
    client = client_for(app, use_cookies=False)
    sid = clerk.create_session("user_alice")
    for azp, expected in (("http://localhost", 200), ("https://app.example.com", 200),
                          ("https://evil.example", 401), (None, 401)):
        token = clerk.token(sid, azp=azp)
        assert who(client, app, {"Authorization": f"Bearer {token}"})[0] == expected, azp


def test_a_replayed_callback_is_refused(make_app, clerk):
    app, _ = make_app()
    first = client_for(app)
    state = first.get("/clerk/state").get_json()["state"]
    sid = clerk.create_session("user_alice")
    token = clerk.token(sid)
    form = {"token": token, "state": state, "next": "/"}
    assert first.post("/clerk/callback", data=form, headers={"Accept": "application/json"}).status_code == 200
    other = client_for(app)
    state2 = other.get("/clerk/state").get_json()["state"]
    again = other.post("/clerk/callback", data={**form, "state": state2}, headers={"Accept": "application/json"})
    assert again.status_code == 400 and "used already" in again.get_json()["message"]
    assert who(other, app)[0] == 401


def test_cross_site_or_stateless_callback_posts_are_refused(make_app, clerk):
    app, _ = make_app()
    client = client_for(app)
    state = client.get("/clerk/state").get_json()["state"]
    token = clerk.token(clerk.create_session("user_alice"))
    json_accept = {"Accept": "application/json"}
    cases = [
        ({"token": token, "next": "/"}, json_accept),
        ({"token": token, "state": "forged", "next": "/"}, json_accept),
        ({"token": token, "state": state}, {**json_accept, "Origin": "https://evil.example"}),
        ({"token": token, "state": state}, {**json_accept, "Origin": "null"}),
        ({"token": token, "state": state}, {**json_accept, "Referer": "https://evil.example/page"}),
    ]
    for data, headers in cases:
        refused = client.post("/clerk/callback", data=data, headers=headers)
        assert refused.status_code == 403, (data, headers)
    assert who(client, app)[0] == 401
    # Without a token, or with a malformed body: 4xx too.
    assert client.post("/clerk/callback", data={"state": state}, headers=json_accept).status_code == 400
    garbled = client.post("/clerk/callback", data=b"\xff\xfe=%%%", content_type="multipart/form-data; boundary=x")
    assert 400 <= garbled.status_code < 500


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "/%2e%2e/admin", "http:/evil.example", "/ok\r\nSet-Cookie: a=b",
])
def test_next_urls_off_this_site_go_to_the_root(make_app, clerk, target):
    app, _ = make_app()
    client = client_for(app)
    sid = clerk.create_session("user_alice")
    client.set_cookie("__session", clerk.token(sid))
    done = client.get("/clerk/callback", query_string={"next": target})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    start = client_for(app).get("/clerk/login", query_string={"next": target})
    assert "evil" not in start.headers["Location"].split("redirect_url=")[0]
    assert "redirect_url=http%3A%2F%2Flocalhost%2Fclerk%2Fcallback%3Fnext%3D%2F" in start.headers["Location"]


@pytest.mark.parametrize("mode", ["error", "slow", "garbage"])
def test_a_backend_api_that_fails_at_sign_in_is_a_424_page(make_app, clerk, mode, backend):
    app, _ = make_app(api_timeout=0.5)
    client = client_for(app)
    sid = clerk.create_session("user_alice")
    client.set_cookie("__session", clerk.token(sid))
    clerk.mode = mode
    clerk.slow_seconds = 2.0
    started = time.monotonic()
    page = client.get("/clerk/callback?next=/")
    assert time.monotonic() - started < 1.8  # the timeout, not the stand-in's delay, and no retries
    assert page.status_code == 424 and page.headers["Retry-After"] == "30"
    assert "Try again" in page.get_data(as_text=True)
    clerk.mode = "up"
    assert who(client, app)[0] == 401


def test_an_unknown_user_or_a_wrong_secret_key_is_refused(make_app, clerk, monkeypatch):
    app, _ = make_app()
    client = client_for(app)
    sid = clerk.create_session("user_nobody")
    client.set_cookie("__session", clerk.token(sid))
    assert client.get("/clerk/callback?next=/").status_code == 401
    monkeypatch.setenv("CLERK_SECRET_KEY", "sk_test_" + "wrong" * 6)
    app2, _ = make_app()
    client2 = client_for(app2)
    client2.set_cookie("__session", clerk.token(clerk.create_session("user_alice")))
    assert client2.get("/clerk/callback?next=/").status_code == 401


def test_a_banned_user_is_refused(make_app, clerk):
    clerk.add_user("mallory", "mallory@example.org", banned=True)
    app, _ = make_app()
    client = client_for(app)
    client.set_cookie("__session", clerk.token(clerk.create_session("user_mallory")))
    assert client.get("/clerk/callback?next=/").status_code == 403
    bearer = {"Authorization": "Bearer " + clerk.token(clerk.create_session("user_mallory"))}
    assert who(client_for(app, use_cookies=False), app, bearer)[0] == 401


def test_an_outage_during_the_session_check(make_app, clerk, backend):
    app, auth = make_app(session_check_interval=30, api_timeout=0.5)
    clock = Clock()
    auth.plugin.clock = clock
    client, sid = signed_in(clerk, app)
    clerk.mode = "error"
    clock.advance(31)
    assert who(client, app)[0] == 200  # confirmed 31 s ago: holds while Clerk is down
    clock.advance(31)
    refused = client.post("/_dash-update-component", json=callback_body(app, "out.children", [1]))
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "15"
    assert refused.get_json()["error"] == "clerk_unavailable"  # RequestRefused: JSON for a callback
    assert "cannot be reached" in refused.get_json()["message"]
    page = client.get("/", headers={"Accept": "text/html"})  # ... and the unavailable page for a browser
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"] == "15"
    assert "dash-auth-card" in text and "Try again in 15 seconds." in text and "private content" not in text
    clerk.mode = "up"
    clock.advance(20)
    assert who(client, app)[0] == 200  # Clerk answers again: the login goes on


def test_bearer_tokens_while_clerk_is_down_get_503(make_app, clerk):
    app, _ = make_app(api_timeout=0.5)
    clerk.mode = "error"
    token = clerk.token(clerk.create_session("user_bob"))
    refused = client_for(app, use_cookies=False).post(
        "/_dash-update-component", json=callback_body(app, "out.children", [1]),
        headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 503 and refused.get_json()["error"] == "clerk_unavailable"
    assert refused.headers["Retry-After"] == "15"


def test_a_malformed_login_state_ends_the_login(make_app, clerk):
    app, _ = make_app()
    client, _ = signed_in(clerk, app)
    with client.session_transaction() as session:
        session["_clerk"] = ["not", "a", "dict"]
    assert who(client, app)[0] == 401
    assert client.get("/").status_code == 302


def test_unknown_key_ids_fetch_the_keys_at_most_every_30_seconds(make_app, clerk):
    app, _ = make_app()
    client = client_for(app, use_cookies=False)
    sid = clerk.create_session("user_alice")
    assert who(client, app, {"Authorization": "Bearer " + clerk.token(sid)})[0] == 200
    fetched = clerk.calls.count("GET /v1/jwks")
    assert fetched == 1
    for n in range(5):
        forged = clerk.token(sid, key=new_key(), kid=f"ins_forged{n}")
        assert who(client, app, {"Authorization": f"Bearer {forged}"})[0] == 401
    assert clerk.calls.count("GET /v1/jwks") == fetched  # fetched moments ago: not again


def test_a_rotated_signing_key_is_fetched(make_app, clerk):
    app, auth = make_app()
    client = client_for(app, use_cookies=False)
    sid = clerk.create_session("user_alice")
    assert who(client, app, {"Authorization": "Bearer " + clerk.token(sid)})[0] == 200
    old_key, old_kid = clerk.key, clerk.kid
    try:
        clerk.key, clerk.kid = new_key(), "ins_rotated"
        auth.plugin.verifier.keys._fetched -= 31  # the last fetch is older than the refetch pause
        assert who(client, app, {"Authorization": "Bearer " + clerk.token(sid)})[0] == 200
    finally:
        clerk.key, clerk.kid = old_key, old_kid


def test_with_the_jwt_key_no_keys_are_fetched(make_app, clerk):
    app, _ = make_app(jwt_key=clerk.jwt_key)
    client, _ = signed_in(clerk, app)
    assert who(client, app)[0] == 200
    assert "GET /v1/jwks" not in clerk.calls


def test_a_login_user_callback_that_fails_after_writing_the_session_signs_nobody_in(make_app, clerk):
    """A seed-style callback (Flask's session) that writes ``session["user"]`` and then fails: the
    500 used to carry a session holding that user, signed in for good (no Clerk state, no expiry)."""
    from flask import session

    def callback(user, idp):
        session["user"] = {"id": "user_alice", "email": "alice@example.org"}
        raise RuntimeError("user database down")

    app, _ = make_app(login_user_callback=callback)
    client = client_for(app)
    client.set_cookie("__session", clerk.token(clerk.create_session("user_alice")))
    assert client.get("/clerk/callback?next=/").status_code == 500
    assert who(client, app)[0] == 401
