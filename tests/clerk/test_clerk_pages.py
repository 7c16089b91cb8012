"""Clerk's pages come from templates: themed, in the user's language, escaped, replaceable by name.

The embedded sign-in page, the callback page, the error and unavailable pages
of a sign-in that did not complete, and ``/clerk/signed-out`` without a
``logout_page`` are rendered through ``dash_auth_core.ui`` on every backend.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from dash import Input, Output, html

from dash_auth_core.testing import callback_body, client_for
from dash_auth_core.ui import Theme

from .test_clerk_flow import signed_in

GERMAN = {"Accept": "text/html", "Accept-Language": "de-DE,de;q=0.9"}


@pytest.fixture(autouse=True)
def _on_every_backend(backend):
    return backend


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_the_embedded_sign_in_page_is_themed_and_translated(make_app, clerk):
    app, _ = make_app(dash_kwargs={"title": "Quarterly <Reports>"}, sign_in="embedded",
                      theme=Theme(primary_color="#6d28d9"))
    client = client_for(app)
    page = client.get("/clerk/sign-in?next=/reports", headers=GERMAN)
    text = text_of(page)
    assert page.status_code == 200 and page.headers["Content-Language"] == "de"
    assert '<html lang="de"' in text
    assert "<title>Anmelden · Quarterly &lt;Reports&gt;</title>" in text  # the app's title, escaped
    assert "#6d28d9" in text and "dash-auth-card" in text  # the theme and the frame of every page
    assert 'data-dash-auth-clerk-page' in text and "mountSignIn" in text
    assert f'data-clerk-publishable-key="{clerk.publishable_key}"' in text
    assert 'data-callback="/clerk/callback"' in text and 'src="/clerk/listener.js"' in text
    # The listener's messages, in German, wait on the error element.
    assert 'data-rejected="Die Anmeldung wurde nicht angenommen."' in text
    assert "Für die Anmeldung wird JavaScript benötigt." in text  # <noscript>
    english = text_of(client.get("/clerk/sign-in"))
    assert "<title>Sign in · Quarterly &lt;Reports&gt;</title>" in english
    assert 'data-absent="You are not signed in at Clerk."' in english


def test_the_callback_page_is_translated(make_app, clerk):
    app, _ = make_app()
    page = client_for(app).get("/clerk/callback?next=/reports", headers=GERMAN)
    text = text_of(page)
    assert page.status_code == 200 and "data-dash-auth-clerk-callback" in text
    assert "Sie werden angemeldet" in text and "<title>Anmeldung läuft · " in text
    # The hidden "sign in again" link leads back through the login route, to the page asked for.
    assert re.search(r'<p id="clerk-sign-in-again" hidden><a class="dash-auth-button" '
                     r'href="/clerk/login\?next=/reports">Erneut anmelden</a>', text)


def test_a_refused_sign_in_gets_the_error_page_in_the_users_language(make_app, clerk):
    app, _ = make_app()
    client = client_for(app)
    sid = clerk.create_session("user_alice")
    # A callback POST without this session's CSRF token: refused (403), with a page or JSON.
    page = client.post("/clerk/callback", data={"token": clerk.token(sid), "state": "forged", "next": "/reports"},
                       headers=GERMAN)
    text = text_of(page)
    assert page.status_code == 403
    assert "Anmeldung konnte nicht abgeschlossen werden" in text  # the heading
    assert "Diese Anmeldung kam nicht von einer Seite dieser Website." in text
    assert 'id="clerk-retry" href="/clerk/login?next=/reports"' in text
    answer = client.post("/clerk/callback", data={"token": clerk.token(sid), "state": "forged"},
                         headers={"Accept": "application/json", "Accept-Language": "de"})
    assert answer.status_code == 403 and answer.get_json()["error"] == "BadCallback"
    assert answer.get_json()["message"].startswith("Diese Anmeldung kam nicht")  # shown by the listener


def test_what_the_error_page_shows_is_escaped(make_app, clerk):
    def refuse(user):
        from dash_auth_clerk import LoginRefused

        raise LoginRefused("<b>Bob</b> & co may not use this app.")

    app, _ = make_app(login_user_callback=refuse)
    client = client_for(app)
    client.set_cookie("__session", clerk.token(clerk.create_session("user_bob")))
    page = client.get("/clerk/callback?next=" + quote('/reports?q="><script>alert(1)</script>', safe=""))
    text = text_of(page)
    assert page.status_code == 403
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; co may not use this app." in text and "<b>Bob" not in text
    assert "<script>alert(1)" not in text
    assert 'href="/clerk/login?next=/reports%3Fq%3D%22%3E%3Cscript%3E' in text  # the page asked for, encoded


def test_an_unreachable_clerk_gets_the_unavailable_page(make_app, clerk):
    app, _ = make_app(api_timeout=0.5)
    client = client_for(app)
    client.set_cookie("__session", clerk.token(clerk.create_session("user_alice")))
    clerk.mode = "error"
    page = client.get("/clerk/callback?next=/reports", headers=GERMAN)
    text = text_of(page)
    assert page.status_code == 424 and page.headers["Retry-After"] == "30"
    assert "Anmeldedienst nicht erreichbar" in text  # the heading
    assert "Clerk ist gerade nicht verfügbar." in text and "Versuchen Sie es in 30 Sekunden erneut." in text


def test_an_apps_template_replaces_the_embedded_page(make_app, clerk, tmp_path):
    (tmp_path / "clerk_sign_in.html").write_text(
        '{% extends "base.html" %}{% block title %}Welcome back{% endblock %}'
        '{% block content %}<div id="clerk-sign-in" data-dash-auth-clerk-page></div>'
        '{% include "clerk_scripts.html" %}{% endblock %}'
    )
    app, _ = make_app(sign_in="embedded", templates_folder=str(tmp_path))
    text = text_of(client_for(app).get("/clerk/sign-in"))
    assert "<title>Welcome back · " in text and 'src="/clerk/listener.js"' in text


def test_the_signed_out_route_without_a_logout_page(make_app, clerk):
    app, _ = make_app(logout_page=lambda: None)  # a page function that answers nothing usable
    signed_in(clerk, app)
    page = client_for(app).get("/clerk/signed-out", headers=GERMAN)
    text = text_of(page)
    assert page.status_code == 200 and "Sie sind abgemeldet." in text and "dash-auth-card" in text
    assert "signOut" not in text and "/clerk/signed-out" not in text  # Clerk's snippet would come back here
    assert page.headers["Cache-Control"] == "no-store"


def test_clerk_auth_has_the_user_data_helpers(make_app, clerk):
    """PlotlyAuth's helpers on the front door, as on BasicAuth and OIDCAuth (docs/migrating.md)."""
    app, auth = make_app()
    app.layout.children.append(html.Div(id="data"))

    @app.callback(Output("data", "children"), Input("btn", "n_clicks"))
    def data(_n):
        auth.set_user_data({"theme": "dark"})
        return f"{auth.get_username()}|{auth.get_user_data()['theme']}"

    client, _ = signed_in(clerk, app)
    answer = client.post("/_dash-update-component", json=callback_body(app, "data.children", [1]))
    assert answer.status_code == 200 and "user_alice|dark" in answer.get_data(as_text=True)


def test_every_refusal_of_a_callback_is_json_within_the_plugin_contract(make_app, clerk, caplog):
    """The challenge contract: a JSON resource gets JSON 4xx/5xx (from Clerk's ``challenge`` or, when
    it returns ``None``, from the core), never a redirect or a page, and no contract breach is logged."""
    from .test_clerk_flow import Clock

    app, auth = make_app(session_check_interval=30, api_timeout=0.5)
    clock = Clock()
    auth.plugin.clock = clock
    body = callback_body(app, "out.children", [1])
    html_accept = {"Accept": "text/html,application/xhtml+xml"}  # a browser's header must not turn it into a page
    answers = {}
    with caplog.at_level("ERROR", logger="dash_auth"):
        answers["anonymous"] = client_for(app).post("/_dash-update-component", json=body, headers=html_accept)
        answers["bad bearer"] = client_for(app, use_cookies=False).post(
            "/_dash-update-component", json=body, headers={"Authorization": "Bearer " + "x" * 40, **html_accept})
        forged = clerk.token(clerk.create_session("user_bob"), lifetime=-120)
        answers["expired bearer"] = client_for(app, use_cookies=False).post(
            "/_dash-update-component", json=body, headers={"Authorization": f"Bearer {forged}", **html_accept})
        client, sid = signed_in(clerk, app)
        clerk.mode = "error"
        clock.advance(61)
        answers["outage"] = client.post("/_dash-update-component", json=body, headers=html_accept)
        clerk.mode = "up"
        ended, _ = signed_in(clerk, app, user="user_bob")
        ended.delete_cookie("__session")  # signed out of Clerk in this browser
        answers["ended"] = ended.post("/_dash-update-component", json=body, headers=html_accept)
    for name, answer in answers.items():
        assert answer.status_code in (401, 503), (name, answer.status_code)
        assert answer.headers["Content-Type"].startswith("application/json"), name
        assert "error" in answer.get_json(), name
    assert answers["expired bearer"].headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert answers["anonymous"].get_json()["login_url"] == "/clerk/login"
    assert answers["outage"].get_json()["error"] == "clerk_unavailable"
    assert "outside the contract" not in caplog.text
