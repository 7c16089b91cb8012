"""The OIDC plugin's pages: the provider chooser, sign-in errors, 424 and 503, sign-out,
in the browser's language, with everything a provider or a URL brings escaped; and the
logout URL the components use for an OIDC login."""

from __future__ import annotations

from oidc_support import CLIENT_ID, CLIENT_SECRET, SECRET, build_app, session_of, sign_in, start_login

from dash_auth_oidc import OIDCAuth

DE = {"Accept-Language": "de-DE,de;q=0.9"}


def body(response) -> str:
    return response.get_data(as_text=True)


def two_provider_app(idp, idp2):
    app = build_app(title="Portal")
    auth = OIDCAuth(app, secret_key=SECRET)
    auth.register_provider("one", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           server_metadata_url=idp.metadata_url, display_name='First "<Corp>"')
    auth.register_provider("two", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           server_metadata_url=idp2.metadata_url)
    return app


def test_the_chooser_is_a_list_of_labelled_buttons_in_the_users_language(idp, idp2):
    client = two_provider_app(idp, idp2).server.test_client()
    page = client.get("/oidc/login?next=/reports", headers=DE)
    assert page.status_code == 200 and page.headers["Content-Language"] == "de"
    text = body(page)
    assert "<title>Anmelden · Portal</title>" in text and "Wählen Sie, wie Sie sich anmelden möchten:" in text
    assert "Mit First &#34;&lt;Corp&gt;&#34; anmelden" in text and "<Corp>" not in text
    assert 'href="/oidc/two/login?next=/reports"' in text
    evil = body(client.get("/oidc/login", query_string={"next": "/\"><script>x</script>"}))
    # A same-origin path, so kept, but only ever percent-encoded in the links.
    assert "<script>x" not in evil and 'href="/oidc/one/login?next=/%22%3E%3Cscript%3Ex%3C/script%3E"' in evil
    outside = body(client.get("/oidc/login", query_string={"next": "https://evil.example/"}))
    assert 'href="/oidc/one/login?next=/"' in outside and "evil.example" not in outside


def test_a_provider_error_is_translated_and_its_code_escaped(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    start_login(client)
    state = session_of(app, client)["_oidc_pending"][0][0]
    declined = client.get("/oidc/idp/callback", query_string={"error": "access_denied", "state": state}, headers=DE)
    assert declined.status_code == 403
    assert "Sie haben die Anmeldung abgelehnt" in body(declined) and 'id="oidc-retry"' in body(declined)
    odd = client.get("/oidc/idp/callback", query_string={"error": "<img src=x onerror=alert(1)>"})
    assert odd.status_code == 401
    assert "reported an error (&lt;img src=x onerror=alert(1)&gt;)." in body(odd) and "<img" not in body(odd)


def test_an_unknown_provider_name_is_shown_escaped(idp, make_app):
    app, _auth = make_app(idp)
    page = app.server.test_client().get("/oidc/%3Cscript%3E/login", headers=DE)
    assert page.status_code == 404
    assert "Hier gibt es keinen Anmeldedienst namens &#39;&lt;script&gt;&#39;." in body(page)


def test_an_unreachable_provider_gets_the_424_page_in_german(make_app):
    app, auth = make_app(None)
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, lazy=True,
                           server_metadata_url="http://127.0.0.1:9/.well-known/openid-configuration")
    page = app.server.test_client().get("/oidc/idp/login?next=/", headers=DE)
    assert page.status_code == 424 and page.headers["Retry-After"] == "30"
    text = body(page)
    assert "Anmeldedienst nicht erreichbar" in text and "Versuchen Sie es in 30 Sekunden erneut." in text


def test_no_provider_is_a_503_page():
    app = build_app()
    OIDCAuth(app, secret_key=SECRET)
    page = app.server.test_client().get("/oidc/login")
    assert page.status_code == 503 and "No sign-in provider is configured" in body(page)


def test_sign_out_pages_and_the_components_logout_url(idp, make_app):
    app, _auth = make_app(idp)
    client = app.server.test_client()
    sign_in(client)
    info = client.get("/_dash-auth/session").get_json()
    assert info["user"]["name"] == "Alice Liddell" and info["user"]["groups"] == ["staff", "readers"]
    assert info["logout_url"] == "/oidc/logout"  # the OIDC route: it continues at the provider
    confirm = client.get("/oidc/logout", headers=DE)
    assert "Abmelden?" in body(confirm) and 'id="oidc-logout"' in body(confirm)
    forged = client.post("/oidc/logout", data={"csrf_token": "x" * 43})
    assert forged.status_code == 403 and 'role="alert"' in body(forged)
    done = client.post("/oidc/logout", data={info["csrf_field"]: info["csrf_token"]})
    assert done.status_code == 303 and "/oauth2/end_session" in done.headers["Location"]
    back = client.get("/oidc/logged-out", headers=DE)
    assert back.status_code == 200 and "Sie sind abgemeldet." in body(back) and 'id="oidc-signed-out"' in body(back)
    assert client.get("/_dash-auth/session").get_json()["user"] is None
