"""A real WebSocket client (the ``websockets`` library) speaking Dash's callback protocol."""

from __future__ import annotations

import json
from typing import Any

from live_servers import LiveApp

#: Seconds any one wait for a WebSocket message or close may take.
WS_WAIT = 10.0


class Closed(Exception):
    """The server closed the socket: ``code`` and ``reason`` of its close frame."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class Socket:
    """A real WebSocket client (the ``websockets`` library) speaking Dash's callback protocol."""

    def __init__(self, server: LiveApp, headers: dict[str, str] | None = None, origin: str | None = "same",
                 path: str = "/_dash-ws-callback") -> None:
        from websockets.sync.client import connect

        self.server = server
        self._counter = 0
        self.ws = connect(
            server.ws_base + path,
            origin=server.base if origin == "same" else origin,
            additional_headers=headers or {},
            open_timeout=WS_WAIT,
            close_timeout=2,
            max_size=None,
        )

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.ws.close()

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))

    def receive(self, timeout: float = WS_WAIT) -> Any:
        """The next message (a JSON value), or raise :class:`Closed`."""
        from websockets.exceptions import ConnectionClosed

        try:
            return json.loads(self.ws.recv(timeout=timeout))
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            raise Closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "") from None

    def call(self, payload: Any, renderer: str = "renderer-1") -> dict[str, Any]:
        """Send one callback request; the payload of its ``callback_response``."""
        self._counter += 1
        request_id = f"{renderer}-{self._counter}"
        self.send({"type": "callback_request", "rendererId": renderer, "requestId": request_id, "payload": payload})
        for _ in range(50):  # other messages (set_props, acks) may come first
            message = self.receive()
            for item in message if isinstance(message, list) else [message]:
                if item.get("type") == "callback_response" and item.get("requestId") == request_id:
                    return item["payload"]
        raise AssertionError(f"no callback_response for {request_id}")

    def wait_closed(self, timeout: float = WS_WAIT) -> Closed:
        """Wait (bounded) for the server to close the socket; its close frame."""
        for _ in range(100):
            try:
                self.receive(timeout=timeout)
            except Closed as closed:
                return closed
            except TimeoutError:
                break
        raise AssertionError("the server did not close the socket")
