"""Real Dash apps: prefixes, pattern-matching, multi-output, clientside ordering,
``dash.callback`` before the app, DashProxy, background callbacks, MCP,
``api_endpoint`` and ``dash.hooks.route`` routes, and ``current_user()``."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import weakref

import dash
import pytest
from dash import ALL, MATCH, Input, Output, State, clientside_callback, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack, current_user, public_callback
from dash_auth_core.testing import (
    backend_of,
    basic_header,
    callback_body,
    client_for,
    make_dash,
    run,
    server_route,
)

USERS = {"alice": "wonderland"}
ALICE = basic_header("alice", "wonderland")


def post(client, body, headers=None, prefix="/"):
    return client.post(f"{prefix}_dash-update-component", json=body, headers=headers or {})


def test_url_base_pathname_prefixes_public_routes_and_callbacks():
    app = make_dash(__name__, url_base_pathname="/app/")
    app.layout = html.Div([html.Button(id="b"), html.Div(id="pub"), html.Div(id="priv")])

    @public_callback(Output("pub", "children"), Input("b", "n_clicks"))
    def pub(n):
        return "pub"

    @app.callback(Output("priv", "children"), Input("b", "n_clicks"))
    def priv(n):
        return "priv"

    BasicAuth(app, USERS, public_routes=["/"], secret_key=SECRET)
    client = client_for(app)
    assert client.get("/app/").status_code == 200
    assert client.get("/app/other").status_code == 401
    assert post(client, callback_body(app, "pub.children"), prefix="/app/").status_code == 200
    assert post(client, callback_body(app, "priv.children"), prefix="/app/").status_code == 401
    assert post(client, callback_body(app, "priv.children"), ALICE, prefix="/app/").status_code == 200


def test_pattern_matching_and_multi_output_callbacks():
    ran = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id={"type": "b", "index": 1}), html.Div(id={"type": "o", "index": 1}),
                           html.Div(id="a"), html.Div(id="c")])

    @public_callback(Output({"type": "o", "index": MATCH}, "children"), Input({"type": "b", "index": MATCH}, "n_clicks"))
    def matched(n):
        ran.append("match")
        return "m"

    @app.callback(Output("a", "children"), Output("c", "children"), Input({"type": "b", "index": ALL}, "n_clicks"))
    def multi(clicks):
        ran.append("multi")
        return "x", "y"

    BasicAuth(app, USERS, secret_key=SECRET)
    app._setup_server()
    match_id = next(k for k in app.callback_map if "MATCH" in k)
    multi_id = next(k for k in app.callback_map if k.startswith(".."))
    client = client_for(app)
    body = {
        "output": match_id,
        "outputs": {"id": {"type": "o", "index": 1}, "property": "children"},
        "inputs": [{"id": {"type": "b", "index": 1}, "property": "n_clicks", "value": 1}],
        "changedPropIds": ['{"index":1,"type":"b"}.n_clicks'],
    }
    response = post(client, body)
    assert response.status_code == 200, response.data
    multi_body = {
        "output": multi_id,
        "outputs": [{"id": "a", "property": "children"}, {"id": "c", "property": "children"}],
        "inputs": [[{"id": {"type": "b", "index": 1}, "property": "n_clicks", "value": 1}]],
        "changedPropIds": [],
    }
    assert post(client, multi_body).status_code == 401
    assert ran == ["match"]
    response = post(client, multi_body, ALICE)
    assert response.status_code == 200, response.data
    assert json.loads(response.data)["response"]["a"]["children"] == "x"


@pytest.mark.parametrize("clientside_first", [True, False])
def test_clientside_callbacks_do_not_shift_public_callbacks(clientside_first):
    ran = []

    def add_clientside():
        clientside_callback("function(n){return n}", Output("cs", "children"), Input("b", "n_clicks"))

    if clientside_first:
        add_clientside()

    @public_callback(Output("pub", "children"), Input("b", "n_clicks"))
    def pub(n):
        ran.append("pub")
        return "pub"

    @dash.callback(Output("priv", "children"), Input("b", "n_clicks"))
    def priv(n):
        ran.append("priv")
        return "priv"

    if not clientside_first:
        add_clientside()

    # The app is created after the callbacks were declared with dash.callback.
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="pub"), html.Div(id="priv"), html.Div(id="cs")])
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    assert post(client, callback_body(app, "pub.children")).status_code == 200
    assert post(client, callback_body(app, "priv.children")).status_code == 401
    assert ran == ["pub"]


def test_dash_extensions_dashproxy():
    # dash-extensions 2 needs Python >= 3.11: the lowest-versions job (Python 3.10) has none.
    enrich = pytest.importorskip("dash_extensions.enrich", reason="dash-extensions is not installed (Python < 3.11)")
    DashProxy = enrich.DashProxy  # noqa: N806 - the class, as its users name it

    ran = []
    app = DashProxy(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="pub"), html.Div(id="priv")])

    @public_callback(Output("pub", "children"), Input("b", "n_clicks"))
    def pub(n):
        ran.append("pub")
        return "pub"

    @app.callback(Output("priv", "children"), Input("b", "n_clicks"))
    def priv(n):
        ran.append("priv")
        return "priv"

    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    assert client.get("/").status_code == 401
    assert client_for(app).get("/", headers=ALICE).status_code == 200
    assert post(client, callback_body(app, "pub.children")).status_code == 200
    assert post(client, callback_body(app, "priv.children")).status_code == 401
    assert post(client, callback_body(app, "priv.children"), ALICE).status_code == 200
    assert ran == ["pub", "priv"]


def test_current_user_in_callbacks_layouts_and_routes():
    seen = {}
    app = make_dash(__name__)

    def layout():
        user = current_user()
        seen["layout"] = user.id if user else None
        return html.Div([html.Button(id="b"), html.Div(id="o")])

    app.layout = layout

    @app.callback(Output("o", "children"), Input("b", "n_clicks"), State("b", "id"))
    def show(n, _):
        seen["callback"] = current_user().id
        return current_user().id

    @server_route(app, "/whoami")
    def whoami():
        user = current_user()
        return user.id if user else "nobody"

    BasicAuth(app, USERS, secret_key=SECRET, public_routes=["/whoami"])
    client = client_for(app)
    client.get("/_dash-layout", headers=ALICE)
    response = post(client, callback_body(app, "o.children"), ALICE)
    assert json.loads(response.data)["response"]["o"]["children"] == "alice"
    assert seen["callback"] == "alice" and seen["layout"] == "alice"
    assert client.get("/whoami", headers=ALICE).data == b"alice"
    assert client_for(app).get("/whoami").data == b"nobody"
    assert current_user() is None  # outside any request


def test_an_ordinary_callback_gets_no_custom_data_and_still_sees_the_user():
    """The user goes into ``custom_data`` only for background callbacks (Dash's hook machinery
    costs every callback about 120 bytecode steps); everywhere else current_user() reads the request."""
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def show(n):
        user = current_user()
        return [dash.callback_context.custom_data.get("dash_auth"), user.id if user else None]

    BasicAuth(app, USERS, secret_key=SECRET)
    response = post(client_for(app), callback_body(app, "o.children"), ALICE)
    assert json.loads(response.data)["response"]["o"]["children"] == [None, "alice"]


class _WorkerContextManager(dash.DiskcacheManager):
    """A DiskcacheManager whose jobs start from an empty context, as a Celery worker's do.

    Dash's own manager forks the request's thread, and the child inherits the
    request's context variables (so current_user() would work there without
    custom_data); a worker of another host inherits nothing.
    """

    def call_job_fn(self, key, job_fn, args, context):
        import contextvars

        from multiprocess import Process

        def in_worker(*job_args):
            contextvars.Context().run(job_fn, *job_args)

        process = Process(target=in_worker, args=(key, self._make_progress_key(key), args, context))
        process.start()
        return process.pid


def _background_app(tmp_path, manager_class):
    import diskcache

    manager = manager_class(diskcache.Cache(str(tmp_path / "cache")))
    app = make_dash(__name__, background_callback_manager=manager)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o"), html.Div(id="p")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"), background=True, prevent_initial_call=True)
    def slow(n):
        user = current_user()
        return f"bg:{user.id if user else None}"

    @app.callback(Output("p", "children"), Input("b", "n_clicks"))
    def plain(n):
        user = current_user()
        return [dash.callback_context.custom_data.get("dash_auth"), user.id if user else None]

    BasicAuth(app, USERS, secret_key=SECRET)
    return app


def _background_result(app, client, body):
    first = post(client, body, ALICE)
    assert first.status_code == 202 or first.status_code == 200, first.data
    handle = json.loads(first.data)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = client.post(
            f"/_dash-update-component?cacheKey={handle['cacheKey']}&job={handle['job']}",
            json=body, headers=ALICE,
        )
        data = json.loads(response.data) if response.data else {}
        if "response" in data:
            return data["response"]["o"]["children"]
        time.sleep(0.2)
    return None


@pytest.mark.parametrize("manager_class", [dash.DiskcacheManager, _WorkerContextManager],
                         ids=["forked-job", "worker-context"])
def test_background_callback_sees_the_user(tmp_path, manager_class):
    app = _background_app(tmp_path, manager_class)
    client = client_for(app)
    body = callback_body(app, "o.children", [1])
    assert post(client, body).status_code == 401
    assert _background_result(app, client, body) == "bg:alice"
    # The app's other callbacks still get no custom_data: they read the request.
    response = post(client, callback_body(app, "p.children", [1]), ALICE)
    assert json.loads(response.data)["response"]["p"]["children"] == [None, "alice"]


def test_hooks_routes_and_api_endpoints_are_protected():
    ran = []

    @dash.hooks.route("dash-auth-test-hook-route")
    def hook_route():
        ran.append("hook")
        return "hook-data"

    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"), api_endpoint="/api/echo")
    def echo(n_clicks=None):
        ran.append("api")
        return "echo"

    app.setup_apis()
    BasicAuth(app, USERS, secret_key=SECRET)
    client = client_for(app)
    assert client.get("/dash-auth-test-hook-route").status_code == 401
    assert client.post("/api/echo", json={"n_clicks": 1}).status_code == 401
    assert ran == []
    # FastAPI sends the hook route's string as JSON.
    assert client.get("/dash-auth-test-hook-route", headers=ALICE).data.strip(b'"') == b"hook-data"
    assert client.post("/api/echo", json={"n_clicks": 1}, headers=ALICE).status_code == 200
    assert ran == ["hook", "api"]


def test_mcp_endpoint_needs_a_user():
    app = make_dash(__name__, enable_mcp=True)
    app.layout = html.Div([html.Div("private layout text", id="x")])
    BasicAuth(app, USERS, secret_key=SECRET)
    if not app._enable_mcp:
        pytest.skip("Dash could not start its MCP server here (missing optional dependency)")
    client = client_for(app)
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = client.post("/_mcp", json=request)
    assert response.status_code == 401
    assert b"private layout text" not in response.data
    assert client.post("/_mcp", json=request, headers=ALICE).status_code != 401


def test_identity_does_not_outlive_its_request():
    """A worker thread reuses its context: the next request must not see the last user."""
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, USERS, secret_key=SECRET)
    other = make_dash(__name__)  # another app in the same process, without any auth
    other.layout = html.Div("y")

    @server_route(other, "/who")
    def who():
        user = current_user()
        return user.id if user else "nobody"

    client = client_for(app)
    assert client.get("/", headers=ALICE).status_code == 200
    if backend_of(app) == "flask":  # Flask serves test requests on this very thread
        with app.server.test_request_context("/"):
            assert current_user() is None
    assert client_for(other).get("/who").data == b"nobody"


def test_a_finished_request_is_not_kept_alive_by_its_identity():
    """The context that served a request keeps no reference to it: the identity lives on the request.

    Otherwise each worker thread (or task) would keep its last request, with
    its body, session and user, in memory until the next one arrives.
    """
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, USERS, secret_key=SECRET)
    seen = {}

    @server_route(app, "/who")
    def who():
        seen["request"] = weakref.ref(AuthStack.get(app).adapter.current_request().context_key)
        return current_user().id

    gc.disable()  # what frees the request must be its reference count, not a collection
    try:
        if backend_of(app) == "flask":  # Flask serves test requests on this very thread
            response = client_for(app).get("/who", headers=ALICE)
            assert (response.status_code, response.data) == (200, b"alice")
            alive = seen["request"]() is not None
        else:
            client = client_for(app)  # runs the app's start-up

            async def in_one_task():
                assert (await client.get_in_this_task("/who", ALICE)).status_code == 200
                # Tasks the request started (a disconnect listener) hold a copy of
                # its context, with the request in it, until they finish.
                for _ in range(100):
                    if seen["request"]() is None:
                        return False
                    await asyncio.sleep(0.01)
                return True

            alive = run(in_one_task())
    finally:
        gc.enable()
    assert not alive


class _Slotted:
    __slots__ = ("scope",)


@pytest.mark.parametrize("key", [{"type": "http"}, "request-1", 12345, _Slotted()])
def test_a_request_key_without_attributes_still_holds_the_user(key):
    """A custom adapter's ``context_key`` that takes no attributes is held by the context instead."""
    from dash_auth_core import Identity
    from dash_auth_core.context import set_current_user

    class CustomRequest:
        context_key = key
        current_context_key = staticmethod(lambda: CustomRequest.context_key)

    try:
        set_current_user(Identity(id="alice"), CustomRequest)
        assert current_user().id == "alice"
        CustomRequest.context_key = "another request"
        assert current_user() is None
    finally:
        set_current_user(None)
