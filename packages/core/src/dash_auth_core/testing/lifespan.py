"""The test clients' event loop, and the ASGI lifespans of the apps they serve.

Requests of :class:`~dash_auth_core.testing.asgi.AsgiClient` run on one event
loop in a daemon thread; an app's lifespan starts with its first client
(FastAPI adds Dash's page catch-all there) and stops in :func:`stop_all`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import dash

from .._private import dash as dash_private


def backend_of(app: dash.Dash) -> str:
    """The name of ``app``'s Dash backend: ``"flask"``, ``"quart"`` or ``"fastapi"``."""
    return getattr(getattr(app, "backend", None), "server_type", None) or "flask"


_loop_lock = threading.Lock()
_loop_holder: list[asyncio.AbstractEventLoop] = []
_started: list[Any] = []


def event_loop() -> asyncio.AbstractEventLoop:
    """One event loop in a daemon thread, shared by every ASGI test client."""
    with _loop_lock:
        if not _loop_holder:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="asgi-test-loop", daemon=True)
            thread.start()
            _loop_holder.append(loop)
        return _loop_holder[0]


def run(coro: Any, timeout: float = 60.0) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, event_loop()).result(timeout)


class _Lifespan:
    """Runs an ASGI app's lifespan (FastAPI adds Dash's page catch-all at start-up)."""

    def __init__(self, app: dash.Dash) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] | None = None
        self.task: asyncio.Future[Any] | None = None
        self.state: dict[str, Any] = {}

    async def start(self) -> None:
        dash_private.set_current_app(self.app)  # Dash's start-up asks get_app() for the app
        self.inbox = asyncio.Queue()
        started: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.stopped: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        async def send(message: dict[str, Any]) -> None:
            if message["type"].startswith("lifespan.startup") and not started.done():
                started.set_result(message)
            elif message["type"].startswith("lifespan.shutdown") and not self.stopped.done():
                self.stopped.set_result(message)

        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self.inbox.put_nowait({"type": "lifespan.startup"})
        self.task = asyncio.ensure_future(self.app.server(scope, self.inbox.get, send))
        message = await asyncio.wait_for(started, 30)
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app did not start: {message}")

    async def stop(self) -> None:
        if self.inbox is None or self.task is None:
            return
        self.inbox.put_nowait({"type": "lifespan.shutdown"})
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self.stopped), 10)
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


def started(app: dash.Dash) -> _Lifespan:
    """Start ``app``'s ASGI lifespan once (stopped by :func:`stop_all` after the test)."""
    lifespan = getattr(app, "_test_lifespan", None)
    if lifespan is None:
        lifespan = _Lifespan(app)
        app._test_lifespan = lifespan  # type: ignore[attr-defined]  # our own attribute on the app
        run(lifespan.start())
        _started.append(app)
    return lifespan


def stop_all() -> None:
    while _started:
        app = _started.pop()
        lifespan = app.__dict__.pop("_test_lifespan", None)
        if lifespan is not None and _loop_holder:
            with contextlib.suppress(Exception):
                run(lifespan.stop(), timeout=15)
