"""OpenID Connect in a real browser: headless Chromium, the demo app on 127.0.0.1, and
``oidc-provider-mock`` as its own process on 127.0.0.1.

A protected page redirects to the provider's sign-in form; the user signs in
there and lands back on the page asked for, with the Dash app working
(server callbacks included). Signing out goes through the provider's
end-session page (RP-initiated logout) and back to the app.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from collections.abc import Iterator

import pytest
from oidc_support import ProcessProvider

pytestmark = pytest.mark.timeout(180)

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def provider() -> Iterator[ProcessProvider]:
    started = ProcessProvider(
        "-n", "true",
        "--user-claims", '{"sub": "alice", "email": "alice@example.org", "email_verified": true, "name": "Alice", "groups": ["staff"]}',
    )
    yield started
    started.stop()


def load_demo():
    spec = importlib.util.spec_from_file_location("oidc_demo_under_test", EXAMPLES / "oidc_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_sign_in_at_the_provider_and_land_on_the_page_asked_for(provider, serve, page):
    from selenium.webdriver.common.by import By

    demo = load_demo()
    app = demo.create_app(provider.metadata_url, "dash-demo", "dash-demo-secret", "browser-test-secret-0123456789")
    server = serve(app)
    page.attach(server)

    page.open("/reports?tab=2")
    page.wait(lambda d: d.current_url.startswith(provider.url + "/oauth2/authorize"),
              lambda: f"not redirected to the provider; at {page.driver.current_url}")
    page.wait(lambda d: d.find_elements(By.NAME, "sub"), lambda: "no sign-in form at the provider")
    page.driver.find_element(By.NAME, "sub").send_keys("alice")
    page.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    page.wait(lambda d: d.current_url == server.url("/reports?tab=2"),
              lambda: f"did not land on the page asked for; at {page.driver.current_url}")
    page.wait_for_text("whoami", "Signed in as Alice")
    assert "staff" in page.find("whoami").text and "reporting" in page.find("whoami").text
    page.find("private-button").click()
    page.wait_for_text("private-out", "alice via oidc:idp")
    cookies = {c["name"]: c for c in page.driver.get_cookies()}
    assert cookies["session"]["httpOnly"] is True
    assert page.driver.execute_script("return document.cookie").find("session=") < 0  # not readable by scripts

    # Sign out: the app's confirmation form, then the provider's end-session page, then back.
    page.find("logout-link").click()
    page.wait(lambda d: d.find_elements(By.ID, "oidc-logout"), lambda: "no sign-out form")
    page.find("oidc-logout").click()
    page.wait(lambda d: d.current_url.startswith(provider.url + "/oauth2/end_session"),
              lambda: f"not sent to the provider's end_session_endpoint; at {page.driver.current_url}")
    page.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    page.wait(lambda d: d.current_url == server.url("/oidc/logged-out"),
              lambda: f"not back on the app after sign-out; at {page.driver.current_url}")
    page.wait_for_text("oidc-signed-out", "You are signed out")

    page.open("/reports")
    page.wait(lambda d: d.current_url.startswith(provider.url + "/oauth2/authorize"),
              lambda: f"still signed in after sign-out; at {page.driver.current_url}")
