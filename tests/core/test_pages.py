"""Dash Pages: the routing callback, path templates, and the index leak."""

from __future__ import annotations

import json

import dash
import pytest
from dash import dcc, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core.testing import basic_header, client_for, make_dash, router_body

ALICE = basic_header("alice", "wonderland")


def pages_app(suppress=False, **kwargs):
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=suppress, **kwargs)
    dash.register_page("home", path="/", layout=html.Div([html.H1("Home"), dcc.Link("secret", href="/secret")]))
    dash.register_page("secret", path="/secret", layout=html.Div([html.P("TOP SECRET"), html.Div(id="secret-box")]))

    def public_user(user_id=None, **_):
        return html.H1(f"User {user_id} (public)")

    def private_user(user_id=None, **_):
        return html.H1(f"User {user_id} PRIVATE DETAILS")

    dash.register_page("pub_user", path_template="/user/<user_id>/public", layout=public_user)
    dash.register_page("priv_user", path_template="/user/<user_id>/private", layout=private_user)
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, {"alice": "wonderland"}, public_routes=["/", "/user/<user_id>/public"], secret_key=SECRET)
    return app


def route(client, pathname, headers=None):
    return client.post("/_dash-update-component", json=router_body(pathname), headers=headers or {})


def test_router_serves_public_pages_anonymously():
    app = pages_app(suppress=True)
    client = client_for(app)
    client.get("/")  # first request lets Dash register the router
    response = route(client, "/")
    assert response.status_code == 200
    assert b"Home" in response.data
    response = route(client, "/user/john/public")
    assert response.status_code == 200
    assert b"User john (public)" in response.data


@pytest.mark.parametrize("pathname", ["/secret", "/secret/", "//secret", "/user/john/private", "/user/a/b/public"])
def test_router_refuses_private_pages_anonymously(pathname):
    app = pages_app(suppress=True)
    client = client_for(app)
    client.get("/")
    response = route(client, pathname)
    assert response.status_code == 401
    assert response.is_json
    assert b"SECRET" not in response.data and b"PRIVATE" not in response.data


def test_router_serves_private_pages_to_users():
    app = pages_app(suppress=True)
    client = client_for(app)
    client.get("/", headers=ALICE)
    response = route(client, "/secret", ALICE)
    assert response.status_code == 200
    assert b"TOP SECRET" in response.data


def test_router_pathname_comes_from_the_declared_position():
    """A forged body that swaps the inputs cannot smuggle a private pathname."""
    app = pages_app(suppress=True)
    client = client_for(app)
    client.get("/")
    body = router_body("/secret", search="/")
    body["inputs"][0], body["inputs"][1] = body["inputs"][1], body["inputs"][0]
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 400
    assert b"SECRET" not in response.data


def test_private_page_url_is_refused_and_public_one_served():
    app = pages_app(suppress=True)
    client = client_for(app)
    assert client.get("/secret").status_code == 401
    assert client.get("/user/x/private").status_code == 401
    assert client.get("/user/x/public").status_code == 200
    assert client.get("/").status_code == 200


def test_index_does_not_leak_private_page_content():
    app = pages_app(suppress=False)
    client = client_for(app)
    for headers in ({}, ALICE):
        page = client.get("/", headers=headers)
        assert page.status_code == 200
        assert b"TOP SECRET" not in page.data
        assert b"PRIVATE DETAILS" not in page.data
    # The validation layout keeps the ids the renderer validates callbacks against.
    config = page.data.split(b'id="_dash-config" type="application/json">')[1].split(b"</script>")[0]
    validation = json.loads(config)["validation_layout"]
    assert "secret-box" in json.dumps(validation)
    assert "_pages_content" in json.dumps(validation)


def test_layout_is_public_when_a_page_is_public():
    app = pages_app(suppress=True)
    client = client_for(app)
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/_dash-dependencies").status_code == 200


def test_url_prefix_applies_to_public_routes_and_router():
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True,
               url_base_pathname="/app/")
    dash.register_page("home", path="/", layout=html.Div("Home"))
    dash.register_page("secret", path="/secret", layout=html.Div("TOP SECRET"))
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, {"alice": "wonderland"}, public_routes=["/"], secret_key=SECRET)
    client = client_for(app)
    assert client.get("/app/").status_code == 200
    assert client.get("/app/secret").status_code == 401
    ok = client.post("/app/_dash-update-component", json=router_body("/app/"))
    assert ok.status_code == 200 and b"Home" in ok.data
    refused = client.post("/app/_dash-update-component", json=router_body("/app/secret"))
    assert refused.status_code == 401
    outside = client.post("/app/_dash-update-component", json=router_body("/elsewhere"))
    assert outside.status_code == 400


def test_requests_prefix_differs_from_routes_prefix():
    """Behind a proxy that strips /proxied/, the server sees / but browsers send /proxied/."""
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True,
               routes_pathname_prefix="/", requests_pathname_prefix="/proxied/")
    dash.register_page("home", path="/", layout=html.Div("Home"))
    dash.register_page("secret", path="/secret", layout=html.Div("TOP SECRET"))
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, {"alice": "wonderland"}, public_routes=["/"], secret_key=SECRET)
    client = client_for(app)
    client.get("/")
    assert client.post("/_dash-update-component", json=router_body("/proxied/")).status_code == 200
    refused = client.post("/_dash-update-component", json=router_body("/proxied/secret"))
    assert refused.status_code == 401


def test_pages_index_carries_the_reload_script():
    """Client-side navigation to a private page turns the router's 401 into a page load."""
    from dash_auth_core.browser import RELOAD_ON_ROUTER_401

    app = pages_app(suppress=True)
    page = client_for(app).get("/")
    assert RELOAD_ON_ROUTER_401.encode() in page.data
    assert page.data.count(b"f.__dashAuth") == 1


def test_resources_carry_the_page_dash_renders():
    from dash_auth_core import AuthStack, Kind, hookimpl

    seen = []

    class Spy:
        @hookimpl
        def authorize(self, resource):
            if resource.page is not None or resource.kind in (Kind.PAGE, Kind.CALLBACK):
                seen.append((resource.kind, resource.pathname, (resource.page or {}).get("module")))

    app = pages_app(suppress=True)
    AuthStack.of(app).register(Spy())
    client = client_for(app)
    client.get("/user/x/public")
    route(client, "/secret", ALICE)
    route(client, "/nowhere", ALICE)
    assert (Kind.PAGE, "/user/x/public", "pub_user") in seen
    assert (Kind.CALLBACK, "/secret", "secret") in seen
    assert (Kind.CALLBACK, "/nowhere", None) in seen


# -- query strings: Dash passes their keys to the layout function ----------


def query_app(**kwargs):
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, **kwargs)

    def home():  # takes no query parameters at all
        return html.H1("Home")

    def search(q=None):
        return html.H1(f"Results for {q}")

    def report(report_id=None, **_):
        return html.H1(f"Report {report_id}")

    dash.register_page("home", path="/", layout=home)
    dash.register_page("search", path="/search", layout=search)
    dash.register_page("report", path_template="/report/<report_id>", layout=report)
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, {"alice": "wonderland"}, public_routes=["/", "/search"], secret_key=SECRET)
    client = client_for(app)
    client.get("/")
    return app, client


def route_search(client, pathname, search, headers=None):
    return client.post("/_dash-update-component", json=router_body(pathname, search=search), headers=headers or {})


def test_query_keys_the_layout_takes_pass():
    _app, client = query_app()
    response = route_search(client, "/search", "?q=dash")
    assert response.status_code == 200
    assert b"Results for dash" in response.data
    assert route_search(client, "/report/7", "?anything=1", ALICE).status_code == 200  # **kwargs


@pytest.mark.parametrize("search", ["?foo=1", "?q=1&foo=2", "?a-b=1", "?=1"])
def test_unknown_query_keys_are_a_400_not_a_dash_500(search):
    """Without the check Dash calls ``home(foo="1")``: a TypeError and a 500."""
    _app, client = query_app()
    pathname = "/search" if "q=" in search else "/"
    response = route_search(client, pathname, search)
    assert response.status_code == 400
    assert response.is_json and "query parameter" in response.get_json()["message"]


def test_a_query_key_cannot_replace_a_path_variable():
    """``/report/1?report_id=2`` would render report 2 under the rules checked for report 1."""
    _app, client = query_app()
    response = route_search(client, "/report/1", "?report_id=2", ALICE)
    assert response.status_code == 400
    assert b"Report 2" not in response.data
    assert "path variable" in response.get_json()["message"]


def test_private_pages_reveal_nothing_about_their_query_parameters_to_anonymous_users():
    _app, client = query_app()
    assert route_search(client, "/report/1", "?report_id=2").status_code == 401
    assert route_search(client, "/report/1", "?x=1").status_code == 401


def test_the_not_found_page_is_checked_too():
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.H1("Home"))
    dash.register_page("not_found_404", path="/404", layout=lambda: html.H1("Nothing here"))
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, {"alice": "wonderland"}, public_routes=["/", "/missing"], secret_key=SECRET)
    client = client_for(app)
    client.get("/")
    assert route_search(client, "/missing", "").status_code == 200
    assert route_search(client, "/missing", "?x=1").status_code == 400


def shadowing_app(public_routes, first="template"):
    """A template page ``/<slug>`` and a page ``/about``: Dash renders whichever comes first in its order."""
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)

    def slug_page(slug=None, **_):
        return html.P(f"PRIVATE NOTES {slug}")

    template_order, about_order = (1, 2) if first == "template" else (2, 1)
    dash.register_page("home", path="/", layout=html.P("Home"), order=0)
    dash.register_page("slug", path_template="/<slug>", layout=slug_page, order=template_order)
    dash.register_page("about", path="/about", layout=html.P("About us"), order=about_order)
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, {"alice": "wonderland"}, public_routes=public_routes, secret_key=SECRET)
    return app


def test_a_public_rule_does_not_publish_the_template_page_that_shadows_its_page(caplog):
    app = shadowing_app(["/", "/about"])
    client = client_for(app)
    client.get("/")
    for response in (client.get("/about"), route(client, "/about")):
        assert response.status_code == 401
        assert b"PRIVATE NOTES" not in response.data
    assert "shadows another page" in caplog.text
    signed_in = route(client, "/about", ALICE)
    assert signed_in.status_code == 200 and b"PRIVATE NOTES about" in signed_in.data  # what Dash renders


@pytest.mark.parametrize("rules", [["/", "/about", "/<slug>"], ["/", "/<path:anything>"]])
def test_the_shadowing_template_page_is_public_when_its_template_is(rules):
    app = shadowing_app(rules)
    client = client_for(app)
    client.get("/")
    response = route(client, "/about")
    assert response.status_code == 200 and b"PRIVATE NOTES about" in response.data


def test_a_public_rule_for_the_page_dash_renders_is_unchanged():
    app = shadowing_app(["/", "/about"], first="about")  # /about is registered first: Dash renders it
    client = client_for(app)
    client.get("/")
    assert client.get("/about").status_code == 200
    response = route(client, "/about")
    assert response.status_code == 200 and b"About us" in response.data
    assert route(client, "/other").status_code == 401  # the template page stays private


def test_a_narrower_public_rule_for_an_unshadowed_template_page_still_works():
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.P("Home"))
    dash.register_page("post", path_template="/blog/<post_id>", layout=lambda post_id=None, **_: html.P(f"Post {post_id}"))
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, {"alice": "wonderland"}, public_routes=["/", "/blog/<int:post_id>"], secret_key=SECRET)
    client = client_for(app)
    client.get("/")
    assert route(client, "/blog/7").status_code == 200
    assert route(client, "/blog/draft").status_code == 401


def test_under_a_prefix_a_public_pages_index_never_describes_a_private_template_page():
    """Dash finds the meta tags' page with the prefix left on: ``/app/about`` matches ``/<team>/<report>``."""
    calls = []

    def title(team=None, report=None):
        calls.append((team, report))
        return "PRIVATE TITLE"

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="The App",
                    url_base_pathname="/app/")
    dash.register_page("about", path="/about", layout=html.Div("ABOUT"), description="About us")
    dash.register_page("report", path_template="/<team>/<report>", layout=html.Div("R"), title=title,
                       description="PRIVATE DESCRIPTION", image_url="https://x.test/PRIVATE.png")
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, {"alice": "wonderland"}, public_routes=["/about"], secret_key=SECRET)
    response = client_for(app).get("/app/about")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "PRIVATE" not in text and "<title>The App</title>" in text
    assert calls == []


@pytest.mark.backends("flask", reason="a pure function over the page registry")
def test_the_template_index_never_misses_a_template_page_dash_would_pick():
    """The guard judges only the public rules some template page might be resolved for (thousands of
    rules times thousands of pages would take minutes): a rule the index rules out must be one for which
    Dash's own resolver picks no template page."""
    import random

    from dash_auth_core.pages import TemplateIndex, resolve

    make_dash(__name__, use_pages=True, pages_folder="")
    templates = ["/team/<tid>", "/team/<tid>/public", "/<slug>", "/a-<x>/b", "/r/<a>/<b>", "/[x]/<y>", "/docs/*/<z>"]
    for index, template in enumerate(templates):
        dash.register_page(f"t{index}", path_template=template, layout=html.Div())
    dash.register_page("explicit", path="/elsewhere", path_template="/shown/<v>", layout=html.Div())
    dash.register_page("plain", path="/about", layout=html.Div())
    rng = random.Random(2326)
    words = ["team", "public", "a-1", "b", "r", "x", "[x]", "docs", "*", "about", "elsewhere", "shown", ""]
    paths = {"/" + "/".join(rng.choice(words) for _ in range(rng.randint(0, 4))) for _ in range(3000)}
    for registry in (list(dash.page_registry.values()), [p for p in dash.page_registry.values() if p["module"] != "t2"]):
        saved = dict(dash.page_registry)
        dash.page_registry.clear()
        dash.page_registry.update({p["module"]: p for p in registry})
        try:
            index = TemplateIndex(dash.page_registry.values())
            for path in paths:
                page = resolve(path)
                if page is not None and page.get("path_template"):
                    assert index.may_resolve(path), path
        finally:
            dash.page_registry.clear()
            dash.page_registry.update(saved)
    assert not TemplateIndex([{"path": "/about", "path_template": None}])
