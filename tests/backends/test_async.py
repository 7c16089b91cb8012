"""Async callbacks (``dash[async]``) and async page layouts on every backend, with ``current_user()``."""

from __future__ import annotations

import asyncio
import json

import dash
import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import current_user, public_callback
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash, router_body

ALICE = basic_header("alice", "wonderland")
BOB = basic_header("bob", "builder")
USERS = {"alice": "wonderland", "bob": "builder"}
GROUPS = {"alice": ["admins"], "bob": ["staff"]}


def children(response, component):
    assert response.status_code == 200, response.data[:300]
    return json.loads(response.data)["response"][component]["children"]


def test_async_callbacks_see_the_user_and_are_guarded(backend):
    ran = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o"), html.Div(id="p")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    async def private(n):
        await asyncio.sleep(0)
        user = current_user()
        ran.append(("private", user.id if user else None))
        return f"private for {user.id if user else None}"

    @public_callback(Output("p", "children"), Input("b", "n_clicks"))
    async def public(n):
        await asyncio.sleep(0)
        user = current_user()
        ran.append(("public", user.id if user else None))
        return f"public for {user.id if user else None}"

    BasicAuth(app, USERS, secret_key=SECRET)
    c = client_for(app, use_cookies=False)
    assert c.post("/_dash-update-component", json=callback_body(app, "o.children", [1])).status_code == 401
    assert children(c.post("/_dash-update-component", json=callback_body(app, "o.children", [1]), headers=ALICE),
                    "o") == "private for alice"
    assert children(c.post("/_dash-update-component", json=callback_body(app, "p.children", [1])), "p") == "public for None"
    assert ran == [("private", "alice"), ("public", None)]


def test_async_page_layouts_see_the_user_and_private_pages_stay_private(backend):
    seen = []
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)

    async def home(**_kwargs):
        await asyncio.sleep(0)
        user = current_user()
        seen.append(user.id if user else None)
        return html.Div(f"HOME for {user.id if user else 'visitor'}")

    async def secret(**_kwargs):
        await asyncio.sleep(0)
        seen.append(("secret", current_user().id))
        return html.Div("TOP SECRET")

    dash.register_page("home", path="/", layout=home)
    dash.register_page("secret", path="/secret", layout=secret)
    BasicAuth(app, USERS, public_routes=["/"], secret_key=SECRET)
    c = client_for(app, use_cookies=False)
    c.get("/")
    assert b"HOME for visitor" in c.post("/_dash-update-component", json=router_body("/")).data
    refused = c.post("/_dash-update-component", json=router_body("/secret"))
    assert refused.status_code == 401 and b"TOP SECRET" not in refused.data
    signed_in = c.post("/_dash-update-component", json=router_body("/secret"), headers=ALICE)
    assert b"TOP SECRET" in signed_in.data
    assert [s for s in seen if isinstance(s, tuple)] == [("secret", "alice")]  # never rendered anonymously


def test_async_protected_callback_applies_its_group_rule(backend):
    from dash_auth_groups import protected_callback

    ran = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="admin"), html.Div(id="soft")])

    @protected_callback(Output("admin", "children"), Input("b", "n_clicks"), groups=["admins"])
    async def admin_only(n):
        await asyncio.sleep(0)
        ran.append(current_user().id)
        return "admin data"

    @protected_callback(Output("soft", "children"), Input("b", "n_clicks"), groups=["admins"],
                        missing_permissions_output="not for you")
    async def soft(n):
        await asyncio.sleep(0)
        ran.append(("soft", current_user().id))
        return "soft admin data"

    BasicAuth(app, USERS, secret_key=SECRET, user_groups=GROUPS)
    c = client_for(app, use_cookies=False)
    body = callback_body(app, "admin.children", [1])
    assert c.post("/_dash-update-component", json=body, headers=BOB).status_code == 403
    assert children(c.post("/_dash-update-component", json=body, headers=ALICE), "admin") == "admin data"
    soft_body = callback_body(app, "soft.children", [1])
    assert children(c.post("/_dash-update-component", json=soft_body, headers=BOB), "soft") == "not for you"
    assert ran == ["alice"]


def test_async_layout_protection_with_protected(backend):
    from dash_auth_groups import protected

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)

    @protected(unauthenticated_output=html.Div("SIGN IN FIRST"), missing_permissions_output=html.Div("ADMINS ONLY"),
               groups=["admins"])
    async def admin_page(**_kwargs):
        await asyncio.sleep(0)
        return html.Div(f"ADMIN PAGE for {current_user().id}")

    dash.register_page("home", path="/", layout=html.Div("home"))
    dash.register_page("admin", path="/admin", layout=admin_page)
    BasicAuth(app, USERS, public_routes=["/", "/admin"], secret_key=SECRET, user_groups=GROUPS)
    c = client_for(app, use_cookies=False)
    c.get("/")
    assert b"SIGN IN FIRST" in c.post("/_dash-update-component", json=router_body("/admin")).data
    assert b"ADMINS ONLY" in c.post("/_dash-update-component", json=router_body("/admin"), headers=BOB).data
    assert b"ADMIN PAGE for alice" in c.post("/_dash-update-component", json=router_body("/admin"), headers=ALICE).data


@pytest.mark.backends("quart", "fastapi", reason="async views of the ASGI backends")
def test_many_concurrent_requests_keep_their_own_users(backend):
    """Requests interleaved on one event loop never see each other's user."""
    from dash_auth_core.testing import AsgiClient, run

    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    async def who(n):
        for _ in range(3):
            await asyncio.sleep(0)  # let the other requests run in between
        user = current_user()
        return f"{n}:{user.id if user else None}"

    BasicAuth(app, USERS, secret_key=SECRET)
    c = AsgiClient(app, use_cookies=False)
    c.get("/")

    async def one(n, headers):
        scope_headers = {**headers, "Content-Type": "application/json"}
        body = json.dumps(callback_body(app, "o.children", [n])).encode()
        pairs = [(k.lower().encode(), v.encode()) for k, v in scope_headers.items()]
        pairs += [(b"host", b"localhost"), (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/_dash-update-component", "raw_path": b"/_dash-update-component",
                 "query_string": b"", "root_path": "", "headers": pairs, "client": ("127.0.0.1", 1),
                 "server": ("localhost", 80), "state": {}}
        return await c._call(scope, [body])

    async def all_of_them():
        return await asyncio.gather(*[one(n, ALICE if n % 2 else BOB) for n in range(20)])

    results = run(all_of_them())
    for n, (status, _headers, body) in enumerate(results):
        assert status == 200
        expected = "alice" if n % 2 else "bob"
        assert json.loads(body)["response"]["o"]["children"] == f"{n}:{expected}"
