"""Fixtures for the backend tests: real servers on 127.0.0.1 and a WebSocket client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from live_servers import LiveApp
from ws_client import Socket


@pytest.fixture
def live() -> Iterator[Callable[..., LiveApp]]:
    """``live(app)`` serves ``app`` for real (hypercorn, uvicorn or Werkzeug) for this test."""
    running: list[LiveApp] = []

    def start(app: Any, **options: Any) -> LiveApp:
        server = LiveApp(app, **options).start()
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def socket_to() -> Iterator[Callable[..., Socket]]:
    opened: list[Socket] = []

    def open_socket(server: LiveApp, **kwargs: Any) -> Socket:
        sock = Socket(server, **kwargs)
        opened.append(sock)
        return sock

    yield open_socket
    for sock in opened:
        sock.ws.close()
