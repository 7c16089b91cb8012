"""The same sign-in on Dash's async backends (Quart, FastAPI): the plugin only talks to
the core's Request/Response, so its routes and hooks work wherever the core has an adapter."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from dash import Dash, html
from oidc_support import CLIENT_ID, CLIENT_SECRET, SECRET, authorize

from dash_auth_core import ConfigurationError
from dash_auth_oidc import OIDCAuth


def protected_app(backend: str) -> tuple[Dash, OIDCAuth]:
    app = Dash(__name__, backend=backend)
    app.layout = html.Div("private content")
    try:
        auth = OIDCAuth(app, secret_key=SECRET)
    except ConfigurationError as exc:  # pragma: no cover - depends on the installed core
        pytest.skip(f"dash-auth-core has no {backend} adapter here: {exc}")
    return app, auth


def test_sign_in_on_quart(idp):
    pytest.importorskip("quart", reason="the Quart backend needs quart (dash-auth-core[quart])")
    app, auth = protected_app("quart")
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)

    async def flow() -> None:
        client = app.server.test_client()
        first = await client.get("/reports")
        assert first.status_code == 302 and first.headers["Location"] == "/oidc/idp/login?next=/reports"
        to_provider = await client.get(first.headers["Location"])
        callback = urlsplit(await asyncio.to_thread(authorize, to_provider.headers["Location"]))
        done = await client.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 302 and done.headers["Location"] == "/reports"
        assert (await client.get("/reports")).status_code == 200
        replay = await client.get(f"{callback.path}?{callback.query}")
        assert replay.status_code == 400

    asyncio.run(flow())


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_sign_in_on_fastapi(idp):
    pytest.importorskip("fastapi", reason="the FastAPI backend needs fastapi (dash-auth-core[fastapi])")
    from dash import _get_app
    from fastapi.testclient import TestClient

    app, auth = protected_app("fastapi")
    auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, server_metadata_url=idp.metadata_url)
    # Dash's FastAPI start-up (which adds the page routes) asks get_app() for the app:
    # make it this one, not the last app another test created.
    _get_app.app_context.set(app)
    with TestClient(app.server, base_url="http://localhost", follow_redirects=False) as client:
        first = client.get("/reports")
        assert first.status_code == 302 and first.headers["location"] == "/oidc/idp/login?next=/reports"
        to_provider = client.get(first.headers["location"])
        callback = urlsplit(authorize(to_provider.headers["location"]))
        done = client.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 302 and done.headers["location"] == "/reports"
        assert client.get("/reports").status_code == 200
        assert client.get("/oidc/nope/login").status_code == 404
