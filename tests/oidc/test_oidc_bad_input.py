"""Every bad input of issue 5: a clear 4xx page (or a start-up error), the reason logged, no login.

Unreachable providers during a login answer 424 (Failed Dependency) with
``Retry-After``: the request was fine, the sign-in it depends on was not
possible (see the package README).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
import requests
from oidc_matrix import StrictIdP
from oidc_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET,
    TamperingProxy,
    authorize,
    build_app,
    path_of,
    session_of,
    sign_in,
    start_login,
)
from werkzeug.wrappers import Request as WzRequest
from werkzeug.wrappers import Response as WzResponse

from dash_auth_core import ConfigurationError
from dash_auth_core.testing import callback_body, client_for, make_dash, use_backend
from dash_auth_oidc import OIDCAuth
from dash_auth_oidc.state import STATE_KEY

LOGGER = "dash_auth.oidc"


def assert_not_signed_in(app, client) -> None:
    """No user in the session, a page redirects to sign-in, a callback gets JSON 401."""
    assert "user" not in session_of(app, client)
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    cb = client.post("/_dash-update-component", json=callback_body(app, "out.children"))
    assert cb.status_code == 401 and cb.get_json()["error"] == "unauthenticated"


def assert_page(response, status: int, text: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type.startswith("text/html")
    assert text in response.get_data(as_text=True)


# -- state ------------------------------------------------------------------------


def test_wrong_state_is_refused(idp, make_app, caplog):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    callback = urlsplit(authorize(start_login(client)))
    query = parse_qs(callback.query)
    forged = urlencode({"code": query["code"][0], "state": "not-the-state"})
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(f"{callback.path}?{forged}")
    assert_page(response, 400, "Sign in again")
    assert "unknown or replayed state" in caplog.text
    assert_not_signed_in(app, client)


def test_replayed_state_is_refused(any_idp, make_app, caplog):
    app, _auth = make_app(any_idp)
    client = app.server.test_client()
    dance = any_idp.sign_in(client)
    assert dance.response.status_code == 302
    replay = path_of(dance.callback_url)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        again = client.get(replay)
    assert_page(again, 400, "already used")
    assert "unknown or replayed state" in caplog.text
    # The same callback URL in another browser (an attacker who saw it) logs nobody in.
    stranger = app.server.test_client()
    assert stranger.get(replay).status_code == 400
    assert_not_signed_in(app, stranger)


def test_missing_state_and_missing_code(idp, make_app, caplog):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    start_login(client)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert_page(client.get("/oidc/idp/callback?code=abc"), 400, "incomplete")
        assert "callback without a state" in caplog.text
        authorize_url = start_login(client)
        state = parse_qs(urlsplit(authorize_url).query)["state"][0]
        assert_page(client.get(f"/oidc/idp/callback?state={state}"), 400, "incomplete")
        assert "callback without a code" in caplog.text
    assert_not_signed_in(app, client)


def test_oversized_and_odd_callback_parameters(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    state = parse_qs(urlsplit(start_login(client)).query)["state"][0]
    assert client.get("/oidc/idp/callback?" + urlencode({"state": "s" * 10_000, "code": "c"})).status_code == 400
    assert client.get("/oidc/idp/callback?" + urlencode({"state": state, "code": "c" * 5000})).status_code == 400
    assert client.get("/oidc/idp/callback?state=%00%ff&code=%00").status_code == 400
    assert_not_signed_in(app, client)


def test_expired_state_is_refused(idp, make_app, clock, caplog):
    app, auth = make_app(idp, login_timeout=60)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    callback = authorize(start_login(client))
    clock.advance(61)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert_page(client.get(path_of(callback)), 400, "took too long")
    assert "expired state" in caplog.text
    assert_not_signed_in(app, client)


# -- provider error answers -------------------------------------------------------------


def test_access_denied_at_the_provider(any_idp, make_app, caplog):
    app, _auth = make_app(any_idp)
    client = app.server.test_client()
    callback = any_idp.authorize(start_login(client), deny=True)  # the provider's real "Deny" (or "Cancel")
    assert "error=access_denied" in callback
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(path_of(callback))
    assert_page(response, 403, "You declined the sign-in")
    assert "error='access_denied'" in caplog.text
    assert_not_signed_in(app, client)


def test_other_provider_errors_are_shown_escaped(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    state = parse_qs(urlsplit(start_login(client)).query)["state"][0]
    response = client.get("/oidc/idp/callback?" + urlencode(
        {"state": state, "error": "<script>x</script>", "error_description": "boom"}))
    assert response.status_code == 401
    assert "<script>x</script>" not in response.get_data(as_text=True)
    assert "&lt;script&gt;" in response.get_data(as_text=True)
    assert_not_signed_in(app, client)


def test_an_invalid_code_is_refused_by_the_provider(any_idp, make_app, caplog):
    app, _auth = make_app(any_idp)
    client = app.server.test_client()
    state = parse_qs(urlsplit(start_login(client)).query)["state"][0]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        # (with the issuer the strict provider always names: RFC 9207)
        response = client.get("/oidc/idp/callback?" + urlencode({"state": state, "code": "made-up", "iss": any_idp.url}))
    assert_page(response, 401, "did not accept")
    assert "code exchange refused: invalid_grant" in caplog.text
    assert_not_signed_in(app, client)


def test_the_strict_provider_checks_the_pkce_verifier(strict_idp, make_app, caplog):
    """The verifier the app sends must be the one its challenge was made from: a pending login
    whose verifier was changed (a session forged with the app's key) gets its code refused."""
    app, _auth = make_app(strict_idp)
    client = app.server.test_client()
    authorize_url = start_login(client)
    session = session_of(app, client)
    session["_oidc_pending"] = [[*entry[:4], "x" * 64, entry[5]] for entry in session["_oidc_pending"]]
    serializer = app.server.session_interface.get_signing_serializer(app.server)
    client.set_cookie("session", serializer.dumps(session))
    callback = StrictIdP(strict_idp).authorize(authorize_url)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(path_of(callback))
    assert_page(response, 401, "did not accept")
    assert "code exchange refused: invalid_grant" in caplog.text
    assert_not_signed_in(app, client)


@pytest.mark.filterwarnings("ignore:OIDC provider 'idp'. PKCE is turned off")
def test_the_strict_provider_refuses_a_sign_in_without_pkce(strict_idp, make_app, caplog):
    """``code_challenge_method=None`` turns PKCE off; a provider that requires it answers with an
    error, which the app shows as one (401), not as a 500."""
    app, _auth = make_app(strict_idp, register={"client_kwargs": {"code_challenge_method": None}})
    client = app.server.test_client()
    authorize_url = start_login(client)
    assert "code_challenge" not in authorize_url
    refused = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert refused.status_code in (302, 303)
    callback = refused.headers["Location"]
    assert "error=invalid_request" in callback and "localhost/oidc/idp/callback" in callback
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(path_of(callback))
    assert_page(response, 401, "reported an error (invalid_request)")
    assert "PKCE" in caplog.text or "code_challenge" in caplog.text
    assert_not_signed_in(app, client)


# -- the authorization response's issuer (RFC 9207, mix-up defence) -------------------------


def _with_iss(callback_url: str, *values: str) -> str:
    """``callback_url`` (an app path) with its ``iss`` parameters replaced by ``values``."""
    parts = urlsplit(callback_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "iss"] + [("iss", v) for v in values]
    return f"{parts.path}?{urlencode(query)}"


def _code_still_unused(any_idp, callback_url: str, verifier: str) -> bool:
    """Whether the provider still trades the callback's code (the app never sent it anywhere)."""
    meta = requests.get(any_idp.metadata_url, timeout=10).json()
    query = dict(parse_qsl(urlsplit(callback_url).query))
    response = requests.post(meta["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), timeout=10, data={
        "grant_type": "authorization_code", "code": query["code"], "code_verifier": verifier,
        "redirect_uri": "http://localhost/oidc/idp/callback"})
    return response.status_code == 200 and "id_token" in response.json()


@pytest.mark.parametrize("iss", ["http://127.0.0.1:9/evil", "", "{issuer}/", "{issuer}|{issuer}"])
def test_an_answer_naming_another_issuer_is_refused_before_its_code_is_used(any_idp, make_app, iss, caplog):
    """A mix-up attack: the answer says it comes from another provider than the one the login
    was sent to. Refused (400), logged, and the code goes to no token endpoint."""
    app, _auth = make_app(any_idp)
    client = app.server.test_client()
    authorize_url = start_login(client)
    [verifier] = [e[4] for e in session_of(app, client)["_oidc_pending"]]
    callback = any_idp.authorize(authorize_url)
    forged = _with_iss(path_of(callback), *iss.format(issuer=any_idp.url).split("|"))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(forged)
    assert_page(response, 400, "another sign-in provider")
    assert "RFC 9207 mix-up defence" in caplog.text
    assert_not_signed_in(app, client)
    assert _code_still_unused(any_idp, callback, verifier)


def test_an_error_answer_naming_another_issuer_is_not_shown_as_the_provider_s(any_idp, make_app, caplog):
    app, _auth = make_app(any_idp)
    client = app.server.test_client()
    callback = any_idp.authorize(start_login(client), deny=True)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(_with_iss(path_of(callback), "http://127.0.0.1:9/evil"))
    assert_page(response, 400, "another sign-in provider")
    assert "mix-up" in caplog.text and "declined" not in response.get_data(as_text=True)
    assert_not_signed_in(app, client)


@pytest.mark.parametrize("advertised", [True, False])
def test_an_answer_without_iss_counts_only_when_the_provider_does_not_promise_one(any_idp, make_app, advertised,
                                                                                   caplog):
    """The strict provider always sends ``iss`` and says so in its metadata
    (``authorization_response_iss_parameter_supported``); oidc-provider-mock does neither. An
    answer without ``iss`` from a provider that promises one is refused; otherwise accepted."""
    meta = requests.get(any_idp.metadata_url, timeout=10).json()
    meta["authorization_response_iss_parameter_supported"] = advertised
    app, auth = make_app(None)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, metadata=meta,
                            **any_idp.register)
    client = app.server.test_client()
    callback = any_idp.authorize(start_login(client))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(_with_iss(path_of(callback)))
    if advertised:
        assert_page(response, 400, "does not say which provider sent it")
        assert "without 'iss'" in caplog.text
        assert_not_signed_in(app, client)
    else:
        assert response.status_code == 302 and response.headers["Location"] == "/"
        assert session_of(app, client)["user"]["id"] == "alice"


# -- ID tokens --------------------------------------------------------------------------


def proxied_app(proxy, idp):
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           server_metadata_url=proxy.metadata_url, issuer=idp.url)
    return app, auth


def test_the_tampering_proxy_itself_lets_good_tokens_through(proxy, idp):
    """Control for the cases below: tokens re-signed with the proxy's published key are accepted."""
    app, _auth = proxied_app(proxy, idp)
    proxy.mode = "resigned"
    client = app.server.test_client()
    assert sign_in(client).response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("mode", "logged"),
    [
        ("bad_signature", "bad signature"),
        ("unknown_key", "key the provider does not publish"),
        ("alg_none", "algorithm 'none' is not allowed"),
        ("wrong_audience", "audience 'someone-else'"),
        ("expired", "expired"),
        ("wrong_issuer", "issuer 'http://127.0.0.1:9/evil'"),
        ("wrong_nonce", "nonce does not match"),
        ("no_id_token", "no id_token"),
    ],
)
def test_bad_id_tokens_are_refused(proxy, idp, mode, logged, caplog):
    app, _auth = proxied_app(proxy, idp)
    proxy.mode = mode
    client = app.server.test_client()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = sign_in(client).response
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    assert response.content_type.startswith("text/html")
    assert logged in caplog.text
    assert_not_signed_in(app, client)


# -- unreachable or broken providers -------------------------------------------------------


def test_unreachable_metadata_at_start_up_is_a_start_up_error():
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    with pytest.raises(ConfigurationError, match="discovery document at http://127.0.0.1:9/"):
        auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                               server_metadata_url="http://127.0.0.1:9/.well-known/openid-configuration")
    assert "idp" not in auth.providers


def test_metadata_with_another_issuer_is_a_start_up_error(idp, proxy):
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    with pytest.raises(ConfigurationError, match="expected 'http://127.0.0.1"):
        auth.register_provider("idp", client_id=CLIENT_ID, server_metadata_url=proxy.metadata_url)


def test_metadata_that_is_not_a_discovery_document_is_a_start_up_error(idp):
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    with pytest.raises(ConfigurationError, match="lacks valid"):
        auth.register_provider("idp", client_id=CLIENT_ID, server_metadata_url=idp.url + "/jwks")


def test_unreachable_metadata_at_login(make_app, caplog):
    app, auth = make_app(None)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, lazy=True,
                           server_metadata_url="http://127.0.0.1:9/.well-known/openid-configuration")
    client = app.server.test_client()
    assert client.get("/").headers["Location"] == "/oidc/idp/login?next=/"
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = client.get("/oidc/idp/login?next=/")
    assert_page(response, 424, "cannot be reached")
    assert response.headers["Retry-After"] == "30"
    assert "discovery document at http://127.0.0.1:9/" in caplog.text
    assert "_oidc_pending" not in session_of(app, client)
    assert_not_signed_in(app, client)


def test_provider_unreachable_at_the_callback(idp, make_app, caplog):
    app, auth = make_app(idp)
    client = app.server.test_client()
    callback = authorize(start_login(client))
    meta = auth.providers["idp"].metadata()
    saved = meta["token_endpoint"]
    meta["token_endpoint"] = "http://127.0.0.1:9/token"
    try:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            response = client.get(path_of(callback))
    finally:
        meta["token_endpoint"] = saved
    assert_page(response, 424, "cannot be reached")
    assert "code exchange failed" in caplog.text
    assert_not_signed_in(app, client)


# -- provider names ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/oidc/nope/login", "/oidc/nope/callback?state=a&code=b", "/oidc/%00%ff/login",
                                  "/oidc/" + "x" * 300 + "/callback"])
def test_a_provider_name_that_is_not_registered(idp, make_app, path, caplog):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(path)
    assert_page(response, 404, "no sign-in provider called")
    assert "unknown provider" in caplog.text
    assert_not_signed_in(app, client)


@pytest.mark.parametrize("name", ["", "a/b", "tab\there", "x" * 65, None])
def test_bad_provider_names_at_registration(name):
    app = build_app()
    auth = OIDCAuth(app, secret_key=SECRET)
    with pytest.raises(ConfigurationError):
        auth.register_provider(name, client_id=CLIENT_ID, server_metadata_url="http://127.0.0.1:9/x")


# -- tampered cookies ----------------------------------------------------------------------------


def _tamper(value: str) -> str:
    head, _, sig = value.rpartition(".")
    return f"{head}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"


def test_a_tampered_session_cookie_during_login(idp, make_app, caplog):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    callback = authorize(start_login(client))
    client.set_cookie("session", _tamper(client.get_cookie("session").value))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        response = client.get(path_of(callback))
    assert_page(response, 400, "another browser")
    assert "unknown or replayed state" in caplog.text
    assert_not_signed_in(app, client)


def test_a_tampered_session_cookie_after_login(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    sign_in(client)
    assert client.get("/").status_code == 200
    client.set_cookie("session", _tamper(client.get_cookie("session").value))
    assert_not_signed_in(app, client)


def test_a_forged_session_signed_with_another_key(idp, make_app):
    from itsdangerous import URLSafeTimedSerializer

    app, _auth = make_app(idp)
    client = app.server.test_client()
    forged = URLSafeTimedSerializer("another-secret-key-0123456789", salt="cookie-session",
                                    signer_kwargs={"key_derivation": "hmac", "digest_method": __import__("hashlib").sha1})
    client.set_cookie("session", forged.dumps({"user": {"id": "admin", "groups": ["admins"]}}))
    assert_not_signed_in(app, client)


def test_logout_post_from_another_site_is_refused(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    sign_in(client)
    response = client.post("/oidc/logout", data={"csrf_token": "guess"}, headers={"Origin": "https://evil.example"})
    assert_page(response, 403, "did not come from this site")
    assert client.get("/").status_code == 200


def test_no_500_for_the_provider_answering_garbage(idp, make_app, caplog):
    """A token endpoint answering HTML (a gateway error page) is a clear 4xx, not a 500."""
    app, auth = make_app(idp)
    client = app.server.test_client()
    callback = authorize(start_login(client))
    meta = auth.providers["idp"].metadata()
    saved = meta["token_endpoint"]
    meta["token_endpoint"] = idp.url + "/"  # the provider's HTML home page: not a token endpoint
    try:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            response = client.get(path_of(callback))
    finally:
        meta["token_endpoint"] = saved
    assert response.status_code in (401, 424)
    assert "code exchange" in caplog.text
    assert_not_signed_in(app, client)
    assert requests.get(idp.metadata_url, timeout=10).status_code == 200


def test_undecryptable_tokens_end_the_login_at_expiry_not_before(idp, make_app, clock, caplog):
    """Tokens sealed with another key (a rotated secret) cannot refresh: the login lasts until expiry."""
    app, auth = make_app(idp)
    auth.plugin.set_clock(clock)
    client = app.server.test_client()
    sign_in(client)
    with client.session_transaction() as session:
        session["_oidc_tokens"] = "AQ" + "x" * 80  # the right version byte, garbage after it
        state = session["_oidc"]
    clock.advance(state["r"] - clock() + 5)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert client.post("/_dash-update-component", json=callback_body(app, "out.children")).status_code == 200
    assert "could not be decrypted" in caplog.text
    clock.advance(120)
    assert client.post("/_dash-update-component", json=callback_body(app, "out.children")).status_code == 401
    assert_not_signed_in(app, client)


# -- malformed token answers and headers: 4xx, never 500 -------------------------------


class BadTokenAnswers(TamperingProxy):
    """Forwards to the real provider; merges ``patch`` into the token endpoint's JSON for grant ``on``."""

    patch: dict = {}
    on: str = "authorization_code"

    def _wsgi(self, environ, start_response):
        import io
        import json

        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        request = WzRequest(dict(environ, **{"wsgi.input": io.BytesIO(raw)}))
        if request.path == "/token" and request.method == "POST" and request.form.get("grant_type") == self.on:
            inner = []

            def capture(status, headers, exc_info=None):
                inner.append(status)

            data = json.loads(b"".join(super()._wsgi(environ, capture)))
            text = json.dumps({**data, **self.patch}).replace('"__INF__"', "1e999")
            return WzResponse(text, status=int(inner[0].split()[0]), content_type="application/json")(environ, start_response)
        return super()._wsgi(environ, start_response)


PATCHES = {"list": {"expires_in": [1]}, "inf": {"expires_in": "__INF__"}, "obj_at": {"expires_at": {"a": 1}}}


@pytest.fixture
def bad(idp):
    front = BadTokenAnswers(idp)
    yield front
    front.stop()


@pytest.mark.parametrize("name", list(PATCHES))
def test_a_malformed_token_answer_at_sign_in_is_a_4xx(bad, idp, make_app, name):
    app, _ = make_app(bad, register={"issuer": idp.url})
    bad.patch, bad.on = PATCHES[name], "authorization_code"
    app.server.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.server.test_client()
    d = sign_in(client)
    assert d.response.status_code == 424  # the provider answered garbage: no login
    assert "user" not in session_of(app, client)


@pytest.mark.parametrize("name", list(PATCHES))
def test_a_malformed_token_answer_at_refresh_is_a_4xx(bad, idp, make_app, clock, name, monkeypatch):
    monkeypatch.setattr("dash_auth_oidc.renewal.REFRESH_REUSE_SECONDS", 0.0)
    app, auth = make_app(bad, register={"issuer": idp.url})
    auth.plugin.set_clock(clock)
    app.server.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.server.test_client()
    sign_in(client)
    bad.patch, bad.on = PATCHES[name], "refresh_token"
    clock.advance(session_of(app, client)[STATE_KEY]["r"] - clock() + 5)
    r = client.post("/_dash-update-component", json=callback_body(app, "out.children"))
    assert r.status_code == 200  # still within the token's lifetime: the refresh is tried again later
    clock.advance(3600)
    r = client.post("/_dash-update-component", json=callback_body(app, "out.children"))
    assert r.status_code == 401 and "user" not in session_of(app, client)


def _oidc_app(metadata_url: str, **register):
    """A one-line app behind OIDCAuth with one provider, on the backend ``use_backend`` chose."""
    from dash import html

    app = make_dash(__name__)
    app.layout = html.Div("x")
    auth = OIDCAuth(app, secret_key=SECRET)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           server_metadata_url=metadata_url, **register)
    return app, auth


@pytest.mark.parametrize("server", ["quart", "fastapi"])
def test_a_malformed_token_answer_at_refresh_is_a_4xx_on_asgi(bad, idp, clock, server, monkeypatch):
    monkeypatch.setattr("dash_auth_oidc.renewal.REFRESH_REUSE_SECONDS", 0.0)
    use_backend(server)
    try:
        app, auth = _oidc_app(bad.metadata_url, issuer=idp.url)
        auth.plugin.set_clock(clock)
        c = client_for(app)
        assert sign_in(c).response.status_code == 302
        bad.patch, bad.on = PATCHES["list"], "refresh_token"
        clock.advance(3600)
        r = c.get("/")
        assert r.status_code == 302 and "/oidc/" in r.headers["Location"]  # expired, not renewed: sign in again
    finally:
        use_backend("flask")


@pytest.mark.parametrize("server", ["flask", "quart", "fastapi"])
@pytest.mark.parametrize("route", ["/oidc/logout", "/logout"])
@pytest.mark.parametrize("header", ["Origin", "Referer"])
def test_a_logout_with_an_unparsable_origin_is_refused_not_a_500(idp, server, route, header):
    use_backend(server)
    try:
        app, _auth = _oidc_app(idp.metadata_url)
        c = client_for(app)
        page = c.get(route).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = c.post(route, data={"csrf_token": token}, headers={header: "http://["})
        assert r.status_code == 403  # not this site's origin: the sign-out is not confirmed
    finally:
        use_backend("flask")
