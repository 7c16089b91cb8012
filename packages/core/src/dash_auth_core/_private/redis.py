"""redis-py's private parts that dash-auth-core relies on (see :mod:`dash_auth_core._private`).

* ``Connection._sock``: the socket of a connected redis-py connection. The
  session store's tracking connection (``sessions/tracking.py``) is read by
  its own thread; request threads only poll its socket, without reading, to
  learn whether Redis has sent a message that thread has not handled yet.
"""

from __future__ import annotations

import socket
from typing import Any

from . import changed, run_probes

try:
    from redis.connection import Connection
except ImportError as exc:  # pragma: no cover - only with an unsupported redis-py
    raise changed(__name__, "redis", f"an import failed ({exc})") from exc

__all__ = ["check", "socket_of"]


def socket_of(connection: Any) -> socket.socket | None:
    """The socket of a connected redis-py ``Connection`` (``None`` before it connects)."""
    return connection._sock  # type: ignore[no-any-return]


def _probe_socket() -> bool:
    connection: Any = Connection(host="127.0.0.1", port=1)  # type: ignore[no-untyped-call]
    if socket_of(connection) is not None:
        return False
    left, right = socket.socketpair()
    try:
        connection._sock = left  # the attribute a connect() fills
        return socket_of(connection) is left
    finally:
        connection._sock = None
        left.close()
        right.close()


def check() -> list[str]:
    """What no longer holds of the redis-py internals above, one message each (empty: all hold)."""
    return run_probes(__name__, "redis", {"Connection._sock (a connected connection's socket)": _probe_socket})
