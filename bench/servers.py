"""Wall-clock over each backend's production server: the bare app against the same app behind the stack.

Each app runs in a process of its own under the server people deploy it
with: gunicorn (one ``gthread`` worker, one thread) for Flask, hypercorn for
Quart, uvicorn for FastAPI, each with one worker, on a socket the benchmark
bound to ``127.0.0.1:<free port>`` and hands over (so no port is guessed).
The load comes from another process: ``wrk`` when it is installed
(``apt-get install wrk``), else ``loadgen.py`` (a small asyncio client).
Each block sends the authenticated callback POST for ``seconds`` over
``connections`` keep-alive connections and reports requests per second, the
50th and 99th percentile latency, and the server processes' CPU time per
request (which, unlike the others, time spent waiting for a core on a
shared machine does not change). Blocks alternate between the bare app
and each login's app, ``repeats`` times; the table shows medians, and the
ratios to the bare app (throughput at least 0.97x, p50 and p99 at most
1.05x are the targets, printed, never asserted).

    hatch run python bench/servers.py --backends flask,quart,fastapi --logins basic,oidc
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import logins as lg  # noqa: E402

SERVERS = {"flask": "gunicorn", "quart": "hypercorn", "fastapi": "uvicorn"}
TARGET_THROUGHPUT = 0.97
TARGET_LATENCY = 1.05
UPDATE = "/_dash-update-component"
#: Seconds a server may take to answer its first request (it builds the app first).
START_TIMEOUT = 60.0


@dataclass
class Settings:
    backends: tuple[str, ...] = ("flask", "quart", "fastapi")
    logins: tuple[str, ...] = ("basic", "oidc", "basic-stateless")
    repeats: int = 5
    seconds: float = 3.0
    connections: int = 4
    warmup: int = 200
    loadgen: str = "auto"  # "wrk", "python", or "auto" (wrk if installed)


# -- the server processes ------------------------------------------------------------


def serve(spec: dict[str, Any]) -> None:
    """In the server process: build the app and run it under the backend's production server."""
    import harness as b

    backend, kind, fd = spec["backend"], spec["kind"], spec["fd"]
    app = b.build_backend_app(backend, False if kind == "bare" else kind, spec.get("metadata_url"))
    if backend == "flask":
        from gunicorn.app.base import BaseApplication

        class Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn's documented custom application
            def load_config(self) -> None:
                for key, value in {
                    "bind": [f"fd://{fd}"], "workers": 1, "worker_class": "gthread", "threads": 1,
                    "keepalive": 120, "loglevel": "warning", "accesslog": None,
                }.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                return app.server

        Gunicorn().run()
    elif backend == "quart":
        import asyncio

        from hypercorn.asyncio import serve as hypercorn_serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"fd://{fd}"]
        config.keep_alive_timeout = 120
        config.loglevel = "WARNING"
        asyncio.run(hypercorn_serve(app.server, config))
    else:
        import uvicorn

        # The socket itself, not ``fd=``: uvicorn takes an ``fd`` for a Unix socket, and asyncio
        # then leaves Nagle's algorithm on (40 ms stalls between a response's two writes).
        server = uvicorn.Server(uvicorn.Config(app.server, log_level="warning", access_log=False,
                                               timeout_keep_alive=120))
        server.run(sockets=[socket.socket(fileno=fd)])


class ServerProcess:
    """One app under its production server, in a child process, on a socket bound here."""

    def __init__(self, backend: str, kind: str, metadata_url: str | None) -> None:
        self.backend, self.kind = backend, kind
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self._socket.set_inheritable(True)
        self.port = self._socket.getsockname()[1]
        fd = self._socket.fileno()
        spec = {"backend": backend, "kind": kind, "fd": fd, "metadata_url": metadata_url}
        env = {**os.environ, "DASH_AUTH_DISABLE_PLUGINS": "1", "PYTHONHASHSEED": "0"}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's output, read if it fails; closed in close()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", json.dumps(spec)],
            pass_fds=(fd,), env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def call(self) -> lg.Call:
        """A :class:`logins.Call` over HTTP to this server."""

        def call(method: str, path: str, headers: lg.Headers, body: bytes = b"") -> tuple[int, list[tuple[str, str]]]:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=START_TIMEOUT)
            try:
                conn.request(method, path, body=body or None, headers=dict(headers))
                response = conn.getresponse()
                response.read()
                return response.status, response.getheaders()
            finally:
                conn.close()

        return call

    def cpu_seconds(self) -> float:
        """CPU time the server's processes (gunicorn's master and worker, say) have used so far."""
        import psutil

        total = 0.0
        try:
            root = psutil.Process(self.process.pid)
            for process in (root, *root.children(recursive=True)):
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.Error:  # a process ended meanwhile: the block is then refused by its status checks
            pass
        return total

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-3000:]

    def close(self) -> None:
        if self.process.poll() is None:
            # The whole session: gunicorn's worker is a child of its master.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._socket.close()
        self._log.close()


def warm_up(server: ServerProcess, method: str, path: str, headers: lg.Headers, body: bytes, n: int,
            expect: int | None = 200) -> None:
    """``n`` requests over one keep-alive connection (the server builds its caches); checks each status
    (``expect=None``: any answer below 500 will do)."""
    deadline = time.monotonic() + START_TIMEOUT
    conn = None
    done = 0
    while done < n:
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=START_TIMEOUT)
            conn.request(method, path, body=body, headers={**dict(headers), "Content-Length": str(len(body))})
            response = conn.getresponse()
            response.read()
        except (ConnectionError, http.client.HTTPException, OSError):
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{server.backend}/{server.kind} did not start:\n{server.output()}") from None
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.2)
            continue
        if response.status != expect and (expect is not None or response.status >= 500):
            raise RuntimeError(f"{server.backend}/{server.kind} answered {response.status}, not {expect}")
        if response.will_close:
            conn.close()
            conn = None
        done += 1
    if conn is not None:
        conn.close()


# -- the load --------------------------------------------------------------------------


def load(port: int, headers: lg.Headers, body: bytes, seconds: float, connections: int, loadgen: str) -> dict[str, float]:
    """One block of load from another process: ``requests``, ``rps``, ``p50_us``, ``p99_us``, ``bad``."""
    if loadgen == "wrk":
        return _wrk(port, headers, body, seconds, connections)
    spec = {"port": port, "path": UPDATE, "headers": list(headers), "body": body.decode(), "seconds": seconds,
            "connections": connections}
    done = subprocess.run([sys.executable, str(HERE / "loadgen.py"), json.dumps(spec)], capture_output=True,
                          text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen.py failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk(port: int, headers: lg.Headers, body: bytes, seconds: float, connections: int) -> dict[str, float]:
    lines = [f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in (*headers, ("Content-Type", "application/json"))]
    script = _WRK_SCRIPT.format(body=_lua(body.decode()), headers="\n".join(lines))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        done = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", fh.name,
             f"http://127.0.0.1:{port}{UPDATE}"],
            capture_output=True, text=True, timeout=seconds + 60, check=False,
        )
    finally:
        os.unlink(fh.name)
    result = next((line.split() for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    if done.returncode != 0 or result is None:
        raise RuntimeError(f"wrk failed: {done.stdout[-1000:]}{done.stderr[-1000:]}")
    requests, duration_us, p50, p99, bad = map(int, result[1:])
    return {"requests": requests, "rps": requests / (duration_us / 1e6), "p50_us": float(p50), "p99_us": float(p99),
            "bad": bad}


# -- the section ---------------------------------------------------------------------------


def run_servers(s: Settings, log: Callable[[str], None], metadata_url: str | None) -> dict[str, list[dict[str, Any]]]:
    """Per backend: one row per login against the bare app, from interleaved blocks of load."""
    import harness as b

    loadgen = s.loadgen if s.loadgen != "auto" else ("wrk" if shutil.which("wrk") else "python")
    logins = [login for login in s.logins if login not in lg.NEEDS_PROVIDER or metadata_url is not None]
    body = b.callback_body("out")
    if "redis" in logins:
        lg.redis_url()  # started here, before the servers: they share it (the environment names it)
    out: dict[str, list[dict[str, Any]]] = {}
    for backend in s.backends:
        kinds = ["bare", *dict.fromkeys(lg.APP_OF[login] for login in logins)]
        servers = {kind: ServerProcess(backend, kind, metadata_url) for kind in kinds}
        try:
            requests = {}
            for login in logins:
                server = servers[lg.APP_OF[login]]
                warm_up(server, "GET", "/_dash-layout", (), b"", 1, expect=None)  # started, before signing in
                requests[login] = lg.sign_in(login, server.call(), UPDATE, body)
            for login in logins:
                headers = (*requests[login], ("Content-Type", "application/json"))
                for target in (servers["bare"], servers[lg.APP_OF[login]]):
                    warm_up(target, "POST", UPDATE, headers, body, s.warmup)
            rows = []
            for login in logins:
                series: dict[str, list[dict[str, float]]] = {"bare": [], "auth": []}
                pair = [("bare", servers["bare"]), ("auth", servers[lg.APP_OF[login]])]
                for index in range(s.repeats):
                    for name, server in pair if index % 2 == 0 else pair[::-1]:
                        cpu = server.cpu_seconds()
                        result = load(server.port, requests[login], body, s.seconds, s.connections, loadgen)
                        # The server's CPU time per request: what waiting for a core on a shared
                        # machine does not change (the times above it does).
                        result["cpu_us"] = (server.cpu_seconds() - cpu) / max(result["requests"], 1) * 1e6
                        if result["bad"]:
                            raise RuntimeError(f"{backend}/{login}/{name}: {result['bad']} bad answers under load")
                        series[name].append(result)
                rows.append(_row(backend, login, series, s, loadgen))
                log(f"  servers/{backend}/{login}: {rows[-1]['bare_rps']:.0f} -> {rows[-1]['auth_rps']:.0f} req/s")
            out[backend] = rows
        finally:
            for server in servers.values():
                server.close()
    return out


def _row(backend: str, login: str, series: dict[str, list[dict[str, float]]], s: Settings, loadgen: str) -> dict[str, Any]:
    row: dict[str, Any] = {"backend": backend, "server": SERVERS[backend], "login": login, "loadgen": loadgen,
                           "repeats": s.repeats, "seconds": s.seconds, "connections": s.connections}
    for name, found in series.items():
        for key in ("rps", "p50_us", "p99_us", "cpu_us"):
            row[f"{name}_{key.removesuffix('_us')}"] = statistics.median(r[key] for r in found)
        row[f"{name}_requests"] = sum(r["requests"] for r in found)
    for key in ("rps", "p50", "p99", "cpu"):
        row[f"{key}_ratio"] = row[f"auth_{key}"] / row[f"bare_{key}"]
        row[f"{key}_paired"] = statistics.median(
            a[f"{key}_us" if key != "rps" else key] / b[f"{key}_us" if key != "rps" else key]
            for a, b in zip(series["auth"], series["bare"], strict=True)
        )
    row["targets"] = {"rps": TARGET_THROUGHPUT, "p50": TARGET_LATENCY, "p99": TARGET_LATENCY}
    return row


def format_servers(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["Production servers on 127.0.0.1 (one worker each; load from another process), medians of blocks",
             f"  {'backend':<8} {'server':<10} {'login':<16} {'req/s bare':>10} {'auth':>8} {'ratio':>7} "
             f"{'p50 us bare':>11} {'auth':>7} {'ratio':>7} {'p99 us bare':>11} {'auth':>7} {'ratio':>7} "
             f"{'CPU us/req bare':>15} {'auth':>6} {'ratio':>7}  targets"]
    for rows in results.values():
        for r in rows:
            ok = (r["rps_ratio"] >= TARGET_THROUGHPUT and r["p50_ratio"] <= TARGET_LATENCY
                  and r["p99_ratio"] <= TARGET_LATENCY)
            lines.append(
                f"  {r['backend']:<8} {r['server']:<10} {r['login']:<16} {r['bare_rps']:>10.0f} {r['auth_rps']:>8.0f} "
                f"{r['rps_ratio']:>6.3f}x {r['bare_p50']:>11.0f} {r['auth_p50']:>7.0f} {r['p50_ratio']:>6.3f}x "
                f"{r['bare_p99']:>11.0f} {r['auth_p99']:>7.0f} {r['p99_ratio']:>6.3f}x "
                f"{r['bare_cpu']:>15.0f} {r['auth_cpu']:>6.0f} {r['cpu_ratio']:>6.3f}x  "
                f"{'ok' if ok else 'OVER'} (paired {r['rps_paired']:.3f}x, {r['p50_paired']:.3f}x, "
                f"{r['p99_paired']:.3f}x, CPU {r['cpu_paired']:.3f}x)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="flask,quart,fastapi")
    parser.add_argument("--logins", default="basic,oidc,basic-stateless")
    parser.add_argument("--repeats", type=int, default=Settings.repeats)
    parser.add_argument("--seconds", type=float, default=Settings.seconds)
    parser.add_argument("--connections", type=int, default=Settings.connections)
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(json.loads(args.serve))
        return 0
    settings = Settings(
        backends=tuple(x for x in args.backends.split(",") if x), logins=tuple(x for x in args.logins.split(",") if x),
        repeats=args.repeats, seconds=args.seconds, connections=args.connections, loadgen=args.loadgen,
    )
    provider = lg.OIDCProvider() if any(login in lg.NEEDS_PROVIDER for login in settings.logins) else None
    try:
        results = run_servers(settings, print, provider.metadata_url if provider else None)
    finally:
        if provider is not None:
            provider.close()
    print(format_servers(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
