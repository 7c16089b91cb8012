"""Headless Chromium on every backend: a login, and WebSocket callbacks after it.

Each app is served by its backend's real server on 127.0.0.1 (Werkzeug,
hypercorn, uvicorn). Logins use the HTML login form (``login_form=True``),
which works the same in every browser and needs no Basic prompt.
"""

from __future__ import annotations

import dash
import pytest
from dash import Input, Output, ctx, dcc, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import current_user
from dash_auth_core.testing import make_dash

pytestmark = pytest.mark.timeout(180)

USERS = {"alice": "wonderland"}
PRIVATE_TEXT = "Quarterly numbers: top secret"


def sign_in_on_the_form(page, username="alice", password="wonderland"):
    page.wait(lambda d: d.execute_script("return window.location.pathname") == "/login",
              lambda: f"not on the login form but at {page.location()}")
    page.find("username").send_keys(username)
    page.find("password").send_keys(password)
    page.find("login-submit").click()


def counter_app(websocket: bool):
    app = make_dash(__name__)
    app.layout = html.Div(
        [
            html.H1("Protected dashboard", id="title"),
            html.Button("Count", id="count"),
            html.Div(id="clicks"),
            html.Div(id="whoami"),
        ]
    )

    @app.callback(Output("whoami", "children"), Input("title", "children"))
    def whoami(_title):
        user = current_user()
        return f"signed in as {user.id}" if user else "anonymous"

    @app.callback(Output("clicks", "children"), Input("count", "n_clicks"), prevent_initial_call=True,
                  websocket=websocket)
    def count(n_clicks):
        user = current_user()
        via = "websocket" if ctx.websocket is not None else "http"
        return f"clicked {n_clicks} by {user.id if user else 'nobody'} via {via}"

    BasicAuth(app, USERS, secret_key=SECRET, login_form=True)
    return app


def test_login_form_on_every_backend(backend, serve_live, page):
    page.attach(serve_live(counter_app(websocket=False)))
    page.open("/")
    sign_in_on_the_form(page)
    assert page.wait_for_text("whoami", "signed in as alice") == "signed in as alice"
    page.find("count").click()
    assert page.wait_for_text("clicks", "clicked 1") == "clicked 1 by alice via http"
    assert page.location() == "/"


def _alice_clicks_once_over_the_socket(page):
    """Sign in as alice on the form; her first click runs over the socket."""
    page.open("/")
    sign_in_on_the_form(page)
    page.wait_for_text("whoami", "signed in as alice")
    page.find("count").click()
    assert page.wait_for_text("clicks", "clicked 1") == "clicked 1 by alice via websocket"


@pytest.mark.backends("quart", "fastapi", reason="Dash serves WebSocket callbacks on ASGI backends")
def test_websocket_callback_after_login_and_logout_in_another_tab_closes_it(backend, serve_live, page):
    page.attach(serve_live(counter_app(websocket=True)))
    _alice_clicks_once_over_the_socket(page)
    page.find("count").click()
    assert page.wait_for_text("clicks", "clicked 2") == "clicked 2 by alice via websocket"

    # Sign out in another tab: this tab's socket, whose cookie is frozen, is closed
    # with 4001 and the page reloads into the login form.
    first = page.driver.current_window_handle
    page.driver.switch_to.new_window("tab")
    page.open("/logout")
    page.driver.find_element("xpath", "//button[normalize-space()='Sign out']").click()
    page.wait(lambda d: d.title.startswith("Signed out"), lambda: f"title is {page.driver.title!r}")
    page.driver.switch_to.window(first)

    def diagnose():
        reloads = page.driver.execute_script("return sessionStorage.getItem('dash-auth-ws-reload')")
        return f"the page did not go to the login form; it is at {page.location()}; reloads {reloads}"

    page.wait(lambda d: d.execute_script("return window.location.pathname") == "/login", diagnose, timeout=20)


def pages_app():
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True,
                    websocket_callbacks=True)
    dash.register_page(
        "home",
        path="/",
        layout=html.Div([html.H2("Welcome, visitor", id="home-title"), dcc.Link("Open the report", href="/report",
                                                                                    id="to-report")]),
    )

    def report(**_kwargs):
        user = current_user()
        return html.Div([html.H2(PRIVATE_TEXT, id="report-title"), html.Div(f"for {user.id}", id="report-user")])

    dash.register_page("report", path="/report", layout=report)
    BasicAuth(app, USERS, public_routes=["/"], secret_key=SECRET, login_form=True)
    return app


@pytest.mark.backends("quart", "fastapi", reason="Dash serves WebSocket callbacks on ASGI backends")
def test_global_websocket_callbacks_with_pages_prompt_for_login(backend, serve_live, page):
    """The seed library's known limitation: here the private page asks for a login instead of hanging."""
    page.attach(serve_live(pages_app()))
    page.open("/")
    assert page.wait_for_text("home-title", "Welcome, visitor")  # the router ran over the socket
    assert PRIVATE_TEXT not in page.html()
    page.find("to-report").click()
    sign_in_on_the_form(page)  # the page reloaded into the challenge: the login form
    assert page.wait_for_text("report-title", PRIVATE_TEXT) == PRIVATE_TEXT
    assert page.wait_for_text("report-user", "for alice") == "for alice"
    assert page.location() == "/report"


def _click_until(page, button: str, output: str, text: str, timeout: float = 20):
    """Click ``button`` (at most every half second) until ``output`` shows ``text``: after a
    socket closes, the page may reload or Dash's client reconnect before a click gets through."""
    import time

    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    last = [0.0]

    def clicked(_driver):
        try:
            if text in page.find(output).text:
                return True
            if time.monotonic() - last[0] > 0.5:
                last[0] = time.monotonic()
                page.find(button).click()
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        return False

    page.wait(clicked, lambda: f"#{output} never showed {text!r}", timeout=timeout)


@pytest.mark.backends("quart", "fastapi", reason="Dash serves WebSocket callbacks on ASGI backends")
def test_a_second_user_signing_in_in_another_tab_gets_a_socket_of_their_own(backend, serve_live, page, monkeypatch):
    """Dash's client shares one socket between a browser's tabs: bob's tab ran callbacks as alice."""
    monkeypatch.setitem(USERS, "bob", "builder")
    page.attach(serve_live(counter_app(websocket=True)))
    _alice_clicks_once_over_the_socket(page)
    page.driver.switch_to.new_window("tab")  # alice's tab stays open; she never signs out
    page.open("/login")
    sign_in_on_the_form(page, "bob", "builder")
    page.wait_for_text("whoami", "signed in as bob")
    _click_until(page, "count", "clicks", "by bob via websocket")
    assert "alice" not in page.find("clicks").text


@pytest.mark.backends("quart", "fastapi", reason="Dash serves WebSocket callbacks on ASGI backends")
def test_a_tab_that_signs_in_while_an_anonymous_tab_holds_the_socket_gets_its_callbacks(backend, serve_live, page):
    from dash_auth_core import public_callback

    app = make_dash(__name__)
    app.layout = html.Div([html.H1("home", id="title"), html.Div(id="pub"), html.Button("Go", id="go"),
                           html.Div(id="ws-who")])

    @public_callback(Output("pub", "children"), Input("title", "children"), websocket=True)
    def pub(_title):
        return "public ok"

    @app.callback(Output("ws-who", "children"), Input("go", "n_clicks"), prevent_initial_call=True, websocket=True)
    def ws_who(_n):
        return f"ws: {current_user().id}"

    BasicAuth(app, USERS, secret_key=SECRET, login_form=True, public_routes=["/"])
    page.attach(serve_live(app))
    page.open("/")
    page.wait_for_text("pub", "public ok")  # tab A: anonymous, the shared socket is open
    page.driver.switch_to.new_window("tab")
    page.open("/login")
    sign_in_on_the_form(page)
    page.wait_for_text("pub", "public ok")
    # The anonymous socket refuses the first private call and closes with 4002; Dash's
    # client reconnects with alice's cookie and the next click runs as alice.
    _click_until(page, "go", "ws-who", "ws: alice")
