"""What the benchmarks share: the apps they compare, the requests they replay, and how they time them.

The bare app and the app behind the stack are built by the same functions
(``build_app``, ``build_backend_app``), requests are prebuilt once
(``Req``, ``post_callback``) and replayed in-process (``inprocess_runner``,
``AsgiLoop``) or over HTTP (``Server``, ``http_runner``), and ``measure``
alternates bare and auth blocks round after round (see ``bench_guard.py``'s
docstring for why). ``bench_guard.py``, ``scaling.py``, ``servers.py``,
``bench_sessions.py`` and ``count_instructions.py`` build on this module.
"""

from __future__ import annotations

import gc
import http.client
import io
import json
import logging
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Third-party plugins from entry points would make the numbers depend on what
# happens to be installed; the hatch env sets this too.
os.environ.setdefault("DASH_AUTH_DISABLE_PLUGINS", "1")
# The benchmark's own modules (logins, servers, start-up), also when loaded from a test.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dash import Dash, Input, Output, html  # noqa: E402
from logins import (  # noqa: E402
    AUTH_HEADER,
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    OIDC_TIMEOUT,
    PASSWORD,
    SECRET,
    USER,
    OIDCProvider,
    attach,
    make_public_routes,
    make_users,
    oidc_sign_in,
)
from werkzeug.test import EnvironBuilder  # noqa: E402

from dash_auth_core import AuthStack, mark_public  # noqa: E402

#: Names kept here for the scripts and tests that read them from this module.
__all__ = ["AUTH_HEADER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_TIMEOUT", "PASSWORD", "SECRET", "OIDCProvider", "make_public_routes",
           "make_users"]

UPDATE = "/_dash-update-component"

#: Printed next to the results; never asserted.
TARGET_CALLBACK_RATIO = 1.05
#: The authenticated callback's target on the async backends (FastAPI's bare request is the cheapest).
TARGET_BACKEND_RATIOS = {"quart": 1.05, "fastapi": 1.08}
TARGET_SCALING_RATIO = 1.10


def build_app(auth: bool | str, n_callbacks: int = 10, n_users: int = 10, n_routes: int = 10,
              metadata_url: str | None = None) -> Dash:
    """The benchmark app; ``auth`` adds BasicAuth (or another login's front door, by name) and nothing else.

    ``n_callbacks`` counts every server callback (the private ``out`` one, the
    public ``pub`` one and ``n_callbacks - 2`` more on distinct outputs).
    """
    app = Dash(__name__, use_async=False)  # Flask sync dispatch, as most apps run
    app.layout = html.Div([html.Button("go", id="btn"), html.Div(id="out"), html.Div(id="pub"), html.Div(id="prot")])
    return _with_callbacks(app, auth, n_callbacks, metadata_url, n_users, n_routes)


def _with_callbacks(app: Dash, auth: bool | str, n_callbacks: int, metadata_url: str | None, n_users: int,
                    n_routes: int) -> Dash:
    """The benchmark's callbacks on ``app`` (see ``build_app``), and its front door when ``auth``."""

    def private(n: Any) -> str:
        return f"private {n}"

    def public(n: Any) -> str:
        return f"public {n}"

    app.callback(Output("out", "children"), Input("btn", "n_clicks"))(private)
    # mark_public is what public_callback does; app.callback keeps each app's
    # callbacks out of Dash's process-wide registry (public_callback uses it).
    app.callback(Output("pub", "children"), Input("btn", "n_clicks"))(mark_public(public))
    for i in range(max(0, n_callbacks - 2)):

        def extra(n: Any, _i: int = i) -> str:
            return f"extra {_i} {n}"

        app.callback(Output(f"extra-{i}", "children"), Input("btn", "n_clicks"))(extra)
    if auth:
        attach(app, "basic" if auth is True else auth, metadata_url=metadata_url, n_users=n_users, n_routes=n_routes)
    return app


# -- the OIDC row -------------------------------------------------------------
# The same app behind OIDCAuth, with a session cookie from a real sign-in at a
# real OpenID provider (oidc-provider-mock) that the benchmark starts on
# 127.0.0.1 (see logins.py). A signed-in user's request never calls the
# provider: its tokens are refreshed only near expiry (an hour away here).


def build_oidc_app(metadata_url: str) -> Dash:
    """The benchmark app behind ``OIDCAuth`` (and nothing else) instead of ``BasicAuth``."""
    return build_app("oidc", metadata_url=metadata_url)


def oidc_session_cookie(app: Dash) -> str:
    """Sign in through the provider (app -> provider form -> callback); return ``session=...``."""
    return oidc_sign_in(wsgi_call(app))


def wsgi_call(app: Dash) -> Any:
    """A :class:`logins.Call` into a Flask app, in-process."""

    def call(method: str, path: str, headers: tuple[tuple[str, str], ...], body: bytes = b"") -> tuple[int, Any]:
        status, found = call_once(app, Req(method, path, headers, body))
        return int(status.split()[0]), found

    return call


# -- the Clerk row ---------------------------------------------------------------
# The same app behind ClerkAuth, signed in through its callback route with a session
# token the real clerk-backend-api SDK verifies, from a local stand-in for Clerk's
# cloud (tests/clerk_support.py: Backend API, keys, users) that the benchmark starts
# on 127.0.0.1. A signed-in request calls no API: the session is asked about at most
# once a minute, and not within the measured requests.


def build_clerk_app(standin: Any, backend: str = "flask") -> Dash:
    """The benchmark app behind ``ClerkAuth`` (and nothing else) instead of ``BasicAuth``."""
    from clerk_support import SECRET_KEY as CLERK_SECRET_KEY

    from dash_auth_clerk import ClerkAuth

    app = build_app(auth=False) if backend == "flask" else build_backend_app(backend, False)
    ClerkAuth(app, public_routes=make_public_routes(10), secret_key=SECRET, clerk_secret_key=CLERK_SECRET_KEY,
              publishable_key=standin.publishable_key, api_url=standin.url, clerk_js_url=standin.url + "/npm/clerk.js")
    return app


def clerk_cookie(app: Dash, standin: Any) -> str:
    """Sign in through ``/clerk/callback`` with a fresh session token; return the browser's cookies."""
    token = standin.token(standin.create_session("user_" + USER))
    client = app.server.test_client()
    client.set_cookie("__session", token)
    done = client.get("/clerk/callback?next=/")
    if done.status_code != 302:
        raise RuntimeError(f"the Clerk callback answered {done.status_code}: {done.get_data(as_text=True)[:200]}")
    cookie = client.get_cookie("session")
    if cookie is None:
        raise RuntimeError("the Clerk sign-in set no session cookie")
    return f"session={cookie.value}; __session={token}"


def callback_body(output_id: str, prop: str = "children") -> bytes:
    """The body Dash's renderer posts for a callback with one input and no state.

    The renderer leaves ``state`` out when a callback has none, and sends
    ``parsedChangedPropsIds`` next to ``changedPropIds``.
    """
    return json.dumps(
        {
            "output": f"{output_id}.{prop}",
            "outputs": {"id": output_id, "property": prop},
            "inputs": [{"id": "btn", "property": "n_clicks", "value": 1}],
            "changedPropIds": ["btn.n_clicks"],
            "parsedChangedPropsIds": ["btn.n_clicks"],
        },
        separators=(",", ":"),
    ).encode()


# -- requests -----------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def with_headers(self, *extra: tuple[str, str]) -> Req:
        return Req(self.method, self.path, self.headers + tuple(extra), self.body)


def post_callback(output_id: str) -> Req:
    return Req("POST", UPDATE, (("Content-Type", "application/json"),), callback_body(output_id))


def session_cookie(app: Dash, req: Req) -> str:
    """The ``session=...`` cookie the auth app issues for ``req`` (what a browser sends back)."""
    status, headers = call_once(app, req)
    if not status.startswith("200"):
        raise RuntimeError(f"logging in to get a session cookie answered {status}")
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    raise RuntimeError("the auth app set no session cookie on an authenticated request")


def call_once(app: Dash, req: Req) -> tuple[str, list[tuple[str, str]]]:
    environ = _environ(req)
    seen: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen[:] = [status, headers]

    result = app.server(environ, start_response)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return seen[0], seen[1]


def _environ(req: Req) -> dict[str, Any]:
    builder = EnvironBuilder(
        path=req.path, method=req.method, headers=list(req.headers), data=req.body or None,
        base_url="http://127.0.0.1/",
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


# -- runners ------------------------------------------------------------------
#: The clocks the in-process runners can time a block with (``--clock``).
CLOCKS = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}
#: The in-process runners' clock: the CPU time of the thread that runs the requests
#: by default. On a shared machine a block may wait for a core; that wait is no cost
#: of either app, but lands in one app's wall time or the other's. (The HTTP and
#: server sections use wall time: several threads and processes take part there.)
INPROCESS_CLOCK = [CLOCKS["cpu"]]
# A runner is ``run(n) -> (elapsed_ns, done, bad)``: ``n`` requests (fewer if
# a deadline stops it), and how many of them had an unexpected status.

Runner = Callable[[int], tuple[int, int, int]]


def without_stack_hooks(app: Dash, run: Runner) -> Runner:
    """``run`` with the stack's process-wide Dash hooks switched off, if ``app`` has no stack.

    Dash's hooks (``dash.hooks.custom_data``) apply to every app in the
    process: a bare app measured next to a protected one would otherwise pay
    for the stack's hook too, which flatters the ratio.
    """
    from dash._hooks import hooks

    from dash_auth_core.context import CUSTOM_DATA_NAMESPACE

    if AuthStack.get(app) is not None:
        return run

    def bare(n: int) -> tuple[int, int, int]:
        saved = hooks._ns.get("custom_data", [])  # noqa: SLF001 - Dash's hook registry
        hooks._ns["custom_data"] = [h for h in saved if h.data.get("namespace") != CUSTOM_DATA_NAMESPACE]  # noqa: SLF001
        try:
            return run(n)
        finally:
            hooks._ns["custom_data"] = saved  # noqa: SLF001

    return bare


def inprocess_runner(app: Dash, req: Req, expect: int) -> Runner:
    """Call the WSGI app directly with a copy of a prebuilt environ."""
    base = _environ(req)
    base.pop("wsgi.input", None)
    body = req.body
    wsgi = app.server
    want = f"{expect} "
    last = [""]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        last[0] = status

    def run(n: int) -> tuple[int, int, int]:
        bad = 0
        clock = INPROCESS_CLOCK[0]
        bytes_io = io.BytesIO
        t0 = clock()
        for _ in range(n):
            environ = base.copy()
            environ["wsgi.input"] = bytes_io(body)
            result = wsgi(environ, start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
            if not last[0].startswith(want):
                bad += 1
        return clock() - t0, n, bad

    return without_stack_hooks(app, run)


class Server:
    """One app on 127.0.0.1, served from a thread (waitress, or werkzeug's threaded server)."""

    def __init__(self, app: Dash, kind: str) -> None:
        self.kind = kind
        if kind == "waitress":
            import waitress.server

            # A sequential keep-alive client makes waitress log "Task queue depth is 1"
            # now and then (the next request lands before the worker is idle again).
            self._queue_log = logging.getLogger("waitress.queue")
            self._queue_level = self._queue_log.level
            self._queue_log.setLevel(logging.ERROR)
            self._server = waitress.server.create_server(
                app.server, host="127.0.0.1", port=0, threads=2, channel_timeout=60,
            )
            self.port = self._server.effective_port
            target = self._server.run
        else:
            from werkzeug.serving import make_server

            self._server = make_server("127.0.0.1", 0, app.server, threaded=True)
            self.port = self._server.server_port
            target = self._server.serve_forever
        self._thread = threading.Thread(target=target, name=f"bench-{kind}-{self.port}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self.kind == "waitress":
            self._server.close()
            self._server.task_dispatcher.shutdown(timeout=5)
            self._queue_log.setLevel(self._queue_level)
        else:
            self._server.shutdown()
            self._server.server_close()
        self._thread.join(timeout=5)


def http_runner(port: int, req: Req, expect: int, block_seconds: float) -> tuple[Runner, Callable[[], None]]:
    """Keep-alive ``http.client`` requests; a block stops after ``block_seconds``."""
    state: dict[str, http.client.HTTPConnection | None] = {"conn": None}
    headers = dict(req.headers)
    body = req.body or None
    if body is not None:
        headers["Content-Length"] = str(len(body))

    def connection() -> http.client.HTTPConnection:
        conn = state["conn"]
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            state["conn"] = conn
        return conn

    def run(n: int) -> tuple[int, int, int]:
        conn = connection()
        bad = done = 0
        clock = time.perf_counter_ns
        t0 = clock()
        deadline = t0 + int(block_seconds * 1e9)
        for _ in range(n):
            conn.request(req.method, req.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != expect:
                bad += 1
            if response.will_close:  # the server hung up: reconnect, identically for both apps
                conn.close()
                state["conn"] = conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            done += 1
            if clock() > deadline:
                break
        return clock() - t0, done, bad

    def close() -> None:
        conn = state["conn"]
        if conn is not None:
            conn.close()
            state["conn"] = None

    return run, close


# -- measuring ----------------------------------------------------------------


@dataclass
class Series:
    """Per-request nanoseconds, one value per round."""

    per_round: list[float] = field(default_factory=list)
    requests: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.per_round) if self.per_round else math.nan


def measure(
    targets: dict[str, Runner | Sequence[Runner]], rounds: int, n: int, warmup: int, deadline: float | None = None,
) -> dict[str, Series]:
    """Warm every target, then interleave them round after round.

    A target may be several runners (copies of one app): each round runs every
    copy once, and the target's value for the round is the mean over its
    copies. The order alternates (or rotates, for more than two blocks) so that
    nothing always runs first, and GC is off during each timed block and
    collected before it, for every block alike.
    """
    copies = {name: [run] if callable(run) else list(run) for name, run in targets.items()}
    for name, runs in copies.items():
        for run in runs:
            _, _, bad = run(warmup)
            if bad:
                raise RuntimeError(f"{name}: {bad} of {warmup} warm-up requests had an unexpected status")
    # Copy by copy, the targets side by side: bare 0, auth 0, bare 1, auth 1, ...
    blocks = [(name, runs[i]) for i in range(max(map(len, copies.values())))
              for name, runs in copies.items() if i < len(runs)]
    out = {name: Series() for name in copies}
    for r in range(rounds):
        if deadline is not None and r and time.monotonic() > deadline:
            break
        if len(blocks) == 2:
            order = blocks if r % 2 == 0 else blocks[::-1]
        else:
            k = r % len(blocks)
            order = blocks[k:] + blocks[:k]
            if r % 2:
                order.reverse()
        elapsed_sum = dict.fromkeys(copies, 0)
        done_sum = dict.fromkeys(copies, 0)
        for name, run in order:
            gc.collect()
            gc.disable()
            try:
                elapsed, done, bad = run(n)
            finally:
                gc.enable()
            if bad:
                raise RuntimeError(f"{name}: {bad} of {done} requests had an unexpected status")
            elapsed_sum[name] += elapsed
            done_sum[name] += done
        for name in copies:
            if done_sum[name]:
                out[name].per_round.append(elapsed_sum[name] / done_sum[name])
                out[name].requests += done_sum[name]
    return out


def _settle() -> None:
    """Move everything built so far out of the collector's way.

    The per-block ``gc.collect()`` would otherwise walk every app built so far
    (10,000 callbacks, 10,000 routes); frozen objects are skipped. Both apps
    are frozen alike.
    """
    gc.collect()
    gc.freeze()


def paired_ratio(num: Series, den: Series) -> float:
    """Median over rounds of num/den measured in the same round (robust to drift)."""
    ratios = [a / b for a, b in zip(num.per_round, den.per_round, strict=False) if b > 0]
    return statistics.median(ratios) if ratios else math.nan


# -- scenarios ----------------------------------------------------------------


# -- the async backends (Quart, FastAPI) -----------------------------------------
# The same app on Dash's Quart and FastAPI backends, bare and behind BasicAuth,
# each against the bare app on the same backend. Requests are ASGI calls with a
# prebuilt scope, made one after the other by one coroutine on an event loop in
# a thread (the loop is timed from inside, so the thread hop is not counted).

ASYNC_BACKENDS = ("quart", "fastapi")


def build_backend_app(backend: str, auth: bool | str, metadata_url: str | None = None, n_callbacks: int = 2,
                      n_users: int = 10, n_routes: int = 10) -> Dash:
    """The benchmark app (``private`` and public ``pub`` callbacks, ``n_callbacks`` in all) on ``backend``;
    ``auth`` as in ``build_app`` (which builds the Flask one, with 10 callbacks unless told)."""
    if backend == "flask":
        return build_app(auth, metadata_url=metadata_url, n_users=n_users, n_routes=n_routes,
                         **({"n_callbacks": n_callbacks} if n_callbacks != 2 else {}))
    app = Dash(__name__, backend=backend)
    app.layout = html.Div([html.Button("go", id="btn"), html.Div(id="out"), html.Div(id="pub")])

    return _with_callbacks(app, auth, n_callbacks, metadata_url, n_users, n_routes)


class AsgiLoop:
    """An event loop in a thread that serves ASGI apps their lifespan and timed request blocks."""

    def __init__(self) -> None:
        import asyncio

        self._asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="bench-asgi", daemon=True)
        self._thread.start()
        self._lifespans: list[Any] = []

    def run(self, coro: Any, timeout: float = 120.0) -> Any:
        return self._asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, app: Dash) -> None:
        """Run ``app``'s lifespan start-up (FastAPI adds Dash's page routes there)."""
        asyncio = self._asyncio
        inbox: Any = asyncio.Queue()

        async def begin() -> None:
            from dash import _get_app

            _get_app.app_context.set(app)
            started = asyncio.get_running_loop().create_future()

            async def send(message: dict[str, Any]) -> None:
                if message["type"].startswith("lifespan.startup") and not started.done():
                    started.set_result(message)

            inbox.put_nowait({"type": "lifespan.startup"})
            scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
            task = asyncio.ensure_future(app.server(scope, inbox.get, send))
            self._lifespans.append((inbox, task))
            await asyncio.wait_for(started, 30)

        self.run(begin())

    def close(self) -> None:
        async def end() -> None:
            for inbox, _task in self._lifespans:
                inbox.put_nowait({"type": "lifespan.shutdown"})
            for _inbox, task in self._lifespans:
                try:
                    await self._asyncio.wait_for(task, 5)
                except Exception:  # shutting down either way
                    task.cancel()

        try:
            self.run(end(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)

    def call_once(self, app: Dash, req: Req) -> tuple[int, list[tuple[str, str]]]:
        status, headers = self.run(_asgi_call(app, _scope(req), req.body))
        return status, headers

    def call(self, app: Dash) -> Any:
        """A :class:`logins.Call` into ``app`` on this loop."""

        def call(method: str, path: str, headers: tuple[tuple[str, str], ...], body: bytes = b"") -> Any:
            return self.call_once(app, Req(method, path, headers, body))

        return call

    def runner(self, app: Dash, req: Req, expect: int) -> Runner:
        scope = _scope(req)
        body = req.body
        loop_self = self

        async def many(n: int) -> tuple[int, int, int]:
            bad = 0
            clock = INPROCESS_CLOCK[0]
            t0 = clock()
            for _ in range(n):
                status, _headers = await _asgi_call(app, dict(scope), body)
                if status != expect:
                    bad += 1
            return clock() - t0, n, bad

        def run(n: int) -> tuple[int, int, int]:
            return loop_self.run(many(n))

        return without_stack_hooks(app, run)


def asgi_session_cookie(loop: AsgiLoop, app: Dash, req: Req) -> str:
    """The ``session=...`` cookie the auth app on an async backend issues for ``req``."""
    status, headers = loop.call_once(app, req)
    cookies = [v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie" and v.startswith("session=")]
    if status != 200 or not cookies:
        raise RuntimeError(f"logging in answered {status} without a session cookie")
    return cookies[0]


def _scope(req: Req) -> dict[str, Any]:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in req.headers]
    headers.append((b"host", b"127.0.0.1"))
    if req.body:
        headers.append((b"content-length", str(len(req.body)).encode()))
    path, _, query = req.path.partition("?")
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": req.method, "scheme": "http", "path": path, "raw_path": path.encode(),
        "query_string": query.encode("latin-1"), "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80), "state": {}, "extensions": {},
    }


async def _asgi_call(app: Dash, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[str, str]]]:
    import asyncio

    sent = False
    start: dict[str, Any] = {}
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # like a client that stays connected until it has the answer
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    try:
        await app.server(scope, receive, send)
    finally:
        done.set()
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
    return start.get("status", 0), headers
