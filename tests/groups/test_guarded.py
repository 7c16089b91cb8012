"""Groups through the guard: protected callbacks, page rules, layout protection, routes, menus."""

from __future__ import annotations

import json

import dash
import pytest
from dash import Input, Output, dcc, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack
from dash_auth_core.testing import (
    backend_of,
    basic_header,
    callback_body,
    client_for,
    make_dash,
    router_body,
    server_route,
)
from dash_auth_groups import accessible_pages, protected_callback, require_groups

USERS = {"alice": "wonderland", "bob": "builder", "carol": "singer"}
GROUPS = {"alice": ["A"], "bob": ["B"], "carol": []}
ALICE, BOB, CAROL = basic_header("alice", "wonderland"), basic_header("bob", "builder"), basic_header("carol", "singer")


def post(app, body, headers=None):
    return client_for(app).post("/_dash-update-component", json=body, headers=headers or {})


# -- protected callbacks -------------------------------------------------------


def callbacks_app():
    ran = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="strict"), html.Div(id="soft"), html.Div(id="users")])

    @protected_callback(Output("strict", "children"), Input("b", "n_clicks"), groups=["A"])
    def strict(n):
        ran.append("strict")
        return "strict body"

    @protected_callback(
        Output("soft", "children"),
        Input("b", "n_clicks"),
        groups=["A"],
        missing_permissions_output="not for you",
        unauthenticated_output="please sign in",
    )
    def soft(n):
        ran.append("soft")
        return "soft body"

    @protected_callback(
        Output("users", "children"), Input("b", "n_clicks"), restricted_users=["alice"], restricted_users_key="id"
    )
    def users(n):
        ran.append("users")
        return "users body"

    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET)
    return app, ran


def test_protected_callback_without_outputs_is_a_403_and_never_runs():
    app, ran = callbacks_app()
    body = callback_body(app, "strict.children", [1])
    assert post(app, body).status_code == 401
    forbidden = post(app, body, BOB)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"] == "forbidden"
    assert ran == []
    allowed = post(app, body, ALICE)
    assert allowed.status_code == 200 and b"strict body" in allowed.data
    assert ran == ["strict"]


def test_protected_callback_with_outputs_returns_them_without_running():
    app, ran = callbacks_app()
    body = callback_body(app, "soft.children", [1])
    refused = post(app, body, BOB)
    assert refused.status_code == 200
    assert json.loads(refused.data)["response"]["soft"]["children"] == "not for you"
    assert post(app, body).status_code == 401  # no user: the server asks for a login first
    assert ran == []
    assert json.loads(post(app, body, ALICE).data)["response"]["soft"]["children"] == "soft body"
    assert ran == ["soft"]


def test_restricted_users_on_callbacks():
    app, ran = callbacks_app()
    body = callback_body(app, "users.children", [1])
    assert post(app, body, ALICE).status_code == 403
    assert post(app, body, BOB).status_code == 200
    assert ran == ["users"]


def test_groups_come_from_the_server_not_the_request():
    app, ran = callbacks_app()
    body = callback_body(app, "strict.children", [1])
    body["groups"] = ["A"]
    body["user"] = {"groups": ["A"]}
    headers = dict(BOB, **{"X-Groups": "A"})
    assert post(app, body, headers).status_code == 403
    assert ran == []


def rechecked_app(look_up, **rule):
    """An app whose one callback needs ``rule``; bob's groups come from ``look_up``, re-checked on every request.

    Returns the auth and ``status(client)``, the status of bob's callback request.
    """
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @protected_callback(Output("o", "children"), Input("b", "n_clicks"), **rule)
    def guarded(n):
        return "ok"

    auth = BasicAuth(app, {"bob": "builder"}, user_groups=look_up, secret_key=SECRET, user_groups_ttl=0)
    body = callback_body(app, "o.children", [1])

    def status(client):
        return client.post("/_dash-update-component", json=body, headers=BOB).status_code

    return app, auth, status


def test_user_groups_changes_apply_at_next_login_or_with_a_ttl():
    groups = {"bob": ["B"]}
    app, _auth, status = rechecked_app(lambda user: groups.get(user, []), groups=["A"])
    client = client_for(app)
    assert status(client) == 403
    groups["bob"] = ["A"]  # promoted while signed in: re-checked on the next request
    assert status(client) == 200


def test_user_groups_ttl_takes_away_a_group_the_user_signed_in_with():
    groups = {"bob": ["A"]}
    app, _auth, status = rechecked_app(lambda user: groups.get(user, []), groups=["A"])
    client = client_for(app)
    assert status(client) == 200
    groups["bob"] = []  # demoted while signed in
    assert status(client) == 403
    assert status(client_for(app)) == 403


def test_a_failing_group_look_up_keeps_the_groups_last_known():
    """A directory that is down must not lift a none_of rule (nor grant anything new)."""
    directory = {"bob": ["suspended"]}

    def groups(user):
        if directory is None:
            raise ConnectionError("directory down")
        return directory.get(user, [])

    app, _auth, status = rechecked_app(groups, groups=["suspended"], check_type="none_of")
    client = client_for(app)
    assert status(client) == 403
    directory = None
    assert status(client) == 403
    directory = {"bob": []}  # back, and bob is reinstated
    assert status(client) == 200


def test_a_suspension_found_by_a_re_check_holds_when_the_directory_fails():
    state = {"bob": []}

    def groups(user):
        if state is None:
            raise ConnectionError("directory down")
        return state.get(user, [])

    app, auth, status = rechecked_app(groups, groups=["suspended"], check_type="none_of")
    client = client_for(app)
    assert status(client) == 200
    state = {"bob": ["suspended"]}  # suspended while signed in ...
    assert status(client) == 403
    state = None  # ... and the directory fails: the suspension holds
    assert status(client) == 403
    # Another worker (nothing cached there) starts from the session, which the re-check kept current.
    AuthStack.of(app)._groups_cache.clear()
    auth.forget()
    assert status(client) == 403


# -- page rules ----------------------------------------------------------------


def test_a_page_rule_that_cannot_work_closes_that_page_only(caplog):
    import logging

    for bad in ({"groups": "A"}, {"groups": ["A"], "check_type": "any"}, {"restricted_users": [7]}):
        app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
        dash.page_registry.clear()
        dash.register_page("home", path="/", layout=html.Div("HOME"))
        dash.register_page("bad", path="/bad", layout=html.Div("BAD PAGE"), **bad)
        BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET, public_routes=["/"])
        client = client_for(app)
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="dash_auth.groups"):
            assert client.get("/").status_code == 200  # the rest of the app works
        assert "'bad' declares a rule that cannot work" in caplog.text
        assert client.get("/bad", headers=ALICE).status_code == 403
        assert b"BAD PAGE" not in client.post("/_dash-update-component", json=router_body("/bad"), headers=ALICE).data
        assert client.get("/_dash-layout").status_code in (200, 401)


@pytest.mark.parametrize("layout_mode", [False, True])
def test_a_server_route_under_a_page_template_is_judged_as_a_route(layout_mode):
    """Only Dash's index view serves pages: a server route is not a page because a template fits its path."""
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.page_registry.clear()
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("doc", path_template="/docs/<doc_id>", layout=lambda doc_id=None, **_: html.Div(f"DOC {doc_id}"))
    dash.register_page("wiki", path_template="/<slug>", layout=lambda slug=None, **_: html.Div(f"WIKI {slug}"),
                       groups=["B"])

    @server_route(app, "/export")
    def export():
        return "SECRET CSV EXPORT"

    @server_route(app, "/docs/raw")
    def raw():
        return "RAW DOC STORE"

    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET, public_routes=["/"],
              auth_protect_layouts=layout_mode)
    client = client_for(app, use_cookies=False)
    for path, secret in (("/export", b"SECRET CSV EXPORT"), ("/docs/raw", b"RAW DOC STORE")):
        anonymous = client.get(path)
        assert anonymous.status_code == 401 and secret not in anonymous.data, (path, anonymous.status_code)
        # A signed-in user outside the wiki page's group B: the route is not that page.
        assert client.get(path, headers=ALICE).data == secret
    # The page itself still follows its own rule.
    if layout_mode:
        assert b"WIKI" not in client.post("/_dash-update-component", json=router_body("/handbook"), headers=ALICE).data
    else:
        assert client.get("/handbook", headers=ALICE).status_code == 403
    assert client.get("/handbook", headers=BOB).status_code == 200


def pages_app(**options):
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("page_a", path="/a", layout=html.Div("PAGE A CONTENT"), groups=["A"])
    dash.register_page("page_b", path="/b", layout=html.Div("PAGE B CONTENT"), groups=["B"])

    def team(team_id=None, **_):
        return html.Div(f"TEAM {team_id} CONTENT")

    dash.register_page("team", path_template="/team/<team_id>", layout=team, groups=["A"])
    dash.register_page("members", path="/members", layout=html.Div("MEMBERS CONTENT"))
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/"], secret_key=SECRET, **options)
    return app


def route(app, pathname, headers=None):
    client = client_for(app)
    client.get("/", headers=headers or {})
    return client.post("/_dash-update-component", json=router_body(pathname), headers=headers or {})


@pytest.mark.parametrize(("path", "marker"), [("/a", b"PAGE A"), ("/team/x", b"TEAM x"), ("/team/x/y", b"TEAM x\\u002fy")])
def test_page_rules_forbidden_vs_unauthenticated(path, marker):
    app = pages_app()
    client = client_for(app)
    assert client.get(path).status_code == 401
    assert client_for(app).get(path, headers=BOB).status_code == 403
    assert client_for(app).get(path, headers=ALICE).status_code == 200
    anonymous = route(app, path)
    assert anonymous.status_code == 401 and marker not in anonymous.data
    forbidden = route(app, path, BOB)
    assert forbidden.status_code == 403 and marker not in forbidden.data
    allowed = route(app, path, ALICE)
    assert allowed.status_code == 200 and marker in allowed.data


@pytest.mark.parametrize("layout_mode", [False, True])
def test_a_pages_own_rule_wins_over_a_public_route_matching_its_path(layout_mode):
    """A public section (``/reports/<name>``) with one page in it that declares ``groups``."""
    options = {"auth_protect_layouts": True, "page_container": "_pages_content"} if layout_mode else {}
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("weekly", path="/reports/weekly", layout=html.Div("WEEKLY CONTENT"))
    dash.register_page("salaries", path="/reports/salaries", layout=html.Div("SALARIES CONTENT"), groups=["A"])
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/", "/reports/<name>", "/menu"], secret_key=SECRET,
              **options)

    @server_route(app, "/menu")
    def menu():
        return ",".join(page["module"] for page in accessible_pages(app))

    assert b"WEEKLY CONTENT" in route(app, "/reports/weekly").data  # the section stays public
    for who in (None, BOB):
        refused = route(app, "/reports/salaries", who)
        assert b"SALARIES CONTENT" not in refused.data
        if not layout_mode:
            assert refused.status_code == (401 if who is None else 403)
            assert client_for(app).get("/reports/salaries", headers=who or {}).status_code == refused.status_code
    assert b"SALARIES CONTENT" in route(app, "/reports/salaries", ALICE).data
    assert client_for(app).get("/menu").data.decode() == "home,weekly"


def test_user_in_group_a_sees_a_not_b():
    app = pages_app()
    assert b"PAGE A CONTENT" in route(app, "/a", ALICE).data
    assert route(app, "/b", ALICE).status_code == 403
    assert b"PAGE B CONTENT" in route(app, "/b", BOB).data
    assert b"MEMBERS CONTENT" in route(app, "/members", CAROL).data  # no rule: any signed-in user


def test_layout_mode_returns_placeholders_server_side():
    app = pages_app(
        auth_protect_layouts=True,
        auth_protect_layouts_kwargs={"missing_permissions_output": html.Div("NO ACCESS HERE")},
        page_container="_pages_content",
    )
    anonymous = route(app, "/a")
    assert anonymous.status_code == 200
    assert b"PAGE A CONTENT" not in anonymous.data and b"sign in" in anonymous.data
    assert client_for(app).get("/a").status_code == 200  # direct URL: the shell, no content
    assert client_for(app).get("/_dash-layout").status_code == 200
    forbidden = route(app, "/a", BOB)
    assert forbidden.status_code == 200
    assert b"NO ACCESS HERE" in forbidden.data and b"PAGE A CONTENT" not in forbidden.data
    assert b"PAGE A CONTENT" in route(app, "/a", ALICE).data
    assert b"MEMBERS CONTENT" not in route(app, "/members").data
    assert b"MEMBERS CONTENT" in route(app, "/members", CAROL).data
    assert b"HOME" in route(app, "/").data  # public pages are left alone


def test_layout_mode_without_page_container():
    app = pages_app(auth_protect_layouts=True)
    response = route(app, "/team/7")
    assert response.status_code == 200 and b"TEAM 7 CONTENT" not in response.data


def test_custom_router_named_by_page_container():
    """A non-Pages app: the callback that fills page_container is judged by its pathname."""
    ran = []
    app = make_dash(__name__, suppress_callback_exceptions=True)
    app.layout = html.Div([dcc.Location(id="url"), html.Div(id="page-content")])

    @app.callback(Output("page-content", "children"), Input("url", "pathname"))
    def render(pathname):
        ran.append(pathname)
        return f"content of {pathname}"

    BasicAuth(app, USERS, public_routes=["/", "/about"], secret_key=SECRET, page_container="page-content")
    body = callback_body(app, "page-content.children", ["/about"])
    assert post(app, body).status_code == 200
    body = callback_body(app, "page-content.children", ["/private"])
    assert post(app, body).status_code == 401
    assert ran == ["/about"]
    body["inputs"][0]["id"] = "other"
    assert post(app, body).status_code in (400, 401)
    assert ran == ["/about"]


# -- routes and menus -----------------------------------------------------------


def test_require_groups_on_server_routes():
    app = make_dash(__name__)
    app.layout = html.Div("x")

    @server_route(app, "/admin")
    @require_groups(["A"])
    def admin():
        return "admin area"

    @server_route(app, "/api/admin")
    @require_groups(["A"], json_errors=True)
    def admin_api():
        return "admin api"

    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET, public_routes=["/admin", "/api/admin"])
    client = lambda: client_for(app)  # noqa: E731
    assert client().get("/admin").status_code == 401
    forbidden = client().get("/admin", headers=BOB)
    assert forbidden.status_code == 403 and b"not allowed" in forbidden.data
    assert client().get("/admin", headers=ALICE).data == b"admin area"
    api = client().get("/api/admin", headers=BOB)
    assert api.status_code == 403 and api.get_json()["error"] == "forbidden"


def test_accessible_pages_follow_the_rules():
    app = pages_app()
    seen = {}

    @server_route(app, "/menu")
    def menu():
        return ",".join(page["module"] for page in accessible_pages(app))

    AuthStack.of(app).add_public_routes(["/menu"])
    seen["anon"] = client_for(app).get("/menu").data.decode()
    seen["alice"] = client_for(app).get("/menu", headers=ALICE).data.decode()
    seen["bob"] = client_for(app).get("/menu", headers=BOB).data.decode()
    assert seen["anon"] == "home"
    assert set(seen["alice"].split(",")) == {"home", "page_a", "team", "members"}
    assert set(seen["bob"].split(",")) == {"home", "page_b", "members"}


def test_page_rules_load_their_enforcer():
    app = pages_app()
    stack = AuthStack.of(app)
    client_for(app).get("/")
    assert stack.get_plugin("dash_auth_groups.plugin") is not None


def test_layout_mode_does_not_publish_a_non_pages_layout():
    app = make_dash(__name__)
    app.layout = html.Div("PRIVATE DASHBOARD NUMBERS")
    BasicAuth(app, USERS, secret_key=SECRET, auth_protect_layouts=True)
    response = client_for(app).get("/_dash-layout")
    assert response.status_code == 401 and b"PRIVATE DASHBOARD" not in response.data


def test_mcp_needs_a_user_every_rule_allows():
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, enable_mcp=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("admin", path="/admin", layout=html.Div("ADMIN ONLY PAYROLL"), groups=["A"])
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET)
    if not app._enable_mcp:
        pytest.skip("Dash could not start its MCP server here")
    body = {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "dash://page-layout/admin"}}
    assert client_for(app).post("/_mcp", json=body).status_code == 401
    refused = client_for(app).post("/_mcp", json=body, headers=BOB)
    assert refused.status_code == 403 and b"PAYROLL" not in refused.data


def test_mcp_in_layout_mode_applies_the_app_wide_rule_in_a_fresh_worker():
    """A worker whose first request is an MCP read: layouts are not wrapped yet, the default rule still holds."""
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, enable_mcp=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("payroll", path="/payroll", layout=html.Div("STAFF ONLY PAYROLL"))  # no rule of its own
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET, public_routes=["/"], auth_protect_layouts=True,
              auth_protect_layouts_kwargs={"groups": ["A"]})
    if not app._enable_mcp:
        pytest.skip("Dash could not start its MCP server here")
    body = {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "dash://page-layout/payroll"}}
    refused = client_for(app).post("/_mcp", json=body, headers=BOB)
    assert refused.status_code == 403 and b"PAYROLL" not in refused.data
    if backend_of(app) != "fastapi":  # Dash's own MCP read fails on FastAPI, bare app included (no request in context)
        assert b"STAFF ONLY PAYROLL" in client_for(app).post("/_mcp", json=body, headers=ALICE).data


@pytest.mark.parametrize("mode", ["protected layout", "layout mode"])
def test_a_menu_drawn_before_any_page_was_served_lists_only_allowed_pages(mode):
    from dash_auth_groups import protected

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    if mode == "protected layout":
        board = protected(groups=["A"], missing_permissions_output="NO")(lambda **_: html.Div("BOARD"))
        dash.register_page("board", path="/board", layout=board)
        options = {"public_routes": ["/", "/board"]}
    else:
        dash.register_page("board", path="/board", layout=html.Div("BOARD"), restricted_users=["carol"])
        options = {"public_routes": ["/"], "auth_protect_layouts": True,
                   "auth_protect_layouts_kwargs": {"groups": ["A"]}}
    app.layout = html.Div([html.Button(id="b"), html.Div(id="menu"), dash.page_container])

    @app.callback(Output("menu", "children"), Input("b", "n_clicks"))
    def menu(n):
        return ",".join(page["name"] for page in accessible_pages())

    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET, **options)
    body = callback_body(app, "menu.children", [1])
    for headers, expected in ((BOB, "Home"), (ALICE, "Home,Board")):
        response = client_for(app).post("/_dash-update-component", json=body, headers=headers)
        assert response.status_code == 200, (response.status_code, response.data[:300])
        assert json.loads(response.data)["response"]["menu"]["children"] == expected


def test_protect_layouts_before_the_auth_still_leaves_public_pages_alone():
    from dash_auth_groups import protect_layouts

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("PUBLIC HOME"))
    dash.register_page("p", path="/p", layout=html.Div("PRIVATE"))
    protect_layouts()
    BasicAuth(app, USERS, secret_key=SECRET, public_routes=["/"])
    client = client_for(app)
    assert b"PUBLIC HOME" in client.post("/_dash-update-component", json=router_body("/")).data
    assert b"PRIVATE" not in client.post("/_dash-update-component", json=router_body("/p")).data


def test_group_ttl_cache_tells_providers_and_provider_groups_apart():
    """Two users with the same id from different providers never share re-checked groups."""
    from dash_auth_core import AuthStack, Identity

    app = make_dash(__name__)
    app.layout = html.Div()
    stack = AuthStack.of(app, secret_key=SECRET, user_groups=lambda user: ["added"], user_groups_ttl=3600)
    local = stack.groups_for(Identity(id="alice", provider="basic"))
    sso = stack.groups_for(Identity(id="alice", provider="oidc:corp", groups=("admins",)))
    assert local.groups == ("added",)
    assert sso.groups == ("admins", "added")
    assert stack.refresh_groups(sso).groups == ("admins", "added")
    # The cache now holds the SSO user's answer; the local "alice" must not get it.
    assert stack.refresh_groups(local).groups == ("added",)
    demoted = stack.groups_for(Identity(id="alice", provider="oidc:corp", groups=()))
    assert stack.refresh_groups(demoted).groups == ("added",)


def test_layout_mode_keeps_a_refused_pages_title_and_description_to_itself():
    """Dash puts a page's title and description in the index's meta tags and the router's answer.

    In layout mode everyone gets the shell of every page, so for a user the
    page refuses neither may carry them, and a title function must not run.
    """
    calls = []

    def report_title(report_id=None, **_):
        calls.append(report_id)
        return f"REPORT {report_id} TITLE"

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="The App")
    dash.register_page("home", path="/", layout=html.Div("HOME"), description="Public home")
    dash.register_page("secret", path="/secret", layout=html.Div("SECRET CONTENT"), groups=["A"],
                       title="SECRET TITLE", description="SECRET DESCRIPTION", image_url="https://x.test/SECRET.png")
    dash.register_page("report", path_template="/report/<report_id>", layout=html.Div("REPORT CONTENT"),
                       groups=["A"], title=report_title, description=lambda report_id=None: f"about {report_id}")
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/"], secret_key=SECRET, auth_protect_layouts=True)

    for headers in ({}, BOB):  # anonymous, and signed in without group A
        for path in ("/secret", "/report/acme-merger"):
            page = client_for(app).get(path, headers=headers)
            assert page.status_code == 200, (path, headers)
            text = page.get_data(as_text=True)
            assert "SECRET" not in text and "acme-merger" not in text and "REPORT" not in text, (path, text)
            assert "<title>The App</title>" in text
            answer = route(app, path, headers)
            assert answer.status_code == 200
            body = answer.get_data(as_text=True)
            assert "SECRET" not in body and "REPORT" not in body and "acme" not in body, (path, body)
    assert calls == []  # the title function never ran for them

    allowed = client_for(app).get("/report/q3", headers=ALICE).get_data(as_text=True)
    assert 'content="REPORT q3 TITLE"' in allowed and 'content="about q3"' in allowed
    assert "SECRET TITLE" in client_for(app).get("/secret", headers=ALICE).get_data(as_text=True)
    assert json.loads(route(app, "/secret", ALICE).get_data(as_text=True))["response"]["_pages_store"]["data"]["title"] == "SECRET TITLE"
    assert dash.page_registry["secret"]["title"] == "SECRET TITLE"  # menus still read plain text
    assert "REPORT q3 TITLE" in route(app, "/report/q3", ALICE).get_data(as_text=True)
    assert 'content="Public home"' in client_for(app).get("/").get_data(as_text=True)  # public pages keep theirs


def test_a_protected_layout_guards_its_pages_title_and_description_too():
    """A page served to everyone whose layout is a protected() function: its stand-in, not its title."""
    from dash_auth_groups import protected

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="The App")
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    layout = protected(groups=["A"], unauthenticated_output="SIGN IN", missing_permissions_output="NO")(
        lambda **_: html.Div("BOARD CONTENT")
    )
    dash.register_page("board", path="/board", layout=layout, title="BOARD TITLE", description="BOARD NOTES")
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/", "/board"], secret_key=SECRET)

    for headers in ({}, BOB):
        text = client_for(app).get("/board", headers=headers).get_data(as_text=True)
        assert "BOARD" not in text and "<title>The App</title>" in text
        body = route(app, "/board", headers).get_data(as_text=True)
        assert "BOARD" not in body and ("SIGN IN" in body or "NO" in body)
    assert 'content="BOARD NOTES"' in client_for(app).get("/board", headers=ALICE).get_data(as_text=True)
    assert "BOARD CONTENT" in route(app, "/board", ALICE).get_data(as_text=True)


def test_a_page_and_its_protected_layout_with_different_rules_need_both():
    """Layout mode with a page rule (A) around a protected() layout (B): title and meta need both."""
    from dash_auth_groups import protected

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="The App")
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    inner = protected(groups=["B"], unauthenticated_output="SIGN IN", missing_permissions_output="NO")(
        lambda **_: html.Div("BOARD CONTENT")
    )
    dash.register_page("board", path="/board", layout=inner, groups=["A"], title="BOARD TITLE", description="NOTES")
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/"], secret_key=SECRET, auth_protect_layouts=True)
    for user in (BOB, ALICE):  # each passes one rule, not the other
        assert "BOARD" not in client_for(app).get("/board", headers=user).get_data(as_text=True)
        assert "BOARD" not in route(app, "/board", user).get_data(as_text=True)


@pytest.mark.parametrize("layout_mode", [False, True])
@pytest.mark.parametrize("warm", [False, True])
def test_under_a_prefix_the_index_never_describes_another_page(layout_mode, warm):
    """Dash looks the meta tags' page up with the prefix left on: ``/app/about`` finds ``/<team>/<report>``."""
    calls = []

    def report_title(team=None, report=None):
        calls.append((team, report))
        return f"REPORT {team}/{report}"

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="The App",
                    url_base_pathname="/app/")
    dash.register_page("home", path="/", layout=html.Div("HOME"), description="Public home")
    dash.register_page("about", path="/about", layout=html.Div("ABOUT"))
    dash.register_page("report", path_template="/<team>/<report>", layout=html.Div("R"), groups=["A"],
                       title=report_title, description="SECRET DESCRIPTION", image_url="https://x.test/SECRET.png")
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/", "/about"], secret_key=SECRET,
              auth_protect_layouts=layout_mode)
    if warm:
        assert client_for(app).get("/app/", headers=BOB).status_code == 200
    for headers in ({}, BOB, ALICE):
        response = client_for(app).get("/app/about", headers=headers)
        text = response.get_data(as_text=True)
        assert response.status_code == 200 and "SECRET" not in text and "REPORT" not in text
    assert calls == []


def test_a_dash_subclass_with_its_own_index_still_works_for_refused_users():
    class MyDash(dash.Dash):
        def index(self, *args, **kwargs):
            return super().index(*args, **kwargs).replace("</head>", "<!-- mine --></head>")

    from dash_auth_core.testing import current_backend

    app = MyDash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="The App",
                 backend=current_backend())
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("secret", path="/secret", layout=html.Div("S"), groups=["A"], title="SECRET TITLE")
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/"], secret_key=SECRET, auth_protect_layouts=True)
    assert "SECRET TITLE" in client_for(app).get("/secret", headers=ALICE).get_data(as_text=True)
    refused = client_for(app).get("/secret", headers=BOB)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "SECRET" not in text and "<!-- mine -->" in text


def test_guarded_titles_copy_and_pickle_as_plain_text():
    import copy
    import pickle

    app = pages_app(auth_protect_layouts=True)
    dash.register_page("titled", path="/titled", layout=html.Div("T"), groups=["A"], title="TITLED")
    client_for(app).get("/a", headers=ALICE)
    title = dash.page_registry["titled"]["title"]
    assert callable(title)  # guarded
    assert copy.copy(title) == copy.deepcopy(title) == pickle.loads(pickle.dumps(title)) == "TITLED"
    assert type(pickle.loads(pickle.dumps(title))) is str
    copy.deepcopy(dict(dash.page_registry))


def test_accessible_pages_leaves_out_a_page_whose_protected_layout_refuses():
    from dash_auth_groups import protected

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    board = protected(groups=["A"], missing_permissions_output="NO")(lambda **_: html.Div("BOARD"))
    dash.register_page("board", path="/board", layout=board)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="menu"), dash.page_container])

    @app.callback(Output("menu", "children"), Input("b", "n_clicks"))
    def menu(n):
        return ",".join(page["name"] for page in accessible_pages())

    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/", "/board"], secret_key=SECRET)
    names = {}
    for name, headers in (("alice", ALICE), ("bob", BOB)):
        client = client_for(app)
        client.get("/board", headers=headers)
        answer = client.post("/_dash-update-component", json=callback_body(app, "menu.children", [1]), headers=headers)
        names[name] = json.loads(answer.get_data(as_text=True))["response"]["menu"]["children"]
    assert names == {"alice": "Home,Board", "bob": "Home"}
