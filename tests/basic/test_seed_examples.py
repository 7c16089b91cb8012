"""The seed README examples, kept under examples/ with only the import line changed, still work."""

from __future__ import annotations

import json
import pathlib
import runpy
import sys

import dash
import pytest
from dash import html

from dash_auth_core.testing import (
    backend_of,
    basic_header,
    callback_body,
    client_for,
    current_backend,
    router_body,
)

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


class _DashOnBackend(dash.Dash):
    """``Dash`` as the examples write it, created on the backend under test."""

    def __init__(self, *args, **kwargs):
        if "server" not in kwargs:
            kwargs.setdefault("backend", current_backend())
        super().__init__(*args, **kwargs)


def load(relative: str) -> dict:
    path = EXAMPLES / relative
    sys.path.insert(0, str(path.parent))
    original = dash.Dash
    dash.Dash = _DashOnBackend  # the examples' ``from dash import Dash`` picks it up
    try:
        namespace = runpy.run_path(str(path), run_name="seed_example")
    finally:
        dash.Dash = original
        sys.path.remove(str(path.parent))
    app = namespace.get("app")
    if app is not None and app.layout is None:
        # The seed snippets leave the layout out; Dash itself refuses to serve without one.
        app.layout = html.Div("seed example")
    return namespace


def test_basic_auth_dict_example(backend):
    app = load("seed_basic_auth.py")["app"]
    assert backend_of(app) == backend
    client = client_for(app)
    assert client.get("/").status_code == 401
    assert client.get("/", headers=basic_header("username", "password")).status_code == 200
    assert client.get("/", headers=basic_header("user2", "useSomethingMoreSecurePlease")).status_code == 200
    assert client.get("/", headers=basic_header("user2", "password")).status_code == 401


def test_auth_func_example():
    app = load("seed_auth_func.py")["app"]
    client = client_for(app)
    assert client.get("/", headers=basic_header("hello", "world")).status_code == 200
    assert client.get("/", headers=basic_header("hello", "word")).status_code == 401


def test_public_routes_example():
    app = load("seed_public_routes.py")["app"]
    client = client_for(app)
    assert client.get("/").status_code == 200
    assert client.get("/user/jane/public").status_code == 200
    assert client.get("/user/jane/private").status_code == 401


def test_pages_example_with_public_callback():
    app = load("seed_pages/app.py")["app"]
    client = client_for(app)
    assert client.get("/").status_code == 200
    assert client.get("/user/john_doe/public").status_code == 200
    assert client.get("/user/john_doe/private").status_code == 401
    home = client.post("/_dash-update-component", json=callback_body(app, "home-contents.children", [2]))
    assert home.status_code == 200
    assert json.loads(home.data)["response"]["home-contents"]["children"] == "You clicked the button 2 times"
    public_page = client.post("/_dash-update-component", json=router_body("/user/john_doe/public"))
    assert public_page.status_code == 200 and b"User john_doe (public)" in public_page.data
    private_page = client.post("/_dash-update-component", json=router_body("/user/john_doe/private"))
    assert private_page.status_code == 401
    assert b"Members-only" not in private_page.data
    signed_in = client_for(app)
    headers = basic_header("username", "password")
    response = signed_in.post("/_dash-update-component", json=router_body("/user/john_doe/private"), headers=headers)
    assert response.status_code == 200 and b"Members-only information" in response.data


@pytest.mark.parametrize("name", ["demo_basic.py"])
def test_demo_app(name):
    app = load(name)["create_app"]()
    client = client_for(app)
    assert client.get("/").status_code == 200
    assert client.get("/reports").status_code == 401
    assert client.get("/reports", headers=basic_header("analyst", "analyst-password")).status_code == 200
    assert client.post("/_dash-update-component", json=callback_body(app, "public-out.children", [1])).status_code == 200
    anonymous = client_for(app)
    assert anonymous.post("/_dash-update-component", json=callback_body(app, "private-out.children", [1])).status_code == 401
