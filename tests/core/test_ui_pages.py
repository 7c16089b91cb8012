"""The core's built-in pages on every backend: templates, escaping, overrides, language, theme.

Pages here: the sign-out confirmation and signed-out pages, 401 and 403 (the
core's fallback challenge), 429 and 503 (a refused page request), the session
and sign-in routes the components use, and the components' script and CSS.
"""

from __future__ import annotations

import logging
import re

import pytest
from dash import html
from helpers import SECRET

import dash_auth_core
from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack, BadRequest, ConfigurationError, Identity
from dash_auth_core.testing import basic_header, client_for, make_dash
from dash_auth_core.ui import Theme

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ALICE = basic_header("alice", "wonderland")
EVIL = '<script>alert("x")</script>'


def text(response) -> str:
    return response.get_data(as_text=True)


class Deny:
    """Signs in whoever the test names (a header) and denies every page (for the 403)."""

    def __init__(self, name: str = "alice", groups: tuple[str, ...] = ()):
        self.name, self.groups = name, groups

    @dash_auth_core.hookimpl
    def authenticate(self, request):
        if request.header("X-Test-User") == "1":
            return Identity(id="u1", name=self.name, groups=self.groups, provider="test")
        return None

    @dash_auth_core.hookimpl
    def authorize(self, identity, resource):
        return False if identity is not None and resource.kind.value == "page" else None


class Refuse:
    """Refuses every request with the status its header asks for (as throttles and stores do)."""

    @dash_auth_core.hookimpl
    def authenticate(self, request):
        status = request.header("X-Refuse")
        if status:
            raise BadRequest("refused <b>now</b>", int(status), {"Retry-After": "125"} if status == "429" else {})
        return None


def plain_app(**options):
    """An app with the core alone (no provider offers a login): the core's own 401 and 403."""
    app = make_dash(__name__, title="Quarterly <Reports>")
    app.layout = html.Div("the app")
    AuthStack.of(app, secret_key=SECRET, **options)
    return app


def basic_app(**options):
    app = make_dash(__name__)
    app.layout = html.Div("the app")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET, **options)
    return app


# -- the pages ------------------------------------------------------------------


def test_sign_out_confirmation_is_a_themed_form_with_the_csrf_token():
    app = basic_app()
    client = client_for(app)
    assert client.get("/", headers=ALICE).status_code == 200
    page = client.get("/logout")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body = text(page)
    assert '<html lang="en"' in body and "<title>Sign out? · Dash</title>" in body
    assert re.search(r'<form method="post" action="/logout">', body)
    assert TOKEN_RE.search(body)
    assert "You are signed in as alice." in body
    assert "--dash-auth-primary" in body and "prefers-color-scheme: dark" in body


def test_a_forged_sign_out_gets_the_form_again_with_an_alert_and_signs_nobody_out():
    app = basic_app()
    client = client_for(app)
    client.get("/", headers=ALICE)
    refused = client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    body = text(refused)
    assert 'role="alert"' in body and "did not come from this site" in body
    assert TOKEN_RE.search(body)  # a real form to confirm with
    with client.session_transaction() as session:
        assert session.get("user", {}).get("id") == "alice"


def test_signed_out_page_has_the_snippets_and_clears_the_cache():
    app = basic_app()
    client = client_for(app)
    client.get("/", headers=ALICE)
    token = TOKEN_RE.search(text(client.get("/logout"))).group(1)
    done = client.post("/logout", data={"csrf_token": token})
    assert done.status_code == 200 and done.headers["Clear-Site-Data"] == '"cache"'
    body = text(done)
    assert "You are signed out." in body and 'id="dash-auth-signed-out"' in body
    assert "XMLHttpRequest" in body  # Basic's credential-forgetting script, unescaped
    assert "signed in as" not in body


def test_401_page_of_the_core_and_of_basic():
    plain = client_for(plain_app()).get("/", headers={"Accept": "text/html"})
    assert plain.status_code == 401
    assert "You need to sign in to open this page." in text(plain)
    assert "Quarterly &lt;Reports&gt;" in text(plain)  # the app's title, escaped
    prompt = client_for(basic_app()).get("/reports?x=1")
    assert prompt.status_code == 401 and prompt.headers["WWW-Authenticate"].startswith("Basic realm=")
    body = text(prompt)
    assert "needs a username and password" in body
    assert 'href="/reports?x=1"' in body  # "Try again" reloads the page asked for


def test_403_page_names_the_user_escaped_and_offers_to_sign_out():
    app = plain_app()
    AuthStack.of(app).register(Deny(name=EVIL))
    page = client_for(app).get("/", headers={"X-Test-User": "1"})
    assert page.status_code == 403
    body = text(page)
    assert EVIL not in body and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
    assert 'action="/logout"' in body and TOKEN_RE.search(body)


@pytest.mark.parametrize("status", [429, 503])
def test_a_refused_page_request_gets_a_page_and_callbacks_keep_json(status):
    app = plain_app()
    AuthStack.of(app).register(Refuse())
    client = client_for(app)
    page = client.get("/", headers={"X-Refuse": str(status), "Accept": "text/html,*/*;q=0.8"})
    assert page.status_code == status and page.headers["Content-Type"].startswith("text/html")
    body = text(page)
    assert "<b>now</b>" not in body
    if status == 429:
        assert page.headers["Retry-After"] == "125"
        assert "Try again in 3 minutes." in body
    else:
        assert "Sign-in unavailable" in body
    script = client.get("/", headers={"X-Refuse": str(status)})  # no text/html: a script
    assert script.status_code == status and script.is_json


# -- escaping, overrides and failures -------------------------------------------------


def test_a_template_override_by_name_replaces_the_page(tmp_path):
    (tmp_path / "logout_confirm.html").write_text(
        '{% extends "base.html" %}{% block title %}Leaving?{% endblock %}'
        '{% block content %}<p id="mine">{{ user.display_name }}</p>'
        '<form method="post" action="{{ action }}"><input type="hidden" name="{{ csrf_field }}" '
        'value="{{ csrf_token }}"><button>Bye</button></form>{% endblock %}'
    )
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, {EVIL: "pw"}, secret_key=SECRET, templates_folder=str(tmp_path))
    client = client_for(app)
    client.get("/", headers=basic_header(EVIL, "pw"))
    body = text(client.get("/logout"))
    assert '<p id="mine">&lt;script&gt;' in body and "Leaving? · Dash" in body
    assert "Sign out?" not in body


@pytest.mark.parametrize("broken", [
    "{% extends 'base.html' %}{% block content %}{{ 1 / 0 }}{% endblock %}",  # fails while rendering
    "{% extends 'base.html' %}{% block content %}{% if %}{% endblock %}",  # not even a template
    "{% extends 'missing.html' %}",
])
def test_a_broken_override_logs_and_falls_back_to_the_built_in_page(tmp_path, caplog, broken):
    (tmp_path / "logout_confirm.html").write_text(broken)
    app = basic_app(templates_folder=tmp_path)
    client = client_for(app)
    client.get("/", headers=ALICE)
    with caplog.at_level(logging.ERROR, logger="dash_auth"):
        page = client.get("/logout")
    assert page.status_code == 200 and "Sign out?" in text(page) and TOKEN_RE.search(text(page))
    assert any("logout_confirm.html" in r.getMessage() and "templates_folder" in r.getMessage() for r in caplog.records)


def test_a_broken_base_override_falls_back_too_and_the_status_stays(tmp_path, caplog):
    (tmp_path / "base.html").write_text("{{ nothing.here() }}")
    app = plain_app(templates_folder=str(tmp_path))
    with caplog.at_level(logging.ERROR, logger="dash_auth"):
        page = client_for(app).get("/")
    assert page.status_code == 401 and "You need to sign in" in text(page)
    assert caplog.records


def test_templates_folder_must_exist(tmp_path):
    with pytest.raises(ConfigurationError, match="templates_folder"):
        plain_app(templates_folder=str(tmp_path / "nope"))


# -- language ---------------------------------------------------------------------


@pytest.mark.parametrize(("header", "expected", "phrase"), [
    ("de-DE,de;q=0.9,en;q=0.8", "de", "Abmelden?"),
    ("fr-CH, fr;q=0.9, de;q=0.5", "de", "Abmelden?"),  # no French: the next choice
    ("fr, es;q=0.5", "en", "Sign out?"),  # nothing we have: English
    ("de;q=0, en", "en", "Sign out?"),  # q=0 means "not this one"
    ("*", "en", "Sign out?"),
    ("x" * 5000, "en", "Sign out?"),
    (";;;,q=2,de;q=abc,<b>", "en", "Sign out?"),
])
def test_the_language_follows_accept_language(header, expected, phrase):
    app = basic_app()
    client = client_for(app)
    client.get("/", headers=ALICE)
    page = client.get("/logout", headers={"Accept-Language": header})
    assert page.status_code == 200 and page.headers["Content-Language"] == expected
    assert f'<html lang="{expected}"' in text(page) and phrase in text(page)


def test_the_app_can_fix_or_choose_the_language(caplog):
    fixed = basic_app(language="de")
    client = client_for(fixed)
    client.get("/", headers=ALICE)
    assert "Abmelden?" in text(client.get("/logout", headers={"Accept-Language": "en"}))

    chosen = []

    def pick(request):
        chosen.append(request.path)
        return request.args.get("lang")

    app = basic_app(language=pick)
    client = client_for(app)
    client.get("/", headers=ALICE)
    assert "Abmelden?" in text(client.get("/logout?lang=de"))
    assert "Sign out?" in text(client.get("/logout?lang=xx-unknown"))  # unknown: English
    assert "Abmelden?" in text(client.get("/logout", headers={"Accept-Language": "de"}))  # None: the browser's
    assert chosen

    def broken(request):
        raise RuntimeError("boom")

    app = basic_app(language=broken)
    client = client_for(app)
    client.get("/", headers=ALICE)
    with caplog.at_level(logging.ERROR, logger="dash_auth"):
        page = client.get("/logout", headers={"Accept-Language": "de"})
    assert page.status_code == 200 and "Abmelden?" in text(page)
    with pytest.raises(ConfigurationError, match="language"):
        basic_app(language="<not a tag>")


# -- theme ----------------------------------------------------------------------------


def test_theme_title_logo_colours_and_css_reach_the_page():
    theme = Theme(title="Finance", logo='/assets/logo.svg?"x', primary_color="#7b2cbf",
                  css=":root{--dash-auth-radius:0}</style><script>alert(1)</script>")
    app = plain_app(theme=theme)
    body = text(client_for(app).get("/"))
    assert "<title>Sign-in required · Finance</title>" in body
    assert 'src="/assets/logo.svg?&#34;x"' in body
    assert "--dash-auth-primary:#7b2cbf" in body and "--dash-auth-on-primary:#ffffff" in body
    assert "--dash-auth-radius:0" in body
    assert "</style><script>" not in body


def test_theme_colour_scheme_and_dict_form():
    app = plain_app(theme={"color_scheme": "dark", "primary_color": "#ffd166"})
    body = text(client_for(app).get("/"))
    assert 'name="color-scheme" content="dark"' in body and "prefers-color-scheme" not in body
    assert "--dash-auth-primary:#ffd166" in body and "--dash-auth-on-primary:#000000" in body


@pytest.mark.parametrize("bad", [
    {"primary_color": "red;}body{display:none"},
    {"primary_color": "#12"},
    {"color_scheme": "sepia"},
    {"nope": 1},
    {"css": 3},
])
def test_bad_theme_values_fail_at_start_up(bad):
    with pytest.raises(ConfigurationError):
        plain_app(theme=bad)


# -- the components' routes ---------------------------------------------------------


def test_session_route_for_visitors_creates_no_session():
    app = basic_app()
    client = client_for(app, use_cookies=False)
    answer = client.get("/_dash-auth/session", headers={"Accept-Language": "de"})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    data = answer.get_json()
    assert data["user"] is None and "csrf_token" not in data
    assert data["labels"]["sign_in"] == "Anmelden" and data["login_url"] == "/_dash-auth/sign-in"
    assert "Set-Cookie" not in answer.headers


def test_session_route_for_a_user_has_the_name_groups_and_the_logout_token():
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET, user_groups={"alice": ["<admins>", "ops"]})
    client = client_for(app)
    data = client.get("/_dash-auth/session", headers=ALICE).get_json()
    assert data["user"] == {"name": "alice", "email": "alice", "groups": ["<admins>", "ops"]}
    assert data["logout_url"] == "/logout"
    # The token signs out for real.
    done = client.post("/logout", data={data["csrf_field"]: data["csrf_token"]})
    assert done.status_code == 200 and "You are signed out." in text(done)


def test_sign_in_route_challenges_visitors_and_sends_users_on_safely():
    app = basic_app()
    client = client_for(app)
    assert client.get("/_dash-auth/sign-in?next=/reports").status_code == 401  # Basic's prompt
    hop = client.get("/_dash-auth/sign-in?next=/reports%3Fa%3D1", headers=ALICE)
    assert hop.status_code == 303 and hop.headers["Location"] == "/reports?a=1"
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil", "javascript:alert(1)"):
        hop = client.get("/_dash-auth/sign-in", query_string={"next": evil}, headers=ALICE)
        assert hop.headers["Location"] == "/", evil


def test_stylesheet_route_carries_the_theme():
    app = plain_app(theme=Theme(primary_color="#0b6e4f"))
    sheet = client_for(app).get("/_dash-auth/ui.css")
    assert sheet.status_code == 200 and sheet.headers["Content-Type"].startswith("text/css")
    assert ".dash-auth-logout-button" in text(sheet) and "--dash-auth-primary:#0b6e4f" in text(sheet)


def test_components_script_is_in_the_index_with_the_prefixed_urls():
    app = make_dash(__name__, url_base_pathname="/app/")
    app.layout = html.Div("x")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
    index = text(client_for(app).get("/app/", headers=ALICE))
    assert '"session": "/app/_dash-auth/session"' in index
    assert '"css": "/app/_dash-auth/ui.css"' in index and '"logout": "/app/logout"' in index
    assert client_for(app).get("/app/_dash-auth/session").status_code == 200


# -- bad input at the new routes ------------------------------------------------------


def test_session_route_with_a_tampered_cookie_is_anonymous_and_other_methods_are_refused():
    app = basic_app()
    client = client_for(app)
    client.get("/", headers=ALICE)
    cookie = client.get_cookie("session")
    client.set_cookie("session", cookie.value[:-4] + "AAAA")
    data = client.get("/_dash-auth/session").get_json()
    assert data["user"] is None and "csrf_token" not in data
    assert client.post("/_dash-auth/session", data={"x": "1"}).status_code == 405


def test_sign_in_route_with_junk_next_values_never_fails():
    app = basic_app()
    client = client_for(app)
    for junk in ("", "%00", "/\r\nSet-Cookie: x=1", "/" + "a" * 5000, "/../../etc/passwd"):
        hop = client.get("/_dash-auth/sign-in", query_string={"next": junk}, headers=ALICE)
        assert hop.status_code == 303 and hop.headers["Location"] == "/", junk


def _origins_of_links(body: str, base: str) -> set[str]:
    """The origins the page's links lead to, as a browser resolves them (``\\`` is ``/`` in http URLs)."""
    from urllib.parse import urljoin, urlsplit

    found = set()
    for href in re.findall(r'href="([^"]*)"', body):
        resolved = urljoin(base, href.replace("&amp;", "&").replace("\\", "/"))
        parts = urlsplit(resolved)
        found.add(f"{parts.scheme}://{parts.netloc}")
    return found


@pytest.mark.parametrize("prefix", ["/", "/app/"])
@pytest.mark.parametrize("path", ["/%5Cevil.example/x", "/%2Fevil.example/x", "/%5C%5Cevil.example"])
def test_try_again_links_never_lead_to_another_site(prefix, path):
    """The 401 and 429 pages' "Try again" reloads the path asked for: a path that a browser reads
    as another host (``/\\evil.example``, ``//evil.example``) must not become that link."""
    app = make_dash(__name__, url_base_pathname=prefix)
    app.layout = html.Div("the app")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
    AuthStack.of(app).register(Refuse())
    client = client_for(app)
    for headers in ({"Accept": "text/html"}, {"Accept": "text/html", "X-Refuse": "429"}):
        for asked in (path, prefix.rstrip("/") + path):
            page = client.get(asked, headers=headers)
            assert page.status_code in (401, 429), asked
            assert _origins_of_links(text(page), "http://localhost/") == {"http://localhost"}, (asked, text(page))
