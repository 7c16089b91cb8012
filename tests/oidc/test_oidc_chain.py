"""OIDC in one chain with other providers: bearer tokens and HTTP Basic for scripts,
OIDC for browsers; providers contributed by entry points."""

from __future__ import annotations

import logging
import re
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwk, jwt
from oidc_support import CLIENT_ID, CLIENT_SECRET, SECRET, build_app, session_of, sign_in

from dash_auth_basic import BasicAuth
from dash_auth_core.testing import basic_header, callback_body
from dash_auth_oidc import OIDCAuth
from dash_auth_oidc.state import STATE_KEY

OUT = "out.children"


def id_token_of(app, auth, client) -> str:
    raw = client.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        return auth.get_tokens()["id_token"]


def script_token(proxy, id_token: str, **changes) -> str:
    """A token such as a script gets without a browser sign-in (``gcloud auth print-identity-token``):
    an ID token's claims without the ``nonce`` of an interactive login, signed with a published key."""
    claims = {k: v for k, v in _claims(id_token).items() if k not in ("nonce", "at_hash", "c_hash")}
    return proxy._sign({**claims, **changes}, proxy.key, "proxy-key")


def _claims(token: str) -> dict:
    import base64
    import json

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def call(app, client, headers=None):
    return client.post("/_dash-update-component", json=callback_body(app, OUT), headers=headers or {})


def test_bearer_id_token_from_the_provider_authenticates_a_script(proxy, idp, make_app, caplog):
    app, auth = make_app(proxy, bearer_tokens=True, register={"issuer": idp.url})
    browser = app.server.test_client()
    sign_in(browser)
    browser_token = id_token_of(app, auth, browser)
    token = script_token(proxy, browser_token)
    # A browser sign-in's own ID token (it carries the login's nonce, and the app puts
    # it in the provider's logout URL) is no bearer credential.
    assert call(app, app.server.test_client(), {"Authorization": f"Bearer {browser_token}"}).status_code == 401
    # An access token for this app and another, asked for by a script's own client.
    shared = script_token(proxy, browser_token, aud=[CLIENT_ID, "account"], azp="cli-script")
    assert call(app, app.server.test_client(), {"Authorization": f"Bearer {shared}"}).status_code == 200

    script = app.server.test_client()
    response = call(app, script, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["response"]["out"]["children"] == "alice|oidc:idp|staff,readers"
    assert script.get_cookie("session") is None  # stateless: no session for bearer clients
    assert script.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload[:-2]}{'AA' if payload[-2:] != 'AA' else 'BB'}.{sig}"
    with caplog.at_level(logging.INFO, logger="dash_auth.oidc"):
        refused = call(app, script, {"Authorization": f"Bearer {tampered}"})
    assert refused.status_code == 401
    assert "bearer token refused" in caplog.text
    page = script.get("/", headers={"Authorization": f"Bearer {tampered}"})
    assert page.status_code == 401 and page.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    # A bad bearer token is not rescued by a valid session cookie either.
    assert call(app, browser, {"Authorization": "Bearer not.a.jwt"}).status_code == 401
    assert call(app, browser).status_code == 200


def _tampered(token: str) -> str:
    """``token`` naming another subject, its signature kept."""
    import base64
    import json

    head, _payload, sig = token.split(".")
    forged = json.dumps({**_claims(token), "sub": "mallory"}).encode()
    return f"{head}.{base64.urlsafe_b64encode(forged).rstrip(b'=').decode()}.{sig}"


def test_a_script_s_bearer_token_from_either_provider(any_idp, make_app, clock, caplog):
    """A token a script got without a browser (the strict provider: a JWT access token of the
    client-credentials grant for ``api://dash-app``, RFC 9068) is accepted until it expires; a
    tampered one, a browser sign-in's tokens and a stranger's are refused with RFC 6750's header."""
    app, auth = make_app(any_idp, bearer_tokens=True, register=any_idp.bearer_register, store_access_token=True)
    auth.plugin.set_clock(clock)
    auth.bearer.clock = clock
    token = any_idp.script_token()
    script = app.server.test_client()
    answer = call(app, script, {"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.get_json()["response"]["out"]["children"] == f"{any_idp.script_id}|oidc:idp|"
    assert script.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert script.get_cookie("session") is None  # stateless: no session for bearer clients

    with caplog.at_level(logging.INFO, logger="dash_auth.oidc"):
        assert call(app, script, {"Authorization": f"Bearer {_tampered(token)}"}).status_code == 401
    assert "bearer token refused" in caplog.text and "bad signature" in caplog.text
    page = script.get("/", headers={"Authorization": f"Bearer {_tampered(token)}"})
    assert page.status_code == 401 and page.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'

    # A browser's own tokens are no script credentials: its ID token (it names the sign-in's
    # nonce) and its access token (opaque, or a JWT for the userinfo endpoint, not for this app).
    browser = app.server.test_client()
    any_idp.sign_in(browser)
    raw = browser.get_cookie("session").value
    with app.server.test_request_context("/", headers={"Cookie": f"session={raw}"}):
        browser_tokens = auth.get_tokens()
    for name in ("id_token", "access_token"):
        assert call(app, script, {"Authorization": f"Bearer {browser_tokens[name]}"}).status_code == 401, name
    # ...and a refused bearer token is not rescued by the browser's valid session cookie.
    assert call(app, browser, {"Authorization": "Bearer not.a.jwt"}).status_code == 401
    assert call(app, browser).status_code == 200

    key = jwk.RSAKey.generate_key(2048, parameters={"kid": "x"})
    now = int(time.time())
    foreign = jwt.encode({"alg": "RS256", "kid": "x"},
                         {"iss": "https://elsewhere.example", "aud": CLIENT_ID, "sub": "eve", "exp": now + 60}, key)
    assert call(app, script, {"Authorization": f"Bearer {foreign}"}).status_code == 401

    caplog.clear()
    clock.advance(600 + 120)  # past the token's exp and the leeway
    with caplog.at_level(logging.INFO, logger="dash_auth.oidc"):
        assert call(app, script, {"Authorization": f"Bearer {token}"}).status_code == 401
    assert "bearer token expired" in caplog.text


def test_a_refused_bearer_token_is_logged_with_its_own_registration_s_reason(any_idp, make_app, clock, caplog):
    """Issue 24: two registrations of one issuer; the token is for the second (its audience), and
    expired. The log says so, not that the first registration's audience is missing."""
    app, auth = make_app(any_idp, bearer_tokens=True, register={"bearer_audience": "api://another-app"})
    auth.register_provider("partner", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           server_metadata_url=any_idp.metadata_url, **any_idp.register, **any_idp.bearer_register)
    auth.plugin.set_clock(clock)
    auth.bearer.clock = clock
    token = any_idp.script_token()
    script = app.server.test_client()
    answer = call(app, script, {"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.get_json()["response"]["out"]["children"] == f"{any_idp.script_id}|oidc:partner|"
    clock.advance(600 + 120)
    with caplog.at_level(logging.INFO, logger="dash_auth.oidc"):
        assert call(app, script, {"Authorization": f"Bearer {token}"}).status_code == 401
    [line] = [r.getMessage() for r in caplog.records if "bearer token refused" in r.getMessage()]
    assert "expired" in line and "audience" not in line


@pytest.mark.parametrize("where", ["header", "payload"])
def test_a_bearer_token_of_deeply_nested_json_is_a_401_not_a_500(idp, make_app, where):
    """Well under the size limit, but deep enough to exhaust the JSON parser's recursion."""
    import base64

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    nested, plain = b64(b"[" * 5000 + b"]" * 5000), b64(b'{"alg": "RS256"}')
    token = f"{nested}.{plain}.sig" if where == "header" else f"{plain}.{nested}.sig"
    app, _auth = make_app(idp, bearer_tokens=True)
    app.server.config["PROPAGATE_EXCEPTIONS"] = False
    script = app.server.test_client()
    assert call(app, script, {"Authorization": f"Bearer {token}"}).status_code == 401
    page = script.get("/", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 401 and page.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_bearer_audience_for_access_tokens(idp, make_app):
    """With ``bearer_audience`` set, ID tokens (audience = client id) are no longer accepted."""
    app, auth = make_app(idp, bearer_tokens=True, register={"bearer_audience": "https://api.example"})
    browser = app.server.test_client()
    sign_in(browser)
    token = id_token_of(app, auth, browser)
    assert call(app, app.server.test_client(), {"Authorization": f"Bearer {token}"}).status_code == 401


def test_without_bearer_tokens_a_bearer_header_is_not_accepted(idp, make_app):
    app, auth = make_app(idp)
    browser = app.server.test_client()
    sign_in(browser)
    token = id_token_of(app, auth, browser)
    script = app.server.test_client()
    assert call(app, script, {"Authorization": f"Bearer {token}"}).status_code == 401
    page = script.get("/", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 401  # not redirected to a browser sign-in


def test_basic_for_scripts_and_oidc_for_browsers_in_one_chain(idp):
    app = build_app()
    BasicAuth(app, {"robot": "robot-password-1"}, secret_key=SECRET)
    auth = OIDCAuth(app, secret_key=SECRET)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)

    script = app.server.test_client()
    ok = call(app, script, basic_header("robot", "robot-password-1"))
    assert ok.status_code == 200 and ok.get_json()["response"]["out"]["children"] == "robot|basic|"
    wrong = app.server.test_client().get("/", headers=basic_header("robot", "nope"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")

    browser = app.server.test_client()
    first = browser.get("/reports")
    assert first.status_code == 302 and first.headers["Location"] == "/oidc/idp/login?next=/reports"
    sign_in(browser, "/reports")
    answer = call(app, browser)
    assert answer.get_json()["response"]["out"]["children"] == "alice|oidc:idp|staff,readers"


# -- entry points -------------------------------------------------------------------------


@pytest.fixture
def company_sso(idp, monkeypatch):
    """A fake installed package contributing a provider through the entry-point group."""
    import dash_auth_oidc.auth as auth_module

    def provider():
        return {"name": "Company SSO", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "server_metadata_url": idp.metadata_url}

    entry = SimpleNamespace(name="company", load=lambda: provider)

    def entry_points(group=None):
        return [entry] if group == auth_module.PROVIDER_ENTRY_POINT_GROUP else []

    monkeypatch.setattr(auth_module.importlib_metadata, "entry_points", entry_points)
    monkeypatch.delenv("DASH_AUTH_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("DASH_AUTH_PLUGINS", raising=False)
    return monkeypatch


def test_a_provider_from_an_entry_point(company_sso):
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    assert list(auth.providers) == ["Company SSO"]
    client = app.server.test_client()
    assert client.get("/").headers["Location"] == "/oidc/Company%20SSO/login?next=/"
    sign_in(client)
    assert session_of(app, client)["idp"] == "Company SSO"


def test_entry_point_providers_follow_the_plugin_switches(company_sso):
    company_sso.setenv("DASH_AUTH_DISABLE_PLUGINS", "1")
    assert OIDCAuth(build_app(), secret_key=SECRET).providers == {}
    company_sso.delenv("DASH_AUTH_DISABLE_PLUGINS")
    company_sso.setenv("DASH_AUTH_PLUGINS", "something-else")
    assert OIDCAuth(build_app(), secret_key=SECRET).providers == {}
    assert OIDCAuth(build_app(), secret_key=SECRET, entry_point_providers=False, load_entrypoints=False).providers == {}


def test_a_refreshed_id_token_never_becomes_the_logout_hint_a_script_could_replay(proxy, idp, make_app, clock, monkeypatch):
    """Refreshed ID tokens often have no nonce: the logout URL keeps naming the login's (which has one)."""
    monkeypatch.setattr("dash_auth_oidc.renewal.REFRESH_REUSE_SECONDS", 0.0)
    app, auth = make_app(proxy, register={"issuer": idp.url}, bearer_tokens=True)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    sign_in(client)
    clock.advance(session_of(app, client)[STATE_KEY]["r"] - clock() + 5)
    now = int(clock())
    proxy.refresh_id_token = {"sub": "alice", "aud": CLIENT_ID, "iat": now, "exp": now + 3600}  # no nonce
    body = callback_body(app, "out.children")
    assert client.post("/_dash-update-component", json=body).status_code == 200  # refreshed
    page = client.get("/oidc/logout").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/oidc/logout", data={"csrf_token": token})
    assert response.status_code == 303
    hint = parse_qs(urlsplit(response.headers["Location"]).query)["id_token_hint"][0]
    assert "nonce" in _claims(hint)  # the login's own
    script = app.server.test_client()  # no cookie: someone who read the logout URL
    refused = script.post("/_dash-update-component", json=body, headers={"Authorization": f"Bearer {hint}"})
    assert refused.status_code == 401
