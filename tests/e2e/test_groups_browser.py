"""Groups in a real browser: page A for group A, not page B; placeholders in layout mode."""

from __future__ import annotations

import dash
import pytest
from dash import Dash, dcc, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core.testing import basic_header

pytestmark = pytest.mark.timeout(120)

USERS = {"anna": "a-password", "nobody": "n-password"}
GROUPS = {"anna": ["A"]}


def groups_app(**options) -> Dash:
    app = Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("Home page", id="home"))
    dash.register_page("page_a", path="/a", layout=html.Div("Content of page A", id="content-a"), groups=["A"])
    dash.register_page("page_b", path="/b", layout=html.Div("Content of page B", id="content-b"), groups=["B"])
    app.layout = html.Div(
        [
            dcc.Link("to A", href="/a", id="link-a"),
            dcc.Link("to B", href="/b", id="link-b"),
            dash.page_container,
        ]
    )
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/"], secret_key=SECRET, **options)
    return app


def sign_in(page, user: str, password: str) -> None:
    page.driver.execute_cdp_cmd("Network.enable", {})
    header = basic_header(user, password)["Authorization"]
    page.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": header}})


def test_group_a_member_sees_page_a_not_page_b(serve, page):
    page.attach(serve(groups_app()))
    sign_in(page, "anna", "a-password")
    page.open("/a")
    page.wait_for_text("content-a", "Content of page A")
    page.open("/b")
    body = page.body_text()
    assert "Content of page B" not in body
    assert "Content of page B" not in page.html()
    # Client-side navigation to B from a page the user may see is refused too.
    page.open("/")
    page.wait_for_text("home", "Home page")
    page.find("link-b").click()
    page.wait(lambda d: "Content of page B" not in d.page_source and "/b" in d.current_url,
              lambda: page.body_text())
    assert "Content of page B" not in page.html()


def test_user_without_groups_sees_the_placeholder_in_layout_mode(serve, page):
    app = groups_app(
        auth_protect_layouts=True,
        auth_protect_layouts_kwargs={"missing_permissions_output": html.Div("No access for you", id="no-access")},
    )
    page.attach(serve(app))
    sign_in(page, "nobody", "n-password")
    page.open("/a")
    page.wait_for_text("no-access", "No access for you")
    assert "Content of page A" not in page.html()
