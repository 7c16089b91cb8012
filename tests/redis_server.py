"""A private ``redis-server`` on a free port, for the session-store tests.

Each test session starts its own server (never the machine's shared one on
6379, whose databases other programs use), so a test may flush it, stop it
and start it again. Data is kept in an append-only file in a temporary
folder, so a restart keeps what was written before (as a production Redis
with persistence would).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from live_servers import free_port


class RedisServer:
    def __init__(self) -> None:
        self.executable = shutil.which("redis-server")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dash-auth-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if self.executable is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "no", "--enable-debug-command", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # redis-server flushes its append-only file on SIGTERM
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    def client(self, db: int = 0, socket_timeout: float = 5):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=socket_timeout)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
