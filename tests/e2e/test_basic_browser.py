"""BasicAuth in a real browser: headless Chromium against a real server on 127.0.0.1.

What Chromium does with HTTP Basic, as these tests rely on it:

* An anonymous page load gets our 401 with ``WWW-Authenticate: Basic``.
  Headless Chromium cancels the credentials prompt and shows an empty error
  page (``chrome-error://chromewebdata/``), not the 401 body, so the 401 is
  checked in Chromium's network log, and the app's absence in the DOM.
* ``http://user:pass@host/`` answers the challenge and puts the credentials
  in Chromium's Basic cache, but the document then has credentials in its
  URL and ``fetch()`` refuses such URLs, so Dash's renderer cannot load the
  layout there. Opening the plain URL afterwards works: Chromium sends the
  cached ``Authorization`` header with every request, the renderer's
  ``fetch`` calls included.
* Chromium sends URL credentials only in answer to a challenge: signing in
  "at" a public page does nothing, so tests sign in at a private one.
* ``Network.setExtraHTTPHeaders`` (CDP) adds the header to every request and
  needs no challenge at all.
"""

from __future__ import annotations

import dash
import pytest
from dash import Dash, Input, Output, dcc, html
from helpers import SECRET

from dash_auth_basic import BasicAuth, public_callback
from dash_auth_basic.plugin import FORGET_ROUTE
from dash_auth_core import current_user
from dash_auth_core.testing import basic_header

pytestmark = pytest.mark.timeout(120)

USERS = {"alice": "wonderland"}
ALICE = basic_header("alice", "wonderland")["Authorization"]
CHALLENGE = 'Basic realm="Dash app", charset="UTF-8"'
UPDATE = "/_dash-update-component"

APP_TITLE = "Protected dashboard"
PRIVATE_TEXT = "Quarterly numbers: top secret"


def protected_app() -> Dash:
    app = Dash(__name__)
    app.layout = html.Div(
        [
            html.H1(APP_TITLE, id="title"),
            html.Button("Count", id="count"),
            html.Div(id="clicks"),
            html.Div(id="whoami"),
        ]
    )

    @app.callback(Output("clicks", "children"), Input("count", "n_clicks"), prevent_initial_call=True)
    def count(n_clicks):
        user = current_user()
        return f"clicked {n_clicks} by {user.id if user else 'nobody'}"

    @app.callback(Output("whoami", "children"), Input("title", "children"))
    def whoami(_title):
        user = current_user()
        return f"signed in as {user.id}" if user else "anonymous"

    BasicAuth(app, USERS, secret_key=SECRET)
    return app


def profile_layout(user_id=None, **_query):
    return html.Div([html.H2(f"Public profile of {user_id}", id="profile-title")])


def pages_app() -> Dash:
    app = Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page(
        "home",
        path="/",
        title="Home",
        layout=html.Div(
            [
                html.H2("Welcome, visitor", id="home-title"),
                html.Button("Ping", id="ping"),
                html.Div(id="pong"),
                dcc.Link("Open the report", href="/report", id="to-report"),
            ]
        ),
    )
    dash.register_page("profile", path_template="/user/<user_id>/public", title="Profile", layout=profile_layout)
    dash.register_page(
        "report",
        path="/report",
        title="Report",
        layout=html.Div([html.H2(PRIVATE_TEXT, id="report-title")]),
    )

    @public_callback(Output("pong", "children"), Input("ping", "n_clicks"), prevent_initial_call=True)
    def pong(n_clicks):
        user = current_user()
        return f"pong {n_clicks} for {user.id if user else 'anonymous'}"

    BasicAuth(app, USERS, public_routes=["/", "/user/<user_id>/public"], secret_key=SECRET)
    return app


def assert_challenged(page, path: str, *absent: str) -> None:
    """The browser got our Basic challenge for ``path`` and shows none of ``absent``."""
    doc = page.wait_for_response(path, 401, method="GET")
    assert doc.type == "Document"
    assert doc.response_headers.get("www-authenticate") == CHALLENGE
    assert not page.has_dash_app(), "the Dash app was rendered despite the 401"
    source = page.html()
    for text in absent:
        assert text not in source


def sign_in_with_url_credentials(page, private_path: str = "/", then: str | None = None) -> None:
    """Log in the way a user would paste ``http://user:pass@host/...``, then use plain URLs.

    Chromium sends URL credentials only to answer a challenge, so
    ``private_path`` must be a protected page; the cached credentials then
    go with every request to the app.
    """
    page.forget_network()
    page.open(private_path, "alice", "wonderland")
    page.wait_for_response(private_path, 200, method="GET")
    page.open(private_path if then is None else then)


def no_401s(page) -> list:
    return [(ex.method, ex.path) for ex in page.network() if ex.status == 401]


# -- a. logging in --------------------------------------------------------


def test_url_credentials_log_in_and_callbacks_carry_them(serve, page):
    page.attach(serve(protected_app()))

    page.open("/")
    assert_challenged(page, "/", APP_TITLE)

    # Chromium answers the challenge with the URL's credentials and caches them.
    page.forget_network()
    page.open("/", "alice", "wonderland")
    page.wait_for_response("/", 200, method="GET")

    # Without the session cookie only the cached Basic credentials can authenticate.
    page.driver.delete_all_cookies()
    page.forget_network()
    page.open("/")
    assert page.wait_for_text("title", APP_TITLE) == APP_TITLE
    assert page.wait_for_text("whoami", "signed in as alice") == "signed in as alice"
    page.find("count").click()
    assert page.wait_for_text("clicks", "clicked 1 by alice") == "clicked 1 by alice"

    calls = page.responses(UPDATE, "POST")
    assert len(calls) >= 2, calls
    assert [c.status for c in calls] == [200] * len(calls)
    assert all(c.request_headers.get("authorization") == ALICE for c in calls), calls
    assert no_401s(page) == []


def test_wrong_password_is_refused(serve, page):
    page.attach(serve(protected_app()))
    page.open("/", "alice", "not-the-password")
    assert_challenged(page, "/", APP_TITLE, "signed in as")
    page.forget_network()
    page.open("/")
    assert_challenged(page, "/", APP_TITLE, "signed in as")


def test_cdp_authorization_header_logs_in(serve, page):
    page.attach(serve(protected_app()))
    page.driver.execute_cdp_cmd("Network.enable", {})
    page.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": ALICE}})
    page.open("/")
    page.wait_for_text("whoami", "signed in as alice")
    page.find("count").click()
    page.wait_for_text("clicks", "clicked 1 by alice")
    assert no_401s(page) == []


# -- b. public pages and public callbacks ---------------------------------


def test_public_pages_and_public_callback_work_anonymously(serve, page):
    page.attach(serve(pages_app()))

    page.open("/")
    page.wait_for_text("home-title", "Welcome, visitor")
    page.find("ping").click()
    assert page.wait_for_text("pong", "pong 1") == "pong 1 for anonymous"

    page.open("/user/john/public")
    assert page.wait_for_text("profile-title", "Public profile of john") == "Public profile of john"

    assert no_401s(page) == []
    assert PRIVATE_TEXT not in page.html()


# -- c. private pages ------------------------------------------------------


def test_private_page_url_is_refused(serve, page):
    page.attach(serve(pages_app()))
    page.open("/report")
    assert_challenged(page, "/report", PRIVATE_TEXT)

    # The same anonymous browser still gets the public home page.
    page.open("/")
    page.wait_for_text("home-title", "Welcome, visitor")
    assert PRIVATE_TEXT not in page.html()


def test_link_to_private_page_is_refused_then_works_after_login(serve, page):
    """Client-side navigation to a private page never renders it.

    The routing callback gets a JSON 401; the stack's inline script then
    reloads the page, so the browser meets the Basic challenge for that URL.
    """
    page.attach(serve(pages_app()))
    page.open("/")
    page.wait_for_text("home-title", "Welcome, visitor")
    page.forget_network()

    page.find("to-report").click()
    refused = page.wait_for_response(UPDATE, 401, method="POST")
    assert refused.response_headers.get("content-type", "").startswith("application/json")
    assert_challenged(page, "/report", PRIVATE_TEXT)
    assert [c.status for c in page.responses(UPDATE, "POST")] == [401]
    assert not page.driver.find_elements("id", "report-title")

    # Control: once signed in, the very same link renders the page.
    sign_in_with_url_credentials(page, "/report", then="/")
    page.wait_for_text("home-title", "Welcome, visitor")
    page.find("to-report").click()
    assert page.wait_for_text("report-title", PRIVATE_TEXT) == PRIVATE_TEXT
    assert page.location() == "/report"


# -- d. logout --------------------------------------------------------------


def sign_out(page) -> None:
    page.open("/logout")
    assert page.driver.title.startswith("Sign out?")
    page.forget_network()
    page.driver.find_element("xpath", "//button[normalize-space()='Sign out']").click()
    page.wait(lambda d: d.title.startswith("Signed out"), lambda: f"title is {page.driver.title!r}")
    assert "You are signed out." in page.body_text()
    page.wait_for_response("/logout", 200, method="POST")


def test_logout_confirmation_signs_out(serve, page):
    page.attach(serve(protected_app()))
    sign_in_with_url_credentials(page)
    page.wait_for_text("whoami", "signed in as alice")
    sign_out(page)


def test_logout_makes_chromium_forget_the_basic_credentials(serve, page):
    """After signing out, the app asks for credentials again.

    The signed-out page runs a script that should replace the browser's
    cached Basic credentials with throw-away ones; without that, the browser
    keeps sending alice's header and the next visit signs her straight back in.
    Chromium replaces its cache only after answering a 401 with the
    ``XMLHttpRequest.open`` credentials; a request that already carries an
    explicit ``Authorization`` header gets a 200 and the cache stays as it was.
    """
    page.attach(serve(protected_app()))
    sign_in_with_url_credentials(page)
    page.wait_for_text("whoami", "signed in as alice")
    sign_out(page)
    page.wait_for_response(FORGET_ROUTE, 200)

    page.forget_network()
    page.open("/")
    assert_challenged(page, "/", APP_TITLE, "signed in as")
