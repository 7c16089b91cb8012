"""Clerk in a real browser: headless Chromium, the app on 127.0.0.1, and the local stand-in for
Clerk's cloud (Account Portal, Frontend API, Backend API and a clerk-js stand-in that keeps the
``__session`` cookie fresh and tells listeners when the session changes, as the real one does).

The hosted sign-in, the embedded one (the built-in page and the seed's own Dash page with its
clientside mount), staying signed in across token refreshes, the app's logout (which signs the
browser out of Clerk too), a sign-out through Clerk's own API in the same browser, and a session
revoked at Clerk.
"""

from __future__ import annotations

import pathlib
import runpy
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from clerk_support import ClerkStandIn
from dash import Dash, Input, Output, dcc, html

from dash_auth_clerk import ClerkAuth
from dash_auth_core import current_user

pytestmark = pytest.mark.timeout(180)

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"
SECRET = "clerk-browser-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def standin() -> Iterator[ClerkStandIn]:
    clerk = ClerkStandIn(refresh_ms=1500)  # clerk-js refreshes about every 50 s; faster here
    clerk.add_user("alice", "alice@example.org", first_name="Alice", last_name="Liddell")
    clerk.add_user("bob", "bob@example.org", first_name="Bob")
    yield clerk
    clerk.stop()


@pytest.fixture
def clerk(standin: ClerkStandIn, monkeypatch: pytest.MonkeyPatch) -> ClerkStandIn:
    for name, value in standin.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLERK_JWT_KEY", raising=False)
    monkeypatch.delenv("CLERK_ALLOWED_PARTIES", raising=False)
    standin.mode = "up"
    return standin


def build_app(**options: Any) -> Dash:
    app = Dash(__name__)
    app.layout = html.Div([
        html.Div(id="whoami"),
        html.Button("private", id="private-button"),
        html.Div(id="private-out"),
        dcc.Link("Sign out", id="logout-link", href="/logout", refresh=True),
    ])

    @app.callback(Output("whoami", "children"), Input("whoami", "id"))
    def whoami(_id: str) -> str:
        user = current_user()
        return f"Signed in as {user.email}" if user else "anonymous"

    @app.callback(Output("private-out", "children"), Input("private-button", "n_clicks"), prevent_initial_call=True)
    def private(n: int) -> str:
        user = current_user()
        return f"{user.id} clicked {n}" if user else "nobody"

    ClerkAuth(app, secret_key=SECRET, **options)
    return app


def sign_in_at_the_portal(page: Any, clerk: ClerkStandIn, who: str) -> None:
    from selenium.webdriver.common.by import By

    page.wait(lambda d: d.current_url.startswith(clerk.url + "/sign-in?redirect_url="),
              lambda: f"not sent to the hosted sign-in; at {page.driver.current_url}")
    page.driver.find_element(By.ID, "identifier").send_keys(who)
    page.driver.find_element(By.ID, "continue").click()


def sign_in_on_the_mounted_form(page: Any, who: str) -> None:
    from selenium.webdriver.common.by import By

    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".cl-rootBox #clerk-identifier"),
              lambda: f"no Clerk sign-in form mounted at {page.driver.current_url}")
    page.driver.find_element(By.ID, "clerk-identifier").send_keys(who)
    page.driver.find_element(By.ID, "clerk-continue").click()


def latest_session(clerk: ClerkStandIn, user_id: str) -> str:
    return [s for s, v in clerk.sessions.items() if v["user_id"] == user_id][-1]


def session_cookie(page: Any) -> str | None:
    cookies = {c["name"]: c["value"] for c in page.driver.get_cookies()}
    return cookies.get("__session")


def test_hosted_sign_in_refresh_and_logout(clerk, serve, page):
    server = serve(build_app())
    page.attach(server)
    page.open("/reports?tab=2")
    sign_in_at_the_portal(page, clerk, "alice")
    page.wait(lambda d: d.current_url == server.url("/reports?tab=2"),
              lambda: f"did not land on the page asked for; at {page.driver.current_url}")
    page.wait_for_text("whoami", "Signed in as alice@example.org")
    assert page.driver.execute_script("return localStorage.getItem('clerk_logged_in')") == "true"
    assert page.driver.execute_script("return typeof window.Clerk.load") == "function"

    # clerk-js refreshes the short-lived token; the login goes on.
    first = session_cookie(page)
    page.wait(lambda d: session_cookie(page) not in (None, first), lambda: "the session token was never refreshed",
              timeout=15)
    page.find("private-button").click()
    page.wait_for_text("private-out", "user_alice clicked 1")

    # The app's logout: a confirmation form, then the browser is signed out of Clerk as well.
    sid = latest_session(clerk, "user_alice")
    page.find("logout-link").click()
    from selenium.webdriver.common.by import By

    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "form button[type=submit]"), lambda: "no sign-out form")
    page.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    page.wait(lambda d: "You are signed out" in page.body_text(), lambda: "no signed-out page")
    page.wait(lambda d: session_cookie(page) is None, lambda: "the __session cookie survived the sign-out")
    page.wait(lambda d: d.execute_script("return localStorage.getItem('clerk_logged_in')") == "false",
              lambda: "the clerk_logged_in flag was not reset")
    assert clerk.sessions[sid]["status"] in ("revoked", "ended")
    page.wait(lambda d: d.execute_script("return window.Clerk && window.Clerk.session") is None,
              lambda: "clerk-js still has a session")
    page.open("/reports")
    page.wait(lambda d: d.current_url.startswith(clerk.url + "/sign-in"),
              lambda: f"signed out, yet not asked to sign in; at {page.driver.current_url}")


def test_embedded_sign_in_page(clerk, serve, page):
    server = serve(build_app(sign_in="embedded"))
    page.attach(server)
    page.open("/reports")
    page.wait(lambda d: d.current_url == server.url("/clerk/sign-in?next=/reports"),
              lambda: f"not on the embedded sign-in page; at {page.driver.current_url}")
    sign_in_on_the_mounted_form(page, "bob")
    page.wait(lambda d: d.current_url == server.url("/reports"),
              lambda: f"did not continue to the page asked for; at {page.driver.current_url}")
    page.wait_for_text("whoami", "Signed in as bob@example.org")


def test_a_sign_out_through_clerk_in_the_same_browser(clerk, serve, page):
    server = serve(build_app(sign_in="embedded"))
    page.attach(server)
    page.open("/")
    sign_in_on_the_mounted_form(page, "alice")
    page.wait_for_text("whoami", "Signed in as alice@example.org")
    page.driver.execute_script("window.Clerk.signOut()")  # e.g. Clerk's <UserButton> "Sign out"
    page.wait(lambda d: d.current_url.startswith(server.url("/clerk/sign-in")),
              lambda: f"the app kept the login after Clerk's sign-out; at {page.driver.current_url}")


def test_a_session_revoked_at_clerk(clerk, serve, page):
    server = serve(build_app(sign_in="embedded", session_check_interval=2))
    page.attach(server)
    page.open("/")
    sign_in_on_the_mounted_form(page, "bob")
    page.wait_for_text("whoami", "Signed in as bob@example.org")
    sid = latest_session(clerk, "user_bob")
    clerk.revoke(sid)  # from Clerk's dashboard, say
    page.wait(lambda d: d.current_url.startswith(server.url("/clerk/sign-in")),
              lambda: f"a revoked session stayed signed in; at {page.driver.current_url}", timeout=15)


def load_example(relative: str) -> Any:
    path = EXAMPLES / relative
    sys.path.insert(0, str(path.parent))
    try:
        return runpy.run_path(str(path), run_name="seed_example")["app"]
    finally:
        sys.path.remove(str(path.parent))


def test_the_seeds_embedded_login_page(clerk, serve, page):
    app = load_example("seed_clerk_embedded/app_redirect.py")
    server = serve(app)
    page.attach(server)
    page.open("/reports")  # private: the seed's login_request sends the browser to /login
    page.wait(lambda d: d.current_url == server.url("/login"),
              lambda: f"not sent to the app's /login page; at {page.driver.current_url}")
    sign_in_on_the_mounted_form(page, "alice")  # mounted by the seed's clientside callback
    page.wait(lambda d: d.current_url == server.url("/reports"),
              lambda: f"did not continue to the page first asked for; at {page.driver.current_url}")
    cookies = {c["name"] for c in page.driver.get_cookies()}
    assert "session" in cookies and "__session" in cookies
