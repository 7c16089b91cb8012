"""The path the ASGI guard judges is the path that gets routed.

Under an ASGI ``root_path`` (``uvicorn --root-path``, a mounted sub-app) the
server routes ``path`` less ``root_path``; middleware the app adds after the
stack runs between the guard and Dash and could change the path. Dash's
callback socket must still get the frame checks, and a request whose path
changed after the guard must not reach Dash unchecked.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash, run, started

pytestmark = pytest.mark.backends("quart", "fastapi", reason="ASGI scopes")

ALICE = basic_header("alice", "wonderland")


def make_app(ran: list[Any]) -> Any:
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("b", "n_clicks"), websocket=True)
    def private(n):
        ran.append(n)
        return f"private {n}"

    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
    return app


class Socket:
    """A WebSocket driven in-process against the app's ASGI callable."""

    def __init__(self, app: Any, path: str, headers: dict[str, str], **scope: Any) -> None:
        # (Built inside the test's coroutine: the app's lifespan was started before it.)
        raw = [(b"host", b"localhost"), (b"origin", b"http://localhost")]
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.app = app
        self.scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
                      "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                      "headers": raw, "client": ("127.0.0.1", 5555), "server": ("localhost", 80),
                      "subprotocols": [], "state": dict(app._test_lifespan.state), "extensions": {}, **scope}
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Future[Any] | None = None

    async def open(self) -> dict[str, Any]:
        from dash import _get_app

        _get_app.app_context.set(self.app)  # as Dash's server sets it for the sockets it serves
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.ensure_future(self.app.server(self.scope, self.inbox.get, self.outbox.put))
        return await asyncio.wait_for(self.outbox.get(), 5)

    async def call(self, payload: dict[str, Any]) -> Any:
        message = {"type": "callback_request", "rendererId": "r", "requestId": "q", "payload": payload}
        self.inbox.put_nowait({"type": "websocket.receive", "text": json.dumps(message)})
        while True:
            sent = await asyncio.wait_for(self.outbox.get(), 5)
            if sent["type"] == "websocket.close":
                return sent
            if sent["type"] == "websocket.send":
                data = json.loads(sent["text"])
                for item in data if isinstance(data, list) else [data]:
                    if item.get("type") == "callback_response":
                        return item["payload"]

    async def close(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        if self.task is not None:
            await asyncio.wait_for(asyncio.gather(self.task, return_exceptions=True), 10)


def test_under_a_root_path_the_dash_socket_gets_the_frame_checks(backend):
    ran: list[Any] = []
    app = make_app(ran)
    body = callback_body(app, "out.children", [1])
    forged = {**body, "inputs": [*body["inputs"], {"id": "b", "property": "title", "value": "x"}]}
    started(app)

    async def scenario() -> tuple[Any, Any, Any]:
        socket = Socket(app, "/app/_dash-ws-callback", ALICE, root_path="/app")
        opened = await socket.open()
        good, bad = await socket.call(body), await socket.call(forged)
        await socket.close()
        return opened, good, bad

    opened, good, bad = run(scenario())
    assert opened["type"] == "websocket.accept"
    assert good["status"] == "ok" and ran == [1]
    assert bad["status"] == "error" and bad["message"].startswith("dash-auth: 400")  # judged, message by message
    assert ran == [1]


@pytest.mark.backends("fastapi", reason="middleware added to the FastAPI app runs inside the guard")
def test_middleware_that_changes_the_path_after_the_guard_gets_no_unchecked_answer(backend):
    ran: list[Any] = []
    app = make_app(ran)

    class StripPrefix:
        """Maps ``/legacy/...`` to ``/...``: the guard judged the first, Dash would route the second."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] in ("http", "websocket") and scope["path"].startswith("/legacy/"):
                scope = {**scope, "path": scope["path"][len("/legacy"):]}
            await self.inner(scope, receive, send)

    app.server.add_middleware(StripPrefix)
    body = callback_body(app, "out.children", [1])
    client = client_for(app)
    assert client.post("/_dash-update-component", json=body, headers=ALICE).status_code == 200
    refused = client.post("/legacy/_dash-update-component", json=body, headers=ALICE)
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert ran == [1]
    started(app)

    async def scenario() -> Any:
        socket = Socket(app, "/legacy/_dash-ws-callback", ALICE)
        opened = await socket.open()
        await socket.close()
        return opened

    opened = run(scenario())
    assert opened["type"] == "websocket.close" and opened["code"] == 1011
    assert ran == [1]
