"""The backend adapters themselves: detection, custom adapters, blocking work, sessions, FastAPI specifics."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack, ConfigurationError, current_user, register_adapter
from dash_auth_core.backends import _adapters
from dash_auth_core.backends.flask import FlaskAdapter
from dash_auth_core.testing import (
    backend_of,
    basic_header,
    callback_body,
    client_for,
    make_dash,
    run,
    server_route,
)

ALICE = basic_header("alice", "wonderland")
USERS = {"alice": "wonderland"}


def simple_app(**kwargs):
    app = make_dash(__name__, **kwargs)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def who(n):
        user = current_user()
        return user.id if user else "nobody"

    return app


# -- detection and custom adapters -----------------------------------------------


def test_the_adapter_follows_the_apps_backend(backend):
    app = simple_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    adapter = AuthStack.get(app).adapter
    assert adapter.name == backend == backend_of(app)


def _traced_backend():
    from dash.backends._flask import FlaskDashServer

    class TracedFlaskServer(FlaskDashServer):
        """A "custom" Dash backend: Flask under another name."""

        def __init__(self, server):
            super().__init__(server)
            self.server_type = "traced-flask"

    return TracedFlaskServer


@pytest.mark.backends("flask", reason="the custom backend here is a renamed Flask backend")
def test_a_custom_backend_needs_a_registered_adapter(backend, monkeypatch):
    from dash import Dash

    monkeypatch.setattr("dash_auth_core.backends._adapters", dict(_adapters))
    app = Dash(__name__, backend=_traced_backend())
    app.layout = html.Div("x")
    with pytest.raises(ConfigurationError, match="register_adapter"):
        BasicAuth(app, USERS, secret_key=SECRET)


@pytest.mark.backends("flask", reason="the custom backend here is a renamed Flask backend")
def test_register_adapter_for_a_custom_backend(backend, monkeypatch):
    from dash import Dash

    from dash_auth_core import backends

    monkeypatch.setattr(backends, "_adapters", dict(backends._adapters))
    seen = []

    class TracedAdapter(FlaskAdapter):
        name = "traced-flask"

        def install_guard(self, guard):
            def traced(request):
                seen.append(request.path)
                return guard(request)

            super().install_guard(traced)

    register_adapter("traced-flask", TracedAdapter)
    app = Dash(__name__, backend=_traced_backend())
    app.layout = html.Div("x")
    BasicAuth(app, USERS, secret_key=SECRET)
    assert isinstance(AuthStack.get(app).adapter, TracedAdapter)
    client = app.server.test_client()
    assert client.get("/").status_code == 401
    assert client.get("/", headers=ALICE).status_code == 200
    assert seen == ["/", "/"]


def test_register_adapter_checks_its_arguments():
    with pytest.raises(ConfigurationError):
        register_adapter("", FlaskAdapter)
    with pytest.raises(ConfigurationError):
        register_adapter("x", "not callable")


# -- blocking work stays off the event loop -------------------------------------------


def _probe(calls):
    """An auth_func that records where it ran: a thread with a running event loop or not."""
    import asyncio

    def auth_func(username, password):
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        calls.append((username, on_loop))
        return (username, password) == ("alice", "wonderland")

    return auth_func


@pytest.mark.backends("quart", "fastapi", reason="only ASGI backends run the guard on an event loop")
def test_password_checks_run_in_a_worker_thread_and_cache_hits_stay_inline(backend):
    calls = []
    app = simple_app()
    BasicAuth(app, auth_func=_probe(calls), secret_key=SECRET)
    c = client_for(app, use_cookies=False)
    assert c.post("/_dash-update-component", json=callback_body(app, "o.children", [1]), headers=ALICE).status_code == 200
    assert calls == [("alice", False)]  # verified in a worker thread, not on the loop
    response = c.post("/_dash-update-component", json=callback_body(app, "o.children", [2]), headers=ALICE)
    assert b"alice" in response.data  # current_user() survived the hop to the thread and back
    assert calls == [("alice", False)]  # a cache hit: no second check
    assert c.get("/", headers=basic_header("alice", "WRONG")).status_code == 401
    assert calls[-1] == ("alice", False)


@pytest.mark.backends("quart", "fastapi", reason="only ASGI backends run the guard on an event loop")
def test_a_slow_password_check_does_not_stall_other_requests(backend, live):
    entered, release = threading.Event(), threading.Event()

    def slow_check(username, password):
        entered.set()
        release.wait(20)  # bounded: the test releases it long before
        return (username, password) == ("alice", "wonderland")

    app = simple_app()

    @server_route(app, "/health")
    def health():
        return "ok"

    BasicAuth(app, auth_func=slow_check, secret_key=SECRET, public_routes=["/health"])
    server = live(app)
    result = {}

    def signed_in_request():
        result["status"] = requests.get(server.url("/"), headers=ALICE, timeout=30).status_code

    worker = threading.Thread(target=signed_in_request)
    worker.start()
    try:
        assert entered.wait(20), "the password check never started"
        # The check is blocked right now; the server still answers others.
        health = requests.get(server.url("/health"), timeout=10)
        assert health.status_code == 200 and health.text == "ok"
        assert "status" not in result
    finally:
        release.set()
        worker.join(30)
    assert result["status"] == 200


@pytest.mark.backends("quart", "fastapi", reason="only ASGI backends run the guard on an event loop")
def test_user_groups_lookups_run_in_a_worker_thread(backend):
    calls = []
    import asyncio

    def lookup(user_id):
        try:
            asyncio.get_running_loop()
            calls.append("loop")
        except RuntimeError:
            calls.append("thread")
        return ["staff"]

    app = simple_app()
    BasicAuth(app, USERS, secret_key=SECRET, user_groups=lookup, user_groups_ttl=0)
    c = client_for(app)
    assert c.get("/", headers=ALICE).status_code == 200
    assert c.get("/").status_code == 200  # session only: the TTL of 0 asks again
    assert calls and set(calls) == {"thread"}


# -- FastAPI ---------------------------------------------------------------------------


@pytest.mark.backends("fastapi", reason="FastAPI's own API docs")
@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_fastapi_docs_need_a_user(backend, path):
    app = simple_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    c = client_for(app, use_cookies=False)
    anonymous = c.get(path)
    assert anonymous.status_code == 401
    # (The 401 page's "Try again" link names the path; the schema's "openapi" key must not appear.)
    assert b"swagger" not in anonymous.data.lower() and b'"openapi"' not in anonymous.data.lower()
    assert c.get(path, headers=ALICE).status_code == 200


@pytest.mark.backends("fastapi", reason="FastAPI's own API docs")
def test_fastapi_docs_can_be_made_public_or_switched_off(backend):
    app = simple_app()
    BasicAuth(app, USERS, secret_key=SECRET, public_routes=["/openapi.json"])
    c = client_for(app, use_cookies=False)
    assert c.get("/openapi.json").status_code == 200
    assert c.get("/docs").status_code == 401

    from fastapi import FastAPI

    off = make_dash(__name__, server=FastAPI(docs_url=None, redoc_url=None, openapi_url=None))
    off.layout = html.Div("x")
    BasicAuth(off, USERS, secret_key=SECRET)
    c = client_for(off, use_cookies=False)
    for path in ("/docs", "/redoc", "/openapi.json"):
        response = c.get(path, headers=ALICE)
        assert b"swagger" not in response.data.lower() and b'"openapi"' not in response.data.lower()


@pytest.mark.backends("fastapi", reason="Starlette's SessionMiddleware")
@pytest.mark.parametrize("order", ["before", "after"])
def test_fastapi_defers_to_the_users_session_middleware(backend, order):
    from starlette.middleware.sessions import SessionMiddleware

    app = simple_app()
    user_secret = "the-users-own-secret-0123456789"
    if order == "before":
        app.server.add_middleware(SessionMiddleware, secret_key=user_secret, session_cookie="my_session")
        BasicAuth(app, USERS)  # the server has a secret: no generated one, no warning
    else:
        BasicAuth(app, USERS, secret_key=SECRET)
        app.server.add_middleware(SessionMiddleware, secret_key=user_secret, session_cookie="my_session")
    c = client_for(app)
    response = c.get("/", headers=ALICE)
    assert response.status_code == 200
    assert [h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")] == ["my_session"]
    assert c.get("/").status_code == 200  # the user's session keeps her signed in
    with c.session_transaction() as session:
        assert session["user"]["id"] == "alice"


@pytest.mark.backends("fastapi", reason="Starlette middleware")
def test_the_session_cookie_middleware_also_works_on_its_own(backend):
    """The stack runs it inside the guard's middleware; as a middleware of its own it behaves alike."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from dash_auth_core.backends.fastapi import SessionCookieMiddleware

    def write(request):
        request.session["n"] = request.session.get("n", 0) + 1
        return PlainTextResponse(str(request.session["n"]))

    def static(request):
        return PlainTextResponse("static")

    app = SessionCookieMiddleware(Starlette(routes=[Route("/write", write), Route("/static", static)]),
                                  secret_key=SECRET)

    async def get(path, cookie=None):
        headers = [(b"host", b"testserver")] + ([(b"cookie", cookie.encode())] if cookie else [])
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("testserver", 443)}
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)
        cookies = [v.decode() for k, v in sent[0]["headers"] if k == b"set-cookie"]
        return sent[1]["body"].decode(), cookies

    body, cookies = run(get("/write"))
    assert body == "1" and len(cookies) == 1 and "secure" in cookies[0].lower()
    body, _ = run(get("/write", cookies[0].split(";", 1)[0]))
    assert body == "2"  # the cookie was read back
    assert run(get("/static")) == ("static", [])  # nothing read: nothing written


@pytest.mark.backends("fastapi", reason="Dash's FastAPI middleware")
def test_fastapi_dash_reuses_the_guards_parse_of_the_callback_body(backend, monkeypatch):
    from starlette.requests import Request as StarletteRequest

    reads = []
    original = StarletteRequest.body

    async def counting_body(self):
        reads.append(self.url.path)
        return await original(self)

    monkeypatch.setattr(StarletteRequest, "body", counting_body)
    app = simple_app()
    BasicAuth(app, USERS, secret_key=SECRET)
    c = client_for(app, use_cookies=False)
    response = c.post("/_dash-update-component", json=callback_body(app, "o.children"), headers=ALICE)
    assert response.status_code == 200
    assert json.loads(response.data)["response"]["o"]["children"] == "alice"
    assert reads == []  # Dash took the guard's parse: the body was not read and parsed again
    # A refused body is never handed on, whatever Dash's middleware would make of it.
    bad = c.post("/_dash-update-component", data=b"{not json", headers={**ALICE, "Content-Type": "application/json"})
    assert bad.status_code == 400


@pytest.mark.backends("fastapi", reason="Starlette forbids middleware once serving")
def test_fastapi_stack_after_start_up_is_a_clear_error(backend):
    app = simple_app()
    client_for(app).get("/")  # serving now
    with pytest.raises(ConfigurationError, match="before the server starts"):
        BasicAuth(app, USERS, secret_key=SECRET)


@pytest.mark.backends("fastapi", reason="FastAPI endpoints")
def test_fastapi_sync_and_async_endpoints_see_the_user(backend):
    app = simple_app()

    @app.server.get("/sync-who")
    def sync_who():
        user = current_user()
        return {"user": user.id if user else None}

    @app.server.get("/async-who")
    async def async_who():
        user = current_user()
        return {"user": user.id if user else None}

    BasicAuth(app, USERS, secret_key=SECRET, public_routes=["/sync-who", "/async-who"])
    c = client_for(app, use_cookies=False)
    for path in ("/sync-who", "/async-who"):
        assert c.get(path, headers=ALICE).get_json() == {"user": "alice"}
        assert c.get(path).get_json() == {"user": None}


# -- websocket routes that are not Dash's ---------------------------------------------------


@pytest.mark.backends("quart", "fastapi", reason="websocket routes")
def test_other_websocket_routes_need_a_user(backend, live):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    app = simple_app()
    if backend == "quart":
        from quart import websocket

        @app.server.websocket("/ws/echo")
        async def echo():
            await websocket.accept()
            await websocket.send(f"hello {current_user().id}")
            # Older Quart cancels its send queue when the handler returns, which can drop
            # the greeting before it is written: stay until the client closes.
            await websocket.receive()
    else:

        async def echo(ws):
            await ws.accept()
            await ws.send_text(f"hello {current_user().id}")

        app.server.router.add_websocket_route("/ws/echo", echo)

    BasicAuth(app, USERS, secret_key=SECRET)
    server = live(app)
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_base + "/ws/echo", open_timeout=10)
    assert refused.value.response.status_code in (401, 403)
    with connect(server.ws_base + "/ws/echo", additional_headers=ALICE, open_timeout=10) as ws:
        assert ws.recv(timeout=10) == "hello alice"


def test_scope_headers_look_up_decode_and_join_repeats():
    from dash_auth_core.backends._aio import ScopeHeaders

    plain = ScopeHeaders({"headers": [(b"authorization", b"Basic eA=="), (b"x-caf\xe9", b"\xe9t\xe9")]})
    assert plain.get("Authorization") == "Basic eA==" and plain["AUTHORIZATION"] == "Basic eA=="
    assert plain.get("x-café") == "été"  # latin-1, as ASGI servers send them
    assert plain.get("cookie") is None and "cookie" not in plain and "authorization" in plain
    assert sorted(plain) == ["authorization", "x-café"] and len(plain) == 2
    with pytest.raises(KeyError):
        plain["cookie"]
    repeated = ScopeHeaders({"headers": [(b"cookie", b"a=1"), (b"accept", b"x"), (b"cookie", b"session=s"),
                                         (b"accept", b"y")]})
    assert repeated.get("Cookie") == "a=1; session=s" and repeated.get("accept") == "x, y"
    assert len(repeated) == 2
    assert ScopeHeaders({}).get("host", "none") == "none"


@pytest.mark.backends("quart", reason="Quart's request wrapper")
def test_quart_request_headers_come_from_the_scope_as_quarts_own_do(backend):
    """``QuartRequest.header`` reads the ASGI scope; Quart's own ``Host`` and ``Remote-Addr`` still answer."""
    import asyncio

    from quart import Quart
    from quart import request as quart_request

    from dash_auth_core.backends.quart import QuartRequest

    server = Quart(__name__)

    async def check() -> None:
        headers = {"Authorization": "Basic eA==", "Cookie": "a=1; session=s", "Content-Type": "application/json"}
        async with server.test_request_context("/x", method="POST", headers=headers, http_version="1.0"):
            # What Quart's ASGI layer adds: Remote-Addr always (the peer's address, set
            # before the client's headers), Host when the client sent none.
            quart_request.headers["Remote-Addr"] = "10.1.2.3"
            scope = quart_request.scope
            scope["headers"] = [h for h in scope["headers"] if h[0] != b"host"] + [(b"remote-addr", b"6.6.6.6")]
            req = QuartRequest(quart_request._get_current_object(), {})
            assert req.header("Remote-Addr") == req.header("remote-addr") == "10.1.2.3"  # not the client's
            assert req.header("Host") == "localhost"
            # Everything else comes from the scope itself, not from werkzeug's copy.
            scope["headers"].append((b"x-only-in-scope", b"yes"))
            assert req.header("X-Only-In-Scope") == "yes" and quart_request.headers.get("X-Only-In-Scope") is None
            assert req.header("authorization") == req.header("Authorization") == "Basic eA=="
            assert req.header("Content-Type") == "application/json"
            assert req.has_session_cookie
            assert req.header("X-Missing") is None and req.header("X-Missing", "d") == "d"
            assert req.header("Remote-Addr") == quart_request.headers.get("Remote-Addr")
            assert req.header("Host") == quart_request.headers.get("Host")
            for name in ("Authorization", "Cookie", "Content-Type", "Host", "Remote-Addr"):
                assert req.header(name) == quart_request.headers.get(name), name

    asyncio.run(check())
