"""Real servers on 127.0.0.1 for a Dash app: Werkzeug (Flask), hypercorn (Quart), uvicorn (FastAPI).

``LiveApp.start(app)`` serves the app in a thread on a free port and returns
where it is; ``stop()`` shuts it down (bounded waits everywhere). Used by the
backend tests (tests/backends) and the browser tests (tests/e2e).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

#: Seconds a server may take to start or stop.
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:g}s")


class LiveApp:
    """One Dash app served for real on ``127.0.0.1`` in a daemon thread."""

    def __init__(self, app: Any, server: str | None = None, **options: Any) -> None:
        self.app = app
        kind = getattr(getattr(app, "backend", None), "server_type", None) or "flask"
        self.server = server or {"flask": "werkzeug", "quart": "hypercorn", "fastapi": "uvicorn"}[kind]
        self.options = options
        self.host = "127.0.0.1"
        self.port = 0
        self._thread: threading.Thread | None = None
        self._stop: Any = None
        self._error: BaseException | None = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    def start(self) -> LiveApp:
        runner = {"werkzeug": self._werkzeug, "hypercorn": self._hypercorn, "uvicorn": self._uvicorn}[self.server]
        self.port = free_port()
        self._thread = threading.Thread(target=self._run, args=(runner,), name=f"live-{self.server}", daemon=True)
        self._thread.start()
        try:
            wait_for_port(self.port)
        except RuntimeError:
            if self._error is not None:
                raise RuntimeError(f"{self.server} did not start: {self._error!r}") from self._error
            raise
        return self

    def _run(self, runner: Any) -> None:
        from dash import _get_app

        _get_app.app_context.set(self.app)  # Dash's FastAPI start-up asks get_app()
        try:
            runner()
        except BaseException as exc:  # reported by start()
            self._error = exc

    def _werkzeug(self) -> None:
        from werkzeug.serving import make_server

        server = make_server(self.host, self.port, self.options.get("wsgi", self.app.server), threaded=True)
        self._stop = server.shutdown
        server.serve_forever()

    def _hypercorn(self) -> None:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"{self.host}:{self.port}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 1.0
        for key, value in self.options.get("config", {}).items():
            setattr(config, key, value)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        self._stop = lambda: loop.call_soon_threadsafe(stop.set)
        try:
            loop.run_until_complete(serve(self.options.get("asgi", self.app.server), config, shutdown_trigger=stop.wait))
        finally:
            loop.close()

    def _uvicorn(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.options.get("asgi", self.app.server),
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="on",
            **self.options.get("config", {}),
        )
        server = uvicorn.Server(config)

        def stop() -> None:
            server.should_exit = True

        self._stop = stop
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve())
        finally:
            loop.close()

    def stop(self) -> None:
        if self._stop is not None:
            with contextlib.suppress(Exception):
                self._stop()
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT)
