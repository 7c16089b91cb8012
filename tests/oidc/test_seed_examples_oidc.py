"""The seed READMEs' OIDC examples, kept under examples/, against a real provider on 127.0.0.1.

The READMEs tell the reader to replace the placeholder client id, secret and
discovery URL with their provider's: the tests do that and nothing else.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from oidc_support import CLIENT_ID, CLIENT_SECRET, authorize, path_of, sign_in
from seed_examples import load_example

from dash_auth_core import ConfigurationError
from dash_auth_core.testing import client_for, stop_all


@pytest.fixture(autouse=True)
def _stop_asgi_apps():
    yield
    stop_all()  # the ASGI apps these examples start (their backend is in the example)


def provider_values(idp, suffix=""):
    return {
        f"<my-client-id{suffix}>": CLIENT_ID,
        f"<my-client-secret{suffix}>": CLIENT_SECRET,
        f"<my-idp{suffix}-.well-known-configuration>": idp.metadata_url,
    }


def test_oidc_example_redirects_to_the_provider_and_signs_in(idp):
    """"Once this is done, connecting to your app will automatically redirect to the IDP login page"."""
    app = load_example("seed_oidc.py", replace=provider_values(idp))["app"]
    client = client_for(app)
    first = client.get("/")
    assert first.status_code == 302 and first.headers["Location"] == "/oidc/idp/login?next=/"
    to_provider = client.get(first.headers["Location"])
    assert to_provider.status_code == 302 and to_provider.headers["Location"].startswith(idp.url)
    dance = sign_in(client_for(app), "/")
    assert dance.response.status_code == 302 and dance.response.headers["Location"] == "/"


def test_oidc_example_with_its_placeholders_fails_at_start_up():
    """A deliberate difference: the discovery document is read when the provider is registered."""
    with pytest.raises(ConfigurationError):
        load_example("seed_oidc.py")


def test_multiple_providers_example(idp, idp2):
    values = {**provider_values(idp), **provider_values(idp2, "2")}
    values["<my-idp2-.well-known-configuration>"] = idp2.metadata_url
    app = load_example("seed_oidc_multiple.py", replace=values)["app"]
    client = client_for(app)
    first = client.get("/reports")
    assert first.status_code == 302 and urlsplit(first.headers["Location"]).path == "/login"
    chooser = client.get("/login")
    assert chooser.status_code == 200 and b'<option value="IDP 2">' in chooser.data
    picked = client.get("/login?idp=IDP 2")
    assert picked.status_code == 302
    to_provider = client.get(path_of(picked.headers["Location"]))
    assert to_provider.headers["Location"].startswith(idp2.url)
    done = client.get(path_of(authorize(to_provider.headers["Location"], "carol")))
    assert done.status_code == 302 and done.headers["Location"] == "/reports"  # the page asked for first
    assert client.get("/reports").status_code == 200


def test_mixed_logins_example(idp):
    app = load_example("seed_oidc_mixed_logins.py", replace=provider_values(idp))["app"]
    # The local form: any name and password, as in the README.
    local = client_for(app)
    assert local.get("/").status_code == 302
    answer = local.post("/login", data={"user": "dave", "password": "anything"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert local.get("/").status_code == 200
    assert b"Hello dave!" in local.get("/_dash-layout").data  # Flask-Login's current_user
    # OIDC through the same selection route; login_user_callback writes the session and the groups.
    client = client_for(app)
    to_idp = client.post("/login", data={"IDP 1": "true"})
    assert to_idp.status_code == 302
    to_provider = client.get(path_of(to_idp.headers["Location"]))
    done = client.get(path_of(authorize(to_provider.headers["Location"], "alice")))
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert b"Hello alice@example.org!" in client.get("/_dash-layout").data
    with client.session_transaction() as session:
        assert session["user"]["groups"] == ["this", "is", "a", "testing"]


@pytest.mark.parametrize("backend_name", ["quart", "fastapi"])
def test_async_backend_oidc_examples(idp, backend_name):
    """dash-auth-async: "BasicAuth and OIDCAuth work exactly as on Flask" on Quart and FastAPI."""
    env = {"OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_METADATA_URL": idp.metadata_url}
    app = load_example(f"seed_async_{backend_name}_oidc.py", env=env)["app"]
    assert app.backend.server_type == backend_name
    client = client_for(app)
    first = client.get("/")
    assert first.status_code == 302 and first.headers["Location"] == "/oidc/myidp/login?next=/"
    dance = sign_in(client, "/")
    assert dance.authorize_params["scope"] == "openid email profile"
    assert dance.response.status_code == 302 and client.get("/").status_code == 200
    assert b"OIDCAuth + " in client.get("/_dash-layout").data


@pytest.mark.parametrize("example", ["seed_async_proxy_flask.py", "seed_async_proxy_quart.py"])
def test_reverse_proxy_examples(idp, example):
    """Behind a proxy the redirect URI carries the public host and scheme the proxy-fix restores;
    without one, a client's X-Forwarded-Host is not trusted."""
    env = {"OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_METADATA_URL": idp.metadata_url}
    app = load_example(example, env=env)["app"]
    client = client_for(app)
    forwarded = {"X-Forwarded-Host": "dash.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    to_provider = client.get("/oidc/idp/login", headers=forwarded)
    redirect_uri = parse_qs(urlsplit(to_provider.headers["Location"]).query)["redirect_uri"][0]
    assert redirect_uri == "https://dash.example.org/oidc/idp/callback"


@pytest.mark.parametrize("example", ["seed_async_proxy_flask.py"])
def test_without_the_proxy_fix_the_forwarded_host_is_ignored(idp, example):
    env = {"OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_METADATA_URL": idp.metadata_url}
    app = load_example(example, env=env,
                       replace={"app.server.wsgi_app = ProxyFix(": "unused = (lambda *a, **k: None)("})["app"]
    to_provider = client_for(app).get("/oidc/idp/login", headers={"X-Forwarded-Host": "evil.example"})
    redirect_uri = parse_qs(urlsplit(to_provider.headers["Location"]).query)["redirect_uri"][0]
    assert "evil.example" not in redirect_uri and redirect_uri.startswith("https://localhost/")
