"""Real server processes for one app module: gunicorn (Flask), hypercorn (Quart), uvicorn (FastAPI).

Each :class:`ServerProcess` runs ``tests/served_app.py`` in a process of its
own on a free port of 127.0.0.1, with the environment it is given; ``stop()``
ends it (and only it). Output goes to a log file, shown when a start fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from live_servers import free_port

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 60.0


def command(backend: str, port: int) -> list[str]:
    bind = f"127.0.0.1:{port}"
    if backend == "flask":
        return [sys.executable, "-m", "gunicorn", "-w", "2", "-b", bind, "--timeout", "30", "served_app:server"]
    if backend == "quart":
        return [sys.executable, "-m", "hypercorn", "-b", bind, "served_app:server"]
    return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "served_app:server"]


class ServerProcess:
    def __init__(self, backend: str, env: dict[str, str]) -> None:
        self.backend = backend
        self.port = free_port()
        self.env = {**os.environ, **env, "DASH_AUTH_TEST_BACKEND": backend, "PYTHONPATH": str(HERE)}
        self.log = tempfile.NamedTemporaryFile(prefix=f"dash-auth-{backend}-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.process = subprocess.Popen(command(self.backend, self.port), cwd=HERE, env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                requests.get(self.base + "/login", timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.backend} server did not start:\n{self.output()[-3000:]}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
