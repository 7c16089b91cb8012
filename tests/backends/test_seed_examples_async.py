"""dash-auth-async's README examples for Quart and FastAPI, and its WebSocket advice, kept under examples/."""

from __future__ import annotations

import warnings

import pytest
import requests
from seed_examples import load_example

from dash_auth_core.testing import basic_header, callback_body, client_for, router_body, stop_all


@pytest.fixture(autouse=True)
def _stop_asgi_apps():
    yield
    stop_all()  # the ASGI apps these examples start (their backend is in the example)


def test_quart_basic_example():
    """"The auth setup is identical to the Flask examples above" (no secret: one per process, with a warning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = load_example("seed_async_quart_basic.py")["app"]
    assert app.backend.server_type == "quart"
    assert any("generated a secret key" in str(w.message) for w in caught)
    client = client_for(app)
    assert client.get("/").status_code == 401
    assert client.get("/", headers=basic_header("admin", "admin")).status_code == 200
    assert client.get("/", headers=basic_header("viewer", "viewer123")).status_code == 200
    assert client.get("/", headers=basic_header("viewer", "admin")).status_code == 401


def test_fastapi_basic_example():
    """"A secret_key installs Starlette's SessionMiddleware": a signed-in browser keeps its session."""
    app = load_example("seed_async_fastapi_basic.py")["app"]
    assert app.backend.server_type == "fastapi"
    client = client_for(app)
    assert client.get("/").status_code == 401
    assert client.get("/docs").status_code == 401  # FastAPI's own pages are protected too
    assert client.get("/", headers=basic_header("admin", "admin")).status_code == 200
    assert client.get("/").status_code == 200  # the session cookie alone
    assert client_for(app).get("/", headers=basic_header("admin", "viewer123")).status_code == 401


@pytest.mark.timeout(120)
def test_websocket_example(live, socket_to):
    """Routing and login on HTTP; the streaming callback over the socket, for signed-in users only."""
    app = load_example("seed_async_websocket.py")["app"]
    server = live(app)
    assert requests.get(server.url("/"), timeout=10).status_code == 200  # public home
    assert requests.get(server.url("/live"), timeout=10).status_code == 401
    anonymous = requests.post(server.url("/_dash-update-component"), json=router_body("/live"), timeout=10)
    assert anonymous.status_code == 401 and b"Live numbers" not in anonymous.content
    body = callback_body(app, "live-out.children", [3])
    with socket_to(server) as ws:
        refused = ws.call(body)
        assert refused["status"] == "error" and "401" in refused["message"]
    session = requests.Session()
    assert session.get(server.url("/live"), headers=basic_header("viewer", "viewer-password"), timeout=10).status_code == 200
    cookies = {"Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items())}
    with socket_to(server, headers=cookies) as ws:
        answer = ws.call(body)
        assert answer["status"] == "ok", answer
        assert answer["data"]["response"]["live-out"]["children"] == "update 3 for viewer"
