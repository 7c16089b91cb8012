"""The same sign-in on Dash's async backends (Quart, FastAPI): the plugin only talks to
the core's Request/Response, so its routes and hooks work wherever the core has an adapter."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from dash import Dash, html
from oidc_support import CLIENT_ID, CLIENT_SECRET, SECRET, TamperingProxy, authorize

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


# -- WebSocket callbacks never spend the browser's refresh token --------------------


class _RotatingProxy(TamperingProxy):
    """A provider front whose refresh tokens work once (rotation, as Auth0, Okta or Keycloak do)."""

    def __init__(self, upstream):
        self.used: set[str] = set()
        super().__init__(upstream)

    def _wsgi(self, environ, start_response):
        import io
        import json

        from werkzeug.wrappers import Request as WzRequest
        from werkzeug.wrappers import Response as WzResponse

        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        request = WzRequest(dict(environ, **{"wsgi.input": io.BytesIO(raw)}))
        if request.path == "/token" and request.form.get("grant_type") == "refresh_token":
            token = request.form.get("refresh_token")
            if token in self.used:
                return WzResponse(json.dumps({"error": "invalid_grant"}), 400, content_type="application/json")(
                    environ, start_response)
            self.used.add(token)
        return super()._wsgi(environ, start_response)


@pytest.mark.parametrize("server_backend", ["quart", "fastapi"])
def test_a_socket_never_refreshes_the_tokens_the_browser_s_cookie_holds(idp, clock, monkeypatch, server_backend):
    """A socket's session is its handshake's: a refresh there would spend a single-use refresh
    token the browser's cookie still holds, and sign the browser out at its next request. Public
    callbacks in the app: a handshake with expired tokens must not become an anonymous socket."""
    import requests
    from dash import Input, Output
    from live_servers import LiveApp
    from ws_client import Socket

    from dash_auth_core import current_user, public_callback
    from dash_auth_core.testing import callback_body, make_dash, use_backend

    monkeypatch.setattr("dash_auth_oidc.renewal.REFRESH_REUSE_SECONDS", 0.0)
    front = _RotatingProxy(idp)
    use_backend(server_backend)
    server = None
    try:
        app = make_dash(__name__)
        app.layout = html.Div([html.Button(id="btn"), html.Div(id="out"), html.Div(id="pub")])

        @app.callback(Output("out", "children"), Input("btn", "n_clicks"), websocket=True)
        def private(n):
            return f"hi {current_user().id}"

        @public_callback(Output("pub", "children"), Input("btn", "n_clicks"), websocket=True)
        def public(n):
            return "public"

        auth = OIDCAuth(app, secret_key=SECRET)
        auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                               server_metadata_url=front.metadata_url, issuer=idp.url)
        auth.plugin.set_clock(clock)
        server = LiveApp(app).start()
        browser = requests.Session()
        response = browser.get(server.url("/"), allow_redirects=False, timeout=10)
        response = browser.get(server.url(response.headers["Location"]), allow_redirects=False, timeout=10)
        assert browser.get(authorize(response.headers["Location"], "alice"), allow_redirects=False,
                           timeout=10).status_code == 302
        body = callback_body(app, "out.children", [1])
        cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
        ws = Socket(server, headers=cookie)
        # Past the refresh point, within the token's lifetime: served, and nothing refreshed.
        clock.advance(3600 - 30)
        assert ws.call(body)["data"]["response"]["out"]["children"] == "hi alice"
        assert front.used == set()
        # Past expiry too (the login holds as the session does; no reload at every token expiry),
        # and a socket that reconnects with the same cookie (Dash closes idle ones) is signed in.
        clock.advance(60)
        assert ws.call(body)["data"]["response"]["out"]["children"] == "hi alice"
        ws.ws.close()
        with Socket(server, headers=cookie) as again:
            assert again.call(body)["data"]["response"]["out"]["children"] == "hi alice"
        assert front.used == set()
        # The browser's own request renews the tokens with the refresh token its cookie holds.
        response = browser.post(server.url("/_dash-update-component"), json=body, timeout=10)
        assert response.status_code == 200 and len(front.used) == 1
        # An hour past the old tokens' expiry, a socket with the old cookie is not an anonymous
        # one (the app has public callbacks): it closes with 4001 and the page reloads.
        clock.advance(3600)
        assert Socket(server, headers=cookie).wait_closed().code == 4001
    finally:
        use_backend("flask")
        if server is not None:
            server.stop()
        front.stop()


def _socket_after_the_login_ended(provider, clock, monkeypatch, revoke):
    """Once the HTTP side has ended an OIDC login, its sockets end too (they held it for the
    whole session_lifetime)."""
    import requests
    from dash import Input, Output
    from live_servers import LiveApp
    from ws_client import Closed, Socket

    from dash_auth_core import current_user
    from dash_auth_core.testing import callback_body, make_dash, use_backend

    monkeypatch.setattr("dash_auth_oidc.renewal.REFRESH_REUSE_SECONDS", 0.0)
    use_backend("fastapi")  # (the socket logic is the core's, shared with Quart)
    server = None
    try:
        app = make_dash(__name__)
        app.layout = html.Div([html.Button(id="btn"), html.Div(id="out")])

        @app.callback(Output("out", "children"), Input("btn", "n_clicks"), websocket=True)
        def private(n):
            return f"secret for {current_user().id}"

        auth = OIDCAuth(app, secret_key=SECRET)
        auth.register_provider("idp", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                               server_metadata_url=provider.metadata_url)
        auth.plugin.set_clock(clock)
        server = LiveApp(app).start()
        browser = requests.Session()
        r = browser.get(server.url("/"), allow_redirects=False, timeout=10)
        r = browser.get(server.url(r.headers["Location"]), allow_redirects=False, timeout=10)
        assert browser.get(authorize(r.headers["Location"], "alice"), allow_redirects=False, timeout=10).status_code == 302
        cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
        body = callback_body(app, "out.children", [1])
        open_ws = Socket(server, headers=cookie)
        assert open_ws.call(body)["status"] == "ok"
        if revoke:
            provider.revoke("alice")  # the provider ends the grant (user disabled, admin revoked sessions)
        clock.advance(3600 + 60)  # past the access token's expiry
        # The HTTP side: the refresh fails (or there is none): the login ends, the browser is signed out.
        r = browser.get(server.url("/"), allow_redirects=False, timeout=10)
        assert r.status_code in (302, 401)
        r = requests.get(server.url("/"), headers=cookie, allow_redirects=False, timeout=10)
        assert r.status_code in (302, 401)  # the old cookie is refused over HTTP
        # The open socket closes with 4001 (the page reloads to the sign-in), and the old cookie
        # opens no signed-in socket.
        with pytest.raises(Closed) as closed:
            open_ws.call(body)
        assert closed.value.code == 4001
        assert Socket(server, headers=cookie).wait_closed().code == 4001
    finally:
        use_backend("flask")
        if server is not None:
            server.stop()


def test_a_socket_closes_when_the_provider_refused_to_renew_its_login(idp, clock, monkeypatch):
    _socket_after_the_login_ended(idp, clock, monkeypatch, revoke=True)


def test_a_socket_closes_when_its_tokens_expire_without_a_refresh_token(idp_no_refresh, clock, monkeypatch):
    _socket_after_the_login_ended(idp_no_refresh, clock, monkeypatch, revoke=False)
