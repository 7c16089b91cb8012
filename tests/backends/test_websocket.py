"""Authenticated WebSocket callbacks on Quart (hypercorn) and FastAPI (uvicorn).

Real servers on 127.0.0.1 and a real WebSocket client (``websockets``): the
handshake, every message, logouts and expiry, the per-callback rules, and
bad input (which must end in a clean close or an error reply, never in a
crashed server or a callback that ran).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct

import dash
import pytest
import redis
import requests
from dash import Input, Output, dcc, html
from helpers import SECRET
from ws_client import Socket

from dash_auth_basic import BasicAuth
from dash_auth_core import current_user, public_callback, revoke_user
from dash_auth_core.browser import BROWSER_COOKIE
from dash_auth_core.testing import basic_header, callback_body, make_dash, router_body
from dash_auth_core.websocket import CLOSE_AUTH, CLOSE_RECONNECT, LOGIN_REQUIRED

pytestmark = [pytest.mark.backends("quart", "fastapi", reason="Dash serves WebSocket callbacks on ASGI backends"),
              pytest.mark.timeout(120)]

USERS = {"alice": "wonderland", "bob": "builder"}
ALICE = basic_header("alice", "wonderland")


def make_app(ran, public=True, **options):
    """Protected and public callbacks over the socket; ``ran`` records every body that runs."""
    app = make_dash(__name__, **options.pop("dash", {}))
    app.layout = html.Div([html.Button(id="btn"), html.Div(id="out"), html.Div(id="pub"), html.Div(id="async-out"),
                           html.Div(id="http-only")])

    @app.callback(Output("out", "children"), Input("btn", "n_clicks"), websocket=True)
    def private(n):
        user = current_user()
        ran.append(("private", n, user.id if user else None))
        return f"private {n} for {user.id if user else None}"

    @app.callback(Output("async-out", "children"), Input("btn", "n_clicks"), websocket=True)
    async def private_async(n):
        await asyncio.sleep(0)
        user = current_user()
        ran.append(("async", n, user.id if user else None))
        return f"async {n} for {user.id if user else None}"

    @app.callback(Output("http-only", "children"), Input("btn", "n_clicks"))
    def http_only(n):
        ran.append(("http-only", n))
        return "http"

    if public:

        @public_callback(Output("pub", "children"), Input("btn", "n_clicks"), websocket=True)
        def public_cb(n):
            user = current_user()
            ran.append(("public", n, user.id if user else None))
            return f"public {n}"

    BasicAuth(app, USERS, secret_key=SECRET, **options)
    return app


def sign_in(server, headers=ALICE):
    """A browser-like session: Basic once, then the session cookie."""
    session = requests.Session()
    response = session.get(server.url("/"), headers=headers, timeout=10)
    assert response.status_code == 200
    return session


def cookie_header(session):
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items())}


def output_of(payload, component):
    assert payload["status"] == "ok", payload
    return payload["data"]["response"][component]["children"]


# -- connect -------------------------------------------------------------------


def test_signed_in_socket_runs_protected_callbacks_as_the_user(backend, live, socket_to):
    ran = []
    app = make_app(ran)
    server = live(app)
    session = sign_in(server)
    with socket_to(server, headers=cookie_header(session)) as ws:
        assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
        assert output_of(ws.call(callback_body(app, "async-out.children", [2])), "async-out") == "async 2 for alice"
        assert output_of(ws.call(callback_body(app, "pub.children", [3])), "pub") == "public 3"
    assert ran == [("private", 1, "alice"), ("async", 2, "alice"), ("public", 3, "alice")]


def test_basic_header_on_the_handshake_signs_the_socket_in(backend, live, socket_to):
    ran = []
    app = make_app(ran)
    server = live(app)
    with socket_to(server, headers=ALICE) as ws:
        assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"


def test_anonymous_socket_serves_public_callbacks_only(backend, live, socket_to):
    ran = []
    app = make_app(ran)
    server = live(app)
    with socket_to(server) as ws:
        assert output_of(ws.call(callback_body(app, "pub.children", [1])), "pub") == "public 1"
        refused = ws.call(callback_body(app, "out.children", [2]))
        assert refused["status"] == "error" and "401" in refused["message"]
        refused = ws.call(callback_body(app, "async-out.children", [3]))
        assert refused["status"] == "error"
        # The socket stays usable for what is public.
        assert output_of(ws.call(callback_body(app, "pub.children", [4])), "pub") == "public 4"
    assert ran == [("public", 1, None), ("public", 4, None)]


def test_an_anonymous_socket_reconnects_when_its_browser_signs_in(backend, live, socket_to):
    """Dash's client shares one socket between a browser's tabs: one tab's sign-in must reach it."""
    ran = []
    app = make_app(ran)
    server = live(app)
    # The random value the pages' script keeps in a cookie names the browser.
    browser = {"Cookie": f"{BROWSER_COOKIE}=0123456789abcdef0123456789abcdef"}
    mine = socket_to(server, headers=browser)
    other = socket_to(server, headers={"Cookie": f"{BROWSER_COOKIE}=fedcba9876543210fedcba9876543210"})
    bare = socket_to(server)  # a client without the cookie (no script ran)
    try:
        assert output_of(mine.call(callback_body(app, "pub.children", [1])), "pub") == "public 1"
        assert output_of(other.call(callback_body(app, "pub.children", [2])), "pub") == "public 2"
        sign_in(server, headers={**ALICE, **browser})  # this browser signs in
        closed = mine.wait_closed()
        assert closed.code == CLOSE_RECONNECT and not closed.reason.startswith("dash-auth/auth:")  # no reload
        # Other browsers' anonymous sockets are left alone, whoever signs in.
        sign_in(server, headers=ALICE)
        assert output_of(other.call(callback_body(app, "pub.children", [3])), "pub") == "public 3"
        assert output_of(bare.call(callback_body(app, "pub.children", [4])), "pub") == "public 4"
    finally:
        other.ws.close()
        bare.ws.close()


def test_anonymous_socket_is_closed_with_4001_when_nothing_is_public(backend, live, socket_to):
    ran = []
    app = make_app(ran, public=False)
    server = live(app)
    ws = socket_to(server)
    closed = ws.wait_closed()
    assert closed.code == CLOSE_AUTH  # 4001: Dash's client does not reconnect
    assert closed.reason.startswith("dash-auth/auth:")
    assert ran == []


def test_wrong_basic_credentials_on_the_handshake(backend, live, socket_to):
    ran = []
    app = make_app(ran, public=False)
    server = live(app)
    closed = socket_to(server, headers=basic_header("alice", "WRONG")).wait_closed()
    assert closed.code == CLOSE_AUTH
    assert ran == []


def test_wrong_cached_basic_credentials_still_serve_what_is_public(backend, live, socket_to):
    """A browser may keep sending Basic credentials that no longer hold: HTTP serves it public
    pages anonymously, and so does its socket (closing it would reload the page in a loop)."""
    ran = []
    app = make_app(ran, public=True)
    server = live(app)
    with socket_to(server, headers=basic_header("alice", "WRONG")) as ws:
        assert output_of(ws.call(callback_body(app, "pub.children", [1])), "pub") == "public 1"
    assert ran == [("public", 1, None)]


def test_cross_origin_handshake_is_refused_by_dash(backend, live):
    from websockets.exceptions import InvalidStatus

    ran = []
    app = make_app(ran)
    server = live(app)
    session = sign_in(server)
    try:
        ws = Socket(server, headers=cookie_header(session), origin="http://evil.example")
    except InvalidStatus:
        return  # refused before the upgrade
    closed = ws.wait_closed()
    assert closed.code in (1008, 4003)
    assert ran == []


# -- per message -------------------------------------------------------------


def test_unknown_and_forged_callback_ids_never_run(backend, live, socket_to):
    ran = []
    app = make_app(ran)
    server = live(app)
    session = sign_in(server)
    private = callback_body(app, "out.children", [1])
    unknown = dict(private, output="nope.children")
    forged = dict(private, output="pub.children", outputs={"id": "pub", "property": "children"})
    forged["inputs"] = [{"id": "secret", "property": "value", "value": 1}]
    for who in ({}, cookie_header(session)):
        # A socket each: an anonymous one refused a private id closes (the client reconnects).
        with socket_to(server, headers=who) as ws:
            reply = ws.call(unknown)
            assert reply["status"] == "error"
        with socket_to(server, headers=who) as ws:
            reply = ws.call(forged)
            assert reply["status"] == "error" and "400" in reply["message"]
    assert ran == []


def test_callback_without_websocket_flag_is_refused_over_the_socket(backend, live, socket_to):
    ran = []
    app = make_app(ran)
    server = live(app)
    with socket_to(server, headers=ALICE) as ws:
        reply = ws.call(callback_body(app, "http-only.children", [1]))
        assert reply["status"] == "error" and "WebSocket" in reply["message"]
        # And the socket still works.
        assert output_of(ws.call(callback_body(app, "out.children", [2])), "out") == "private 2 for alice"
    assert ran == [("private", 2, "alice")]


def test_group_rules_apply_to_each_message(backend, live, socket_to):
    from dash_auth_groups import protected_callback

    ran = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="admin")])

    @protected_callback(Output("admin", "children"), Input("b", "n_clicks"), groups=["admins"], websocket=True)
    def admin_only(n):
        ran.append((n, current_user().id))
        return f"admin {n}"

    BasicAuth(app, USERS, secret_key=SECRET, user_groups={"alice": ["admins"], "bob": ["staff"]})
    server = live(app)
    with socket_to(server, headers=basic_header("bob", "builder")) as ws:
        reply = ws.call(callback_body(app, "admin.children", [1]))
        assert reply["status"] == "error" and "403" in reply["message"]
    with socket_to(server, headers=ALICE) as ws:
        assert output_of(ws.call(callback_body(app, "admin.children", [2])), "admin") == "admin 2"
    assert ran == [(2, "alice")]


# -- logout and expiry --------------------------------------------------------


def _logout(server, session):
    import re

    page = session.get(server.url("/logout"), timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = session.post(server.url("/logout"), data={"csrf_token": token}, timeout=10)
    assert response.status_code == 200 and "Signed out" in response.text


def test_logout_closes_the_users_open_sockets_with_4001(backend, live, socket_to):
    ran = []
    app = make_app(ran)
    server = live(app)
    session = sign_in(server)
    frozen = cookie_header(session)  # what the socket's handshake carried
    ws = socket_to(server, headers=frozen)
    assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
    _logout(server, session)
    closed = ws.wait_closed()  # promptly: no message needed
    assert closed.code == CLOSE_AUTH and "signed out" in closed.reason
    # The frozen cookie of the logged-out session opens no new signed-in socket.
    with socket_to(server, headers=frozen) as again:
        refused = again.call(callback_body(app, "out.children", [2]))
        assert refused["status"] == "error"
    assert ran == [("private", 1, "alice")]


def test_expired_login_closes_the_socket_with_4001(backend, live, socket_to):
    ran = []
    app = make_app(ran, session_lifetime=2)
    server = live(app)
    session = sign_in(server)
    ws = socket_to(server, headers=cookie_header(session))
    assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
    closed = ws.wait_closed(timeout=15)  # the watchdog closes it at the expiry
    assert closed.code == CLOSE_AUTH
    assert ran == [("private", 1, "alice")]


def test_expired_login_is_refused_at_the_next_message(backend, live, socket_to, monkeypatch):
    from dash_auth_core import websocket

    async def no_watchdog(self):
        return None

    monkeypatch.setattr(websocket.Connection, "_watch", no_watchdog)  # only the message can notice
    ran = []
    app = make_app(ran, session_lifetime=1)
    server = live(app)
    session = sign_in(server)
    ws = socket_to(server, headers=cookie_header(session))
    import time

    time.sleep(1.5)
    ws.send({"type": "callback_request", "rendererId": "r", "requestId": "r-1",
             "payload": callback_body(app, "out.children", [9])})
    closed = ws.wait_closed()
    assert closed.code == CLOSE_AUTH
    assert ran == []


# -- bad input -------------------------------------------------------------------

BAD_FRAMES = [
    ("malformed-json", "{not json", 1007),
    ("truncated-json", '{"type": "callback_request", ', 1007),
    ("deep-json", "[" * 100_000 + "]" * 100_000, 1007),
    ("array", "[]", 1008),
    ("string", '"callback_request"', 1008),
    ("number", "42", 1008),
    ("null", "null", 1008),
    ("no-request-id", json.dumps({"type": "callback_request", "payload": {}}), 1008),
    ("request-id-list", json.dumps({"type": "callback_request", "requestId": ["x"], "payload": {}}), 1008),
    ("renderer-id-dict", json.dumps({"type": "callback_request", "requestId": "x", "rendererId": {}, "payload": {}}), 1008),
]


@pytest.mark.parametrize(("frame", "code"), [c[1:] for c in BAD_FRAMES], ids=[c[0] for c in BAD_FRAMES])
@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_bad_frames_close_cleanly(backend, live, socket_to, frame, code, who):
    ran = []
    app = make_app(ran)
    server = live(app)
    ws = socket_to(server, headers=ALICE if who == "alice" else {})
    ws.send(frame)
    assert ws.wait_closed().code == code
    # The server is fine: a new socket works.
    with socket_to(server, headers=ALICE) as fresh:
        assert output_of(fresh.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
    assert [r for r in ran if r[0] != "public"] == [("private", 1, "alice")]


def test_binary_frame_closes_with_1003(backend, live, socket_to):
    app = make_app([])
    ws = socket_to(live(app), headers=ALICE)
    ws.send(b"\x00\x01binary")
    assert ws.wait_closed().code == 1003


def test_oversized_message_closes_with_1009(backend, live, socket_to):
    ran = []
    app = make_app(ran, max_body_size=4096)
    server = live(app)
    ws = socket_to(server, headers=ALICE)
    body = callback_body(app, "out.children", ["x" * 10_000])
    ws.send({"type": "callback_request", "rendererId": "r", "requestId": "r-1", "payload": body})
    assert ws.wait_closed().code == 1009
    assert ran == []


@pytest.mark.parametrize("kind", ["unknown", "", None, 5, "callback_response", "set_props"])
def test_unknown_message_types_get_an_error_reply(backend, live, socket_to, kind):
    app = make_app([])
    server = live(app)
    with socket_to(server, headers=ALICE) as ws:
        ws.send({"type": kind, "rendererId": "r"})
        reply = ws.receive()
        assert reply["type"] == "error" and reply["payload"]["code"] == 400
        assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"


@pytest.mark.parametrize(
    "payload",
    [None, [], "out.children", 5, {}, {"output": 5}, {"output": "out.children"}, {"output": "out.children", "inputs": "x"}],
    ids=["null", "list", "string", "number", "empty", "output-int", "no-inputs", "inputs-string"],
)
def test_malformed_callback_payloads_get_an_error_reply(backend, live, socket_to, payload):
    ran = []
    app = make_app(ran)
    server = live(app)
    for headers in ({}, ALICE):
        with socket_to(server, headers=headers) as ws:
            reply = ws.call(payload)
            assert reply["status"] == "error"
    assert ran == []


def test_get_props_response_and_heartbeat_pass(backend, live, socket_to):
    app = make_app([])
    with socket_to(live(app), headers=ALICE) as ws:
        ws.send({"type": "heartbeat"})
        assert ws.receive() == {"type": "heartbeat_ack"}
        ws.send({"type": "get_props_response", "rendererId": "r", "requestId": "nobody-waits", "payload": {}})
        assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"


def test_a_protocol_level_broken_frame_does_not_crash_the_server(backend, live, socket_to):
    """A frame with a reserved opcode: the server's WebSocket library closes, the app lives on."""
    app = make_app([])
    server = live(app)
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        raw.sendall(
            b"GET /_dash-ws-callback HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n"
            b"Authorization: %s\r\n\r\n" % (server.port, server.base.encode(), ALICE["Authorization"].encode())
        )
        answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101")
        # Masked frame, FIN + reserved opcode 0x3, 2 bytes of payload.
        raw.sendall(bytes([0x83, 0x82]) + struct.pack("!I", 0x01020304) + b"\x00\x00")
        raw.settimeout(10)
        rest = b""
        for _ in range(20):
            chunk = raw.recv(4096)
            if not chunk:
                break
            rest += chunk
            if b"\x88" in rest:  # a close frame
                break
        assert b"\x88" in rest or rest == b""
    finally:
        raw.close()
    with socket_to(server, headers=ALICE) as fresh:
        assert output_of(fresh.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"


def test_fuzzed_callback_requests_never_run_protected_callbacks_anonymously(backend, live, socket_to):
    import random

    ran = []
    app = make_app(ran)
    server = live(app)
    rng = random.Random(4242)
    bodies = [callback_body(app, "out.children", [1]), callback_body(app, "async-out.children", [1])]
    sent = 0
    with socket_to(server) as ws:
        for _ in range(60):
            body = mutate_body(rng.choice(bodies), rng)
            if isinstance(body, dict) and body.get("output") == "pub.children":
                body["output"] = "out.children"
            reply = ws.call(body)
            assert reply["status"] in ("error", "ok", "prevent_update")
            sent += 1
    assert sent == 60
    assert [r for r in ran if r[0] != "public"] == []


_ODD = [None, True, 0, -1, 1.5, "", "x", "out.children", "pub.children", [], {}, [None], [{}], {"id": "out"},
        {"id": "out", "property": "children"}, "x" * 3000, "\x00"]


def mutate_body(body, rng):
    """One to three random structural changes to a copy of ``body``."""
    body = json.loads(json.dumps(body))
    for _ in range(rng.randint(1, 3)):
        containers = [body]
        found = []
        while containers:
            node = containers.pop()
            keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
            for key in keys:
                found.append((node, key))
                if isinstance(node[key], (dict, list)):
                    containers.append(node[key])
        if not found:
            break
        parent, key = rng.choice(found)
        action = rng.randrange(4)
        if action == 0:
            del parent[key]
        elif action == 1:
            parent[key] = json.loads(json.dumps(rng.choice(_ODD)))
        elif action == 2:
            parent[key] = [parent[key]]
        elif isinstance(parent, dict):
            parent[rng.choice(["value", "id", "property", "outputs", "state"])] = rng.choice(_ODD)
    return body


# -- Dash Pages with websocket_callbacks=True ---------------------------------


def pages_app():
    app = make_dash(__name__, use_pages=True, pages_folder="", websocket_callbacks=True)
    dash.register_page("home", path="/", layout=html.Div([html.H2("HOME PAGE"), dcc.Link("secret", href="/secret")]))
    dash.register_page("secret", path="/secret", layout=html.Div("TOP SECRET"))
    BasicAuth(app, USERS, public_routes=["/"], secret_key=SECRET)
    return app


def test_pages_over_the_socket_public_page_and_login_prompt_for_a_private_one(backend, live, socket_to):
    app = pages_app()
    server = live(app)
    assert requests.get(server.url("/"), timeout=10).status_code == 200  # the index is public
    ws = socket_to(server)
    home = ws.call(router_body("/"))
    assert home["status"] == "ok" and "HOME PAGE" in json.dumps(home)
    refused = ws.call(router_body("/secret"))
    assert refused["status"] == "error"
    assert refused["message"].startswith(LOGIN_REQUIRED)  # the page reloads and gets the challenge
    assert "TOP SECRET" not in json.dumps(refused)
    closed = ws.wait_closed()
    assert closed.code == CLOSE_AUTH  # no reconnect loop with the anonymous cookie
    # The full page load of /secret is what asks for credentials.
    assert requests.get(server.url("/secret"), timeout=10).status_code == 401
    with socket_to(server, headers=cookie_header(sign_in(server))) as signed_in:
        page = signed_in.call(router_body("/secret"))
        assert page["status"] == "ok" and "TOP SECRET" in json.dumps(page)


def test_a_recheck_of_the_socket_does_not_change_the_user_of_a_running_callback():
    """The socket's tasks share its context key: each keeps the user it was given.

    Dash's handler sets the user for a callback (the message hook); the frame
    pump re-runs the guard for the next message, or the watchdog re-checks the
    login, with another answer. The callback still running, and the socket's
    own context, keep their user.
    """
    import types

    from dash_auth_core import Identity
    from dash_auth_core.backends.fastapi import FastAPIRequest, Handling, _handling
    from dash_auth_core.context import set_current_user
    from dash_auth_core.socket_messages import MessageRequest
    from dash_auth_core.websocket import SCOPE_KEY, Connection, _on_dash_message

    scope = {"type": "websocket", "path": "/_dash-ws-callback", "headers": []}

    async def main():
        token = _handling.set(Handling(scope))
        try:
            handshake = FastAPIRequest(scope)
            set_current_user(Identity(id="alice"), handshake)  # the guard at the handshake
            conn = object.__new__(Connection)  # only what the message hook reads
            conn.request, conn.identity = handshake, Identity(id="alice")
            started, go = asyncio.Event(), asyncio.Event()

            async def callback():
                _on_dash_message(types.SimpleNamespace(scope={SCOPE_KEY: conn}), {})
                started.set()
                await go.wait()
                return current_user()

            async def recheck():
                await started.wait()
                set_current_user(Identity(id="bob"), MessageRequest(handshake, {}, "/_dash-update-component"))
                seen = current_user()
                go.set()
                return seen

            running = asyncio.create_task(callback())
            rechecked = await asyncio.create_task(recheck())  # the pump: another task
            return (await running), rechecked, current_user()
        finally:
            _handling.reset(token)

    in_callback, in_recheck, in_socket = asyncio.run(main())
    assert in_callback.id == "alice"
    assert in_recheck.id == "bob"
    assert in_socket is not None and in_socket.id == "alice"


def test_the_socket_registry_changes_only_under_the_lock_a_logout_holds():
    """A logout (a worker thread) walks the open sockets while the event loop adds and removes them."""
    import threading

    from dash_auth_core import Identity
    from dash_auth_core.socket_registry import SocketRegistry

    class Conn:
        def __init__(self, identity):
            self.identity = identity
            self.signed_out = False

        def close_soon(self, *args, **kwargs):
            self.closing = True

    registry, alice = SocketRegistry(), Identity(id="alice")
    first, added = Conn(alice), []
    with registry.lock:  # as revoke() holds it while it walks the sockets
        adder = threading.Thread(target=lambda: added.append(registry.add(first)))
        adder.start()
        adder.join(0.2)
        assert adder.is_alive() and added == []
    adder.join(5)
    assert added == [True]
    registry.revoke(alice, 60)
    assert first.signed_out and first.closing
    assert registry.add(Conn(alice)) is False  # signed out between its check and its registration
    registry.discard(first)
    assert len(registry.connections) == 0


# -- a new login in the same browser, anonymous visitors, the watchdog -------------------


def _form_login(server, browser, user, password):
    import re

    page = browser.get(server.url("/login"), timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = browser.post(server.url("/login"), timeout=10, allow_redirects=False,
                            data={"csrf_token": token, "username": user, "password": password, "next": "/"})
    assert response.status_code == 303, response.text


def test_a_new_login_in_the_same_browser_closes_the_previous_login_s_sockets(backend, live, socket_to):
    """Dash's client shares one socket between a browser's tabs: bob's tab would run callbacks as alice."""
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="who")])

    @app.callback(Output("who", "children"), Input("b", "n_clicks"), websocket=True)
    def who(n):
        return current_user().id

    BasicAuth(app, USERS, secret_key=SECRET, login_form=True)
    server = live(app)
    browser = requests.Session()
    _form_login(server, browser, "alice", "wonderland")
    ws = socket_to(server, headers=cookie_header(browser))
    assert ws.call(callback_body(app, "who.children", [1]))["data"]["response"]["who"]["children"] == "alice"
    _form_login(server, browser, "bob", "builder")  # no logout: bob's login replaces alice's
    closed = ws.wait_closed()
    assert closed.code == CLOSE_AUTH and "signed out" in closed.reason
    with socket_to(server, headers=cookie_header(browser)) as again:  # the page reloads: a socket for bob
        assert again.call(callback_body(app, "who.children", [2]))["data"]["response"]["who"]["children"] == "bob"


def test_an_anonymous_socket_is_accepted_when_plugins_serve_the_shell_to_anyone(backend, live, socket_to):
    """Layout mode serves the page shell and the routing callback's stand-in to anonymous visitors."""
    app = make_dash(__name__, use_pages=True, pages_folder="", websocket_callbacks=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("secret", path="/secret", layout=html.Div("TOP SECRET"))
    BasicAuth(app, USERS, secret_key=SECRET, auth_protect_layouts=True)
    server = live(app)
    assert requests.post(server.url("/_dash-update-component"), json=router_body("/"), timeout=10).status_code == 200
    with socket_to(server) as ws:
        reply = ws.call(router_body("/"))
        assert reply["status"] == "ok" and "TOP SECRET" not in json.dumps(reply)


def test_an_anonymous_socket_is_accepted_for_a_public_instance_of_a_template_page(backend, live, socket_to):
    app = make_dash(__name__, use_pages=True, pages_folder="", websocket_callbacks=True)
    dash.register_page("team", path_template="/team/<team_id>",
                       layout=lambda team_id=None, **_: html.Div(f"team {team_id}"))
    BasicAuth(app, USERS, secret_key=SECRET, public_routes=["/team/public"])
    server = live(app)
    assert requests.get(server.url("/_dash-layout"), timeout=10).status_code == 200  # the shell, over HTTP too
    with socket_to(server) as ws:
        assert "team public" in json.dumps(ws.call(router_body("/team/public")))
    with socket_to(server) as ws:  # other teams stay private
        reply = ws.call(router_body("/team/red"))
        assert reply["status"] == "error" and LOGIN_REQUIRED in reply["message"]


def test_the_watchdog_waits_the_usual_time_once_a_header_login_outlives_the_session_lifetime(
    backend, live, socket_to, monkeypatch
):
    """A Basic-header login holds past session_lifetime: the watchdog re-checked it every 10 ms."""
    import time

    from dash_auth_core import websocket

    calls = []
    original = websocket.Connection._recheck

    async def counting(self):
        calls.append(time.monotonic())
        return await original(self)

    monkeypatch.setattr(websocket.Connection, "_recheck", counting)
    app = make_app([], session_lifetime=1)
    server = live(app)
    with socket_to(server, headers=ALICE) as ws:
        assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
        time.sleep(2.5)
        assert output_of(ws.call(callback_body(app, "out.children", [2])), "out") == "private 2 for alice"
    assert 1 <= len(calls) <= 3


def test_overlapping_re_checks_never_close_a_valid_socket(backend, live, socket_to, monkeypatch):
    """The watchdog's and a heartbeat's re-checks shared the handshake request while one ran in a thread."""
    import threading
    import time

    from ws_client import Closed

    from dash_auth_core import websocket

    monkeypatch.setattr(websocket, "RECHECK_SECONDS", 0.3)
    on_loop = []

    def user_groups(uid):  # a directory look-up: blocking, so never on the event loop
        if threading.current_thread().name.startswith("live-"):
            on_loop.append(uid)
        time.sleep(0.05)
        return ["staff"]

    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"), websocket=True)
    def cb(n):
        return n

    BasicAuth(app, USERS, secret_key=SECRET, user_groups=user_groups, user_groups_ttl=0)
    server = live(app)
    ws = socket_to(server, headers=cookie_header(sign_in(server)))
    deadline = time.monotonic() + 3
    try:
        while time.monotonic() < deadline:  # a heartbeat (and its re-check) every 40 ms or so
            ws.send({"type": "heartbeat"})
            with contextlib.suppress(TimeoutError):
                ws.receive(timeout=0.04)
        for _ in range(1000):  # the heartbeats' answers still on their way
            try:
                ws.receive(timeout=0.3)
            except TimeoutError:
                break
        assert output_of(ws.call(callback_body(app, "o.children", [7])), "o") == 7
    except Closed as closed:
        raise AssertionError(f"a valid socket was closed: {closed}") from None
    finally:
        ws.ws.close()
    assert on_loop == []


# -- sessions in Redis ---------------------------------------------------------
# The socket's session is read again for every message, so a logout or revocation made
# anywhere (here: another instance's, by deleting the record) ends it.


def test_a_socket_runs_as_the_stored_sessions_user_and_closes_at_logout(backend, live, socket_to, redis_url):
    ran = []
    app = make_app(ran, session_store=redis_url)
    server = live(app)
    session = sign_in(server, ALICE)
    assert len(session.cookies.get("session")) == 44  # an id
    ws = socket_to(server, headers={"Cookie": f"session={session.cookies.get('session')}"})
    assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
    _logout(server, session)
    closed = ws.wait_closed()
    assert closed.code == CLOSE_AUTH
    assert ran == [("private", 1, "alice")]


def test_a_record_deleted_elsewhere_ends_the_socket_at_its_next_message(backend, live, socket_to, redis_url):
    ran = []
    app = make_app(ran, public=False, session_store=redis_url)
    server = live(app)
    session = sign_in(server, ALICE)
    ws = socket_to(server, headers=cookie_header(session))
    assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("dash_auth:s:*"):
        client.delete(key)  # what a logout on another instance does
    ws.send({"type": "callback_request", "rendererId": "r", "requestId": "r-2",
             "payload": callback_body(app, "out.children", [2])})
    closed = ws.wait_closed()
    assert closed.code == CLOSE_AUTH
    assert ran == [("private", 1, "alice")]


def test_revoke_user_closes_the_users_sockets(backend, live, socket_to, redis_url):
    ran = []
    app = make_app(ran, session_store=redis_url)
    server = live(app)
    session = sign_in(server, ALICE)
    ws = socket_to(server, headers=cookie_header(session))
    assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
    revoke_user(app, "alice")
    assert ws.wait_closed().code == CLOSE_AUTH


def test_a_socket_closes_once_a_hook_refuses_its_login_with_request_refused(backend, live, socket_to):
    """An ``authorize`` hook that refuses at once (a rules store down: 503) refuses each message,
    and a re-check of the socket (a heartbeat) closes it: a refusal is no valid login."""
    from dash_auth_core import AuthStack, RequestRefused, hookimpl

    class Rules:
        down = False

        @hookimpl
        def authorize(self, resource):
            if self.down:
                raise RequestRefused("the rules store is unreachable", 503, retry_after=5)

    ran = []
    app = make_app(ran)
    rules = Rules()
    AuthStack.of(app).register(rules)
    with socket_to(live(app), headers=ALICE) as ws:
        assert output_of(ws.call(callback_body(app, "out.children", [1])), "out") == "private 1 for alice"
        rules.down = True
        refused = ws.call(callback_body(app, "out.children", [2]))
        assert refused["status"] == "error" and "503" in refused["message"]
        ws.send({"type": "heartbeat"})
        closed = ws.wait_closed()
        assert closed.code == CLOSE_AUTH
    assert ran == [("private", 1, "alice")]
