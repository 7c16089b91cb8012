"""The pages and components in headless Chromium: sign in and out with ``CurrentUser`` and
``LogoutButton`` (Dash Pages, a URL prefix, Basic's form and OpenID Connect), a session that
expires while a page is open, switching language, keyboard use on a phone-sized window, and
every built-in page in light and dark mode (Clerk's embedded sign-in and callback pages too,
against the local stand-in for Clerk's cloud): a screenshot of each (written to
``docs/screenshots/``, or to ``$DASH_AUTH_SCREENSHOTS``) and an axe-core check with no
serious or critical finding.

axe-core is vendored (``tests/e2e/vendor/axe.min.js``, see the README there): the check
runs offline and the same everywhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import pytest
from clerk_support import ClerkStandIn
from dash import Dash, Input, Output, dcc, html
from oidc_support import CLIENT_ID, CLIENT_SECRET, ProcessProvider

import dash_auth_core
from dash_auth_basic import BasicAuth, LoginThrottle
from dash_auth_clerk import ClerkAuth
from dash_auth_core import AuthStack, BadRequest, current_user
from dash_auth_core.components import CurrentUser, LogoutButton
from dash_auth_oidc import OIDCAuth

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SECRET = "browser-test-secret-0123456789abcdef"
USERS = {"alice": "wonderland"}
PREFIX = "/app/"


def screenshots_folder() -> Path:
    folder = Path(os.environ.get("DASH_AUTH_SCREENSHOTS") or ROOT / "docs" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- apps ------------------------------------------------------------------------------


class TestRefusals:
    """What a throttle or a session store does (``RequestRefused``): 429 and 503 for a page."""

    @dash_auth_core.hookimpl
    def authenticate(self, request):
        status = request.args.get("refuse")
        if status in ("429", "503"):
            raise BadRequest("refused", int(status), {"Retry-After": "95"} if status == "429" else {})
        return None

    @dash_auth_core.hookimpl
    def authorize(self, identity, resource):
        if identity is not None and resource.pathname == "/admin":
            return False  # alice may not open the admin page: the 403 page
        return None


def reports_app(**options: Any) -> Dash:
    """Dash Pages under /app/: a public home, private reports, a forbidden admin page; a header
    with CurrentUser and LogoutButton on every page."""
    app = Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True,
               url_base_pathname=PREFIX, title="Quarterly Reports")
    dash.register_page("home", path="/", layout=html.Div([
        html.H1("Welcome"), dcc.Link("Reports", href=f"{PREFIX}reports", id="to-reports")]))
    dash.register_page("reports", path="/reports", layout=html.Div([
        html.H1("Reports"), html.Button("Refresh", id="refresh"), html.Div(id="out")]))
    dash.register_page("admin", path="/admin", layout=html.Div("admin"))
    app.layout = html.Div([
        html.Header([
            html.Strong("Quarterly Reports"),
            html.Div([CurrentUser(show_email=True, show_groups=True, id="who"),
                      LogoutButton(id="logout-form", button_id="logout")],
                     style={"display": "flex", "gap": "1rem", "alignItems": "center"}),
        ], style={"display": "flex", "justifyContent": "space-between", "alignItems": "center",
                  "padding": "0.75rem 1.5rem", "borderBottom": "1px solid #ccd"}),
        html.Main(dash.page_container, style={"padding": "1.5rem"}),
    ])

    @app.callback(Output("out", "children"), Input("refresh", "n_clicks"), prevent_initial_call=True)
    def refresh(n):
        user = current_user()
        return f"fresh data for {user.id if user else 'nobody'} ({n})"

    options.setdefault("throttle", LoginThrottle(max_failures=3, window=300, lockout=95))
    BasicAuth(app, USERS, login_form=True, secret_key=SECRET, public_routes=["/"],
              user_groups={"alice": ["analysts", "finance"]}, plugins=[TestRefusals()], **options)
    return app


def bare_app() -> Dash:
    """No provider with a login page: the core's own 401 page."""
    app = Dash(__name__, title="Quarterly Reports")
    app.layout = html.Div("private")
    AuthStack.of(app, secret_key=SECRET)
    return app


def oidc_app(metadata_urls: dict[str, str], lazy: bool = False) -> Dash:
    app = Dash(__name__, title="Quarterly Reports")
    app.layout = html.Div([CurrentUser(id="who"), LogoutButton(button_id="logout"), html.Div("private", id="private")])
    auth = OIDCAuth(app, secret_key=SECRET)
    for name, url in metadata_urls.items():
        auth.register_provider(name, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=url,
                               display_name=name.title(), lazy=lazy)
    return app


# -- browser helpers ------------------------------------------------------------------


def by_css(page, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return page.driver.find_elements(By.CSS_SELECTOR, selector)


def wait_css_text(page, selector: str, text: str) -> str:
    def check(_d):
        found = by_css(page, selector)
        try:
            return found[0].text if found and text in found[0].text else False
        except Exception:  # replaced while reading
            return False

    return page.wait(check, lambda: f"{selector} never showed {text!r}; page: {page.body_text()[:300]!r}")


def click(page, element_id: str) -> None:
    """Click ``#element_id`` once the page has rendered it."""
    page.wait(lambda d: by_css(page, f"#{element_id}"), lambda: f"no #{element_id}; page: {page.body_text()[:200]!r}")
    page.find(element_id).click()


def wait_url(page, server, path: str) -> None:
    page.wait(lambda d: d.current_url == server.url(path), lambda: f"not at {path}; at {page.driver.current_url}")


def set_language(page, tag: str) -> None:
    agent = page.driver.execute_script("return navigator.userAgent")
    page.driver.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": agent, "acceptLanguage": tag})


def set_scheme(page, dark: bool) -> None:
    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})


def fill_login(page, username: str, password: str) -> None:
    page.wait(lambda d: by_css(page, "#username"), lambda: f"no sign-in form at {page.driver.current_url}")
    user = page.find("username")
    user.clear()
    user.send_keys(username)
    page.find("password").send_keys(password)
    button = page.find("login-submit")
    button.click()
    page.wait(_left_the_document(button), lambda: "the form was not submitted")


def _left_the_document(element):
    """Selenium's ``staleness_of``, also for Chromium's other way of saying so while a page is
    replaced ("Node with given id does not belong to the document")."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def gone(_driver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return gone


def axe_findings(page, include: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the current page (or inside ``include``).

    Also the colour-contrast checks axe could not finish ("incomplete"): text on a background
    it cannot work out is text nobody checked, so it counts as a finding here.
    """
    if not page.driver.execute_script("return !!window.axe"):
        page.driver.execute_script(AXE.read_text(encoding="utf-8"))
    page.driver.set_script_timeout(60)
    context = {"include": [[s] for s in include]} if include else None
    found = page.driver.execute_async_script(
        "var done=arguments[arguments.length-1];"
        "function brief(list,kind){return list.map(function(v){return {kind:kind,id:v.id,impact:v.impact,"
        "help:v.help,nodes:v.nodes.map(function(n){return n.target.join(' ')+': '+(n.failureSummary||'')+"
        "' '+JSON.stringify((n.any||[]).map(function(c){return c.message;}));})};});}"
        "axe.run(arguments[0]||document,{resultTypes:['violations','incomplete']}).then(function(r){"
        "done(brief(r.violations,'violation').concat(brief(r.incomplete,'incomplete')));},"
        "function(e){done([{kind:'violation',id:'axe-error',impact:'critical',help:String(e),nodes:[]}]);});",
        context,
    )
    return [
        v for v in found
        if (v["kind"] == "violation" and v["impact"] in ("serious", "critical"))
        or (v["kind"] == "incomplete" and v["id"] == "color-contrast")
    ]


def hide_caret(page) -> None:
    """No blinking text cursor in screenshots: the same page gives the same picture every run."""
    page.driver.execute_script(
        "var s=document.createElement('style');s.textContent='*{caret-color:transparent!important}';"
        "document.head.appendChild(s);")


def capture(page, name: str, include: list[str] | None = None, schemes: tuple[bool, ...] = (False, True)) -> None:
    """A screenshot in light and in dark mode, each checked by axe-core."""
    folder = screenshots_folder()
    problems = {}
    hide_caret(page)
    for dark in schemes:
        set_scheme(page, dark)
        time.sleep(0.2)  # the colours' transition
        page.driver.save_screenshot(str(folder / f"{name}-{'dark' if dark else 'light'}.png"))
        findings = axe_findings(page, include)
        if findings:
            problems["dark" if dark else "light"] = findings
    set_scheme(page, False)
    assert not problems, f"axe-core on {name}: {problems}"


@pytest.fixture
def shots_page(page) -> Iterator[Any]:
    page.driver.set_window_size(960, 760)
    yield page


# -- signing in and out with the components ---------------------------------------------


def test_sign_in_and_out_with_the_components_under_a_prefix_in_dash_pages(serve, page):
    server = serve(reports_app())
    page.attach(server)
    page.open(PREFIX)
    # A visitor on the public home: "Sign in", leading back here.
    link = wait_css_text(page, "#who a.dash-auth-sign-in", "Sign in")
    assert link == "Sign in" and by_css(page, "#who")[0].get_attribute("data-signed-in") == "false"
    by_css(page, "#who a.dash-auth-sign-in")[0].click()
    page.wait(lambda d: "/app/login?next=" in d.current_url, lambda: f"not at the form: {page.driver.current_url}")
    fill_login(page, "alice", "wonderland")
    wait_url(page, server, PREFIX)
    assert wait_css_text(page, "#who .dash-auth-user-name", "alice") == "alice"
    assert by_css(page, "#who .dash-auth-user-groups")[0].text == "analysts, finance"
    # Client-side navigation to a private page of Dash Pages; the header stays and works.
    page.find("to-reports").click()
    click(page, "refresh")
    page.wait_for_text("out", "fresh data for alice (1)")
    # One click signs out: a POST with the CSRF token, no confirmation page on the way.
    page.forget_network()
    click(page, "logout")
    page.wait(lambda d: d.title.startswith("Signed out"), lambda: f"title is {page.driver.title!r}")
    posts = page.responses("/app/logout", "POST")
    assert [p.status for p in posts] == [200]
    assert not [ex for ex in page.network() if ex.path == "/app/logout" and ex.method == "GET"]
    # Signed out for real.
    page.open(f"{PREFIX}reports")
    page.wait(lambda d: "/app/login" in d.current_url, lambda: f"still in: {page.driver.current_url}")


def test_a_session_that_expires_on_an_open_page_leads_back_to_it(serve, page):
    server = serve(reports_app(session_lifetime=3))
    page.attach(server)
    page.open(f"{PREFIX}reports?tab=2")
    fill_login(page, "alice", "wonderland")
    wait_url(page, server, f"{PREFIX}reports?tab=2")
    wait_css_text(page, "#who .dash-auth-user-name", "alice")
    click(page, "refresh")
    page.wait_for_text("out", "fresh data for alice (1)")
    time.sleep(3.5)
    click(page, "refresh")  # its callback now answers 401: the page script goes to sign in
    page.wait(lambda d: "reason=expired" in d.current_url, lambda: f"no expiry redirect: {page.driver.current_url}")
    assert "Your session has expired." in page.find("login-error").text
    fill_login(page, "alice", "wonderland")
    wait_url(page, server, f"{PREFIX}reports?tab=2")
    click(page, "refresh")
    page.wait_for_text("out", "fresh data for alice (1)")


def test_switching_language_changes_pages_and_components(serve, page):
    server = serve(reports_app())
    page.attach(server)
    set_language(page, "de-DE,de")
    page.open(PREFIX)
    assert wait_css_text(page, "#who a.dash-auth-sign-in", "Anmelden") == "Anmelden"
    page.open(f"{PREFIX}login")
    assert page.driver.title == "Anmelden · Quarterly Reports"
    assert page.driver.execute_script("return document.documentElement.lang") == "de"
    fill_login(page, "alice", "falsch")
    assert "Falscher Benutzername oder falsches Passwort." in page.find("login-error").text
    assert page.find("username").get_attribute("value") == "alice"  # kept after the failure
    fill_login(page, "alice", "wonderland")
    wait_url(page, server, PREFIX)
    page.wait_for_text("logout", "Abmelden")
    set_language(page, "en-GB,en;q=0.8")
    page.driver.refresh()
    page.wait_for_text("logout", "Sign out")
    page.open(f"{PREFIX}logout")
    assert page.driver.title.startswith("Sign out?")


def test_components_sign_in_and_out_on_every_backend(backend, serve_live, page):
    from dash_auth_core.testing import make_dash

    app = make_dash(__name__, title="Reports")
    app.layout = html.Div([CurrentUser(id="who"), LogoutButton(button_id="logout"), html.P("Public page")])
    BasicAuth(app, USERS, login_form=True, secret_key=SECRET, public_routes=["/"])
    server = serve_live(app)
    page.attach(server)
    page.open("/")
    wait_css_text(page, "#who a.dash-auth-sign-in", "Sign in")
    by_css(page, "#who a.dash-auth-sign-in")[0].click()
    fill_login(page, "alice", "wonderland")
    wait_url(page, server, "/")
    assert wait_css_text(page, "#who .dash-auth-user-name", "alice") == "alice"
    click(page, "logout")
    page.wait(lambda d: d.title.startswith("Signed out"), lambda: f"title is {page.driver.title!r}")
    page.open("/")
    wait_css_text(page, "#who a.dash-auth-sign-in", "Sign in")


@pytest.fixture(scope="module")
def provider() -> Iterator[ProcessProvider]:
    started = ProcessProvider("-n", "true", "--user-claims",
                              '{"sub": "alice", "email": "alice@example.org", "name": "Alice"}')
    yield started
    started.stop()


def test_logout_button_with_openid_connect_goes_to_the_providers_end_session(provider, serve, page):
    from selenium.webdriver.common.by import By

    server = serve(oidc_app({"idp": provider.metadata_url}))
    page.attach(server)
    page.open("/")
    page.wait(lambda d: d.find_elements(By.NAME, "sub"), lambda: "no sign-in form at the provider")
    page.driver.find_element(By.NAME, "sub").send_keys("alice")
    page.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_url(page, server, "/")
    assert wait_css_text(page, "#who .dash-auth-user-name", "Alice") == "Alice"
    click(page, "logout")  # one click: the OIDC route's POST, then the provider
    page.wait(lambda d: d.current_url.startswith(provider.url + "/oauth2/end_session"),
              lambda: f"not at the provider's end-session page: {page.driver.current_url}")
    page.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_url(page, server, "/oidc/logged-out")
    page.wait_for_text("oidc-signed-out", "You are signed out")


# -- every page: keyboard, phone, screenshots, axe ---------------------------------------


def test_keyboard_focus_is_visible_and_the_form_fits_a_phone(serve, page):
    from selenium.webdriver.common.keys import Keys

    server = serve(reports_app())
    page.attach(server)
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    try:
        page.open(f"{PREFIX}login?next={PREFIX}reports")
        page.wait(lambda d: by_css(page, "#username"), lambda: "no form")
        assert page.driver.execute_script("return document.activeElement.id") == "username"
        fits = page.driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, "the sign-in page scrolls sideways on a phone-sized window"
        folder = screenshots_folder()
        hide_caret(page)
        for dark in (False, True):
            set_scheme(page, dark)
            page.driver.save_screenshot(str(folder / f"login-phone-{'dark' if dark else 'light'}.png"))
        set_scheme(page, False)
        active = page.driver.switch_to.active_element
        active.send_keys("alice")
        active.send_keys(Keys.TAB)
        focused = page.driver.execute_script(
            "var e=document.activeElement,s=getComputedStyle(e);return [e.id,s.outlineStyle,s.outlineWidth];")
        assert focused == ["password", "solid", "3px"]
        page.driver.switch_to.active_element.send_keys("wonderland", Keys.ENTER)
        wait_url(page, server, f"{PREFIX}reports")
    finally:
        page.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_every_page_in_light_and_dark_passes_axe(serve, shots_page, provider):
    page = shots_page
    reports = serve(reports_app())
    page.attach(reports)

    page.open(f"{PREFIX}login?next={PREFIX}reports")
    page.wait(lambda d: by_css(page, "#username"), lambda: "no form")
    capture(page, "login")
    fill_login(page, "alice", "not-it")
    page.wait(lambda d: by_css(page, "#login-error"), lambda: "no error")
    capture(page, "login-error")
    for _ in range(3):  # three failures allowed: the next attempt waits
        fill_login(page, "alice", "not-it")
    wait_css_text(page, "#login-error", "Too many")
    capture(page, "login-too-many")

    page.open(f"{PREFIX}login?next={PREFIX}reports&reason=expired")
    page.wait(lambda d: by_css(page, "#login-error"), lambda: "no notice")
    capture(page, "login-expired")

    page.open(f"{PREFIX}?refuse=429")
    page.wait(lambda d: d.title.startswith("Too many attempts"), lambda: page.driver.title)
    capture(page, "too-many-attempts")
    page.open(f"{PREFIX}?refuse=503")
    page.wait(lambda d: d.title.startswith("Sign-in unavailable"), lambda: page.driver.title)
    capture(page, "unavailable")

    # Signed in (a fresh address's count: the form's throttle counted "alice" above).
    page.driver.delete_all_cookies()
    reports2 = serve(reports_app())
    page.attach(reports2)
    page.open(f"{PREFIX}reports")
    fill_login(page, "alice", "wonderland")
    wait_url(page, reports2, f"{PREFIX}reports")
    wait_css_text(page, "#who .dash-auth-user-name", "alice")
    page.wait_for_text("logout", "Sign out")
    # The components follow the app's colours, not the browser's dark mode: light only.
    capture(page, "app-components", include=["#who", "#logout-form"], schemes=(False,))
    page.open(f"{PREFIX}admin")
    page.wait(lambda d: d.title.startswith("Access denied"), lambda: page.driver.title)
    capture(page, "forbidden")
    page.open(f"{PREFIX}logout")
    page.wait(lambda d: d.title.startswith("Sign out?"), lambda: page.driver.title)
    capture(page, "logout-confirm")
    click(page, "dash-auth-logout")
    page.wait(lambda d: d.title.startswith("Signed out"), lambda: page.driver.title)
    capture(page, "signed-out")

    bare = serve(bare_app())
    page.attach(bare)
    page.open("/")
    page.wait(lambda d: d.title.startswith("Sign-in required"), lambda: page.driver.title)
    capture(page, "sign-in-required")

    # OpenID Connect: two providers (one is down), the chooser, 424 and a refusal.
    down = "http://127.0.0.1:9/.well-known/openid-configuration"
    oidc = serve(oidc_app({"corporate": down, "partners": provider.metadata_url}, lazy=True))
    page.attach(oidc)
    page.open("/oidc/login?next=/")
    page.wait(lambda d: by_css(page, "a.oidc-provider"), lambda: "no chooser")
    capture(page, "oidc-choose")
    page.open("/oidc/corporate/login?next=/")
    page.wait(lambda d: d.title.startswith("Sign-in service unavailable"), lambda: page.driver.title)
    capture(page, "oidc-unavailable")
    # (at a provider that answers: a callback reads the provider's metadata first, and one that
    # failed is not asked again for 10 s, so the down one's callback would be another 424)
    page.open("/oidc/partners/callback?error=access_denied")
    page.wait(lambda d: d.title.startswith("Sign-in was not completed"), lambda: page.driver.title)
    capture(page, "oidc-error")


@pytest.fixture(scope="module")
def clerk_standin() -> Iterator[ClerkStandIn]:
    standin = ClerkStandIn()
    standin.add_user("alice", "alice@example.org", first_name="Alice")
    yield standin
    standin.stop()


def test_clerk_pages_in_light_and_dark_pass_axe(clerk_standin, serve, shots_page, monkeypatch):
    """Clerk's embedded sign-in page (with the stand-in's form mounted by clerk-js) and the callback
    page once the listener found no Clerk session: themed, translated, accessible."""
    page = shots_page
    for name, value in clerk_standin.env().items():
        monkeypatch.setenv(name, value)
    for name in ("CLERK_JWT_KEY", "CLERK_ALLOWED_PARTIES"):
        monkeypatch.delenv(name, raising=False)
    app = Dash(__name__, title="Quarterly Reports")
    app.layout = html.Div("private", id="private")
    ClerkAuth(app, secret_key=SECRET, sign_in="embedded")
    server = serve(app)
    page.attach(server)

    page.open("/reports")
    page.wait(lambda d: d.current_url == server.url("/clerk/sign-in?next=/reports"),
              lambda: f"not on the embedded sign-in page; at {page.driver.current_url}")
    page.wait(lambda d: by_css(page, "#clerk-sign-in .cl-rootBox #clerk-identifier"),
              lambda: "clerk-js did not mount its sign-in form")
    assert page.driver.title == "Sign in · Quarterly Reports"
    assert not page.find("clerk-sign-in-error").is_displayed()  # no empty alert box
    capture(page, "clerk-sign-in")

    # The hosted page's return without a Clerk session: the listener says so, in the page's words.
    page.open("/clerk/callback?next=/reports")
    wait_css_text(page, "#clerk-sign-in-error", "You are not signed in at Clerk.")
    page.wait(lambda d: page.find("clerk-sign-in-again").is_displayed(), lambda: "no link to sign in again")
    assert not by_css(page, "[data-dash-auth-clerk-callback]")[0].is_displayed()  # no "Signing you in" now
    capture(page, "clerk-callback")
    set_language(page, "de-DE,de")
    page.open("/clerk/callback?next=/reports")
    wait_css_text(page, "#clerk-sign-in-error", "Sie sind bei Clerk nicht angemeldet.")
    assert page.driver.title.startswith("Anmeldung läuft · ")
