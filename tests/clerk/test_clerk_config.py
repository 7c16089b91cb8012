"""Start-up: Clerk's keys from arguments or the environment, and clear errors naming the variable."""

from __future__ import annotations

import base64

import pytest
from dash import html

from dash_auth_clerk import ClerkAuth
from dash_auth_clerk.config import frontend_api_host, load, sign_in_url_for
from dash_auth_core import ConfigurationError
from dash_auth_core.testing import make_dash

PK = "pk_test_" + base64.b64encode(b"happy-cat-12.clerk.accounts.dev$").decode()
SK = "sk_test_" + "a" * 40


def _load(**env):
    return load(environ={"CLERK_SECRET_KEY": SK, "CLERK_PUBLISHABLE_KEY": PK, **env})


def test_the_defaults_follow_the_publishable_key():
    config = _load()
    assert config.frontend_host == "happy-cat-12.clerk.accounts.dev"
    assert config.issuer == "https://happy-cat-12.clerk.accounts.dev"
    assert config.sign_in_url == "https://happy-cat-12.accounts.dev/sign-in"
    assert config.api_url == "https://api.clerk.com"
    assert config.clerk_js_url == "https://happy-cat-12.clerk.accounts.dev/npm/@clerk/clerk-js@5/dist/clerk.browser.js"
    assert config.jwt_key is None and config.allowed_parties is None


def test_production_keys_and_domains():
    pk = "pk_live_" + base64.b64encode(b"clerk.example.com$").decode()
    config = load(environ={"CLERK_SECRET_KEY": "sk_live_" + "b" * 40, "CLERK_PUBLISHABLE_KEY": pk})
    assert config.sign_in_url == "https://accounts.example.com/sign-in"
    assert sign_in_url_for("example.com", "clerk.example.com") == "https://accounts.example.com/sign-in"
    assert sign_in_url_for("https://accounts.your-app.clerk.accounts.dev", "x") == \
        "https://accounts.your-app.clerk.accounts.dev/sign-in"
    assert frontend_api_host("pk_test_" + base64.b64encode(b"127.0.0.1:8080$").decode().rstrip("=")) == "127.0.0.1:8080"


def test_arguments_win_over_the_environment():
    config = load(secret_key=SK, publishable_key=PK, api_url="http://127.0.0.1:9/", allowed_parties=["https://a.example"],
                  environ={"CLERK_SECRET_KEY": "garbage", "CLERK_API_URL": "also garbage"})
    assert config.api_url == "http://127.0.0.1:9" and config.allowed_parties == ("https://a.example",)


@pytest.mark.parametrize(("env", "message"), [
    ({"CLERK_SECRET_KEY": None}, "CLERK_SECRET_KEY is not set"),
    ({"CLERK_SECRET_KEY": ""}, "CLERK_SECRET_KEY is not set"),
    ({"CLERK_SECRET_KEY": "aStaticSecretKey!"}, "CLERK_SECRET_KEY is malformed"),
    ({"CLERK_SECRET_KEY": "sk_test_short"}, "CLERK_SECRET_KEY is malformed"),
    ({"CLERK_PUBLISHABLE_KEY": None}, "CLERK_PUBLISHABLE_KEY is not set"),
    ({"CLERK_PUBLISHABLE_KEY": "pk_prod_abc"}, "CLERK_PUBLISHABLE_KEY is malformed"),
    ({"CLERK_PUBLISHABLE_KEY": "pk_test_!!!"}, "CLERK_PUBLISHABLE_KEY is malformed"),
    ({"CLERK_PUBLISHABLE_KEY": "pk_test_" + base64.b64encode(b"no-dollar.example").decode()},
     "CLERK_PUBLISHABLE_KEY is malformed"),
    ({"CLERK_PUBLISHABLE_KEY": "pk_test_" + base64.b64encode(b"a/b c$").decode()}, "CLERK_PUBLISHABLE_KEY is malformed"),
    ({"CLERK_PUBLISHABLE_KEY": "pk_live_" + base64.b64encode(b"clerk.example.com$").decode()}, "different instances"),
    ({"CLERK_JWT_KEY": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}, "CLERK_JWT_KEY is malformed"),
    ({"CLERK_API_URL": "ftp://api.example"}, "CLERK_API_URL must be an http"),
    ({"CLERK_ALLOWED_PARTIES": "https://ok.example,not a url"}, "CLERK_ALLOWED_PARTIES must be an http"),
    ({"CLERK_ALLOWED_PARTIES": "https://ok.example/with/path"}, "CLERK_ALLOWED_PARTIES must be an origin"),
    ({"CLERK_ALLOWED_PARTIES": " , "}, "names no origin"),
    ({"CLERK_DOMAIN": "not a domain"}, "CLERK_DOMAIN must be"),
])
def test_missing_or_malformed_keys_name_the_variable(env, message):
    base = {"CLERK_SECRET_KEY": SK, "CLERK_PUBLISHABLE_KEY": PK}
    base.update(env)
    with pytest.raises(ConfigurationError, match=message):
        load(environ={k: v for k, v in base.items() if v is not None})


def test_the_jwt_key_may_be_one_line(standin):
    one_line = standin.jwt_key.replace("\n", "\\n")
    assert _load(CLERK_JWT_KEY=one_line).jwt_key == standin.jwt_key


def test_clerk_auth_fails_at_start_up(monkeypatch):
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", PK)
    app = make_dash(__name__)
    app.layout = html.Div("x")
    with pytest.raises(ConfigurationError, match="CLERK_SECRET_KEY"):
        ClerkAuth(app, secret_key="aStaticSecretKey!")
    monkeypatch.setenv("CLERK_SECRET_KEY", SK)
    for bad in ({"sign_in": "elsewhere"}, {"session_check_interval": 0}, {"api_timeout": 0},
                {"user_groups": ["admin"]}, {"login_user_callback": "nope"}):
        with pytest.raises(ConfigurationError):
            ClerkAuth(make_dash(__name__), secret_key="aStaticSecretKey!", **bad)


def test_one_clerk_auth_per_app_and_no_pages_under_its_routes(monkeypatch):
    monkeypatch.setenv("CLERK_SECRET_KEY", SK)
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", PK)
    app = make_dash(__name__)
    app.layout = html.Div("x")
    ClerkAuth(app, secret_key="aStaticSecretKey!")
    with pytest.raises(ConfigurationError, match="already has a ClerkAuth"):
        ClerkAuth(app, secret_key="aStaticSecretKey!")
    import dash

    pages_app = make_dash(__name__, use_pages=True, pages_folder="")
    dash.register_page("clash", path="/clerk/profile", layout=html.Div("x"))
    with pytest.raises(ConfigurationError, match="under the Clerk routes"):
        ClerkAuth(pages_app, secret_key="aStaticSecretKey!")


def test_a_session_secret_is_required(monkeypatch):
    monkeypatch.setenv("CLERK_SECRET_KEY", SK)
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", PK)
    app = make_dash(__name__)
    app.layout = html.Div("x")
    with pytest.warns(RuntimeWarning), pytest.raises(ConfigurationError, match="needs a fixed"):
        ClerkAuth(app)
