"""What a server-side session store costs: an authenticated callback, bare app vs the stack,
with signed-cookie sessions and with sessions in Redis, in-process (Flask).

    hatch run python bench/bench_sessions.py            # about a minute
    hatch run python bench/bench_sessions.py --quick    # a smoke run

The script starts a private ``redis-server`` on a free port of 127.0.0.1 (it
must be installed: ``apt-get install redis-server``), builds the benchmark app
of ``bench_guard.py`` three ways (bare; BasicAuth with signed cookies; BasicAuth
with ``session_store="redis://..."``), signs in once through the login form (a
browser's session: the cookie alone, no Basic header), and times the same
callback POST against each, interleaved (see bench/README.md). It also counts
the Redis round trips per request (socket writes of redis-py's connection):
at most one, and none once the store remembers the session (Redis reports
every change to what it remembered: see ``sessions/tracking.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET = 1.10


@contextlib.contextmanager
def private_redis():
    """A redis-server of our own on a free port (never the machine's shared one)."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("bench_sessions.py needs redis-server (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="dash-auth-bench-redis-")
    process = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
                                "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def build(store: str | None) -> Any:
    import harness as b

    from dash_auth_basic import BasicAuth

    app = b.build_app(False)
    options = {"session_store": store} if store else {}
    BasicAuth(app, b.make_users(10), public_routes=b.make_public_routes(10), secret_key=b.SECRET,
              login_form=True, **options)
    return app


def form_cookie(app: Any) -> str:
    """Sign in through the login form once; the ``session=...`` cookie a browser would send back."""
    import harness as b

    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": b.USER, "password": b.PASSWORD,
                                           "next": "/"})
    if response.status_code != 303:
        raise RuntimeError(f"the login form answered {response.status_code}")
    cookie = client.get_cookie("session")
    return f"session={cookie.value}"


@contextlib.contextmanager
def counting_round_trips():
    """Count redis-py socket writes (one per command or per pipeline: a round trip each)."""
    from redis.connection import AbstractConnection

    count = [0]
    original = AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> Any:
        count[0] += 1
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        yield count
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.requests, args.copies = 3, 20, 1
    os.environ.setdefault("DASH_AUTH_DISABLE_PLUGINS", "1")
    sys.path.insert(0, str(HERE))
    import harness as b

    with private_redis() as url:
        bare = [b.build_app(False) for _ in range(args.copies)]
        signed = [build(None) for _ in range(args.copies)]
        stored = [build(url) for _ in range(args.copies)]
        request = b.post_callback("out")
        runners = {
            "bare": [b.inprocess_runner(app, request, 200) for app in bare],
            "signed": [b.inprocess_runner(app, request.with_headers(("Cookie", form_cookie(app))), 200)
                       for app in signed],
            "redis": [b.inprocess_runner(app, request.with_headers(("Cookie", form_cookie(app))), 200)
                      for app in stored],
        }
        with counting_round_trips() as count:
            runners["redis"][0](100)
            trips = count[0] / 100
        b._settle()  # noqa: SLF001
        series = b.measure(runners, args.rounds, args.requests, warmup=50)
    rows = {}
    for name in ("signed", "redis"):
        rows[name] = {
            "bare_us": series["bare"].median / 1000, "auth_us": series[name].median / 1000,
            "ratio": series[name].median / series["bare"].median,
            "paired_ratio": b.paired_ratio(series[name], series["bare"]),
        }
    print(f"authenticated callback POST, session cookie from the login form (Flask, in-process; "
          f"{args.rounds} rounds x {args.requests} requests x {args.copies} copies)")
    print(f"  {'sessions':<34} {'bare us':>9} {'auth us':>9} {'auth/bare':>10} {'paired':>8}  target")
    titles = {"signed": "signed cookies (default)", "redis": f"Redis store ({trips:g} round trips/request)"}
    for name, row in rows.items():
        verdict = ("ok" if row["ratio"] <= TARGET else "OVER") if name == "redis" else ""
        target = f"<= {TARGET:.2f}x {verdict}" if name == "redis" else ""
        print(f"  {titles[name]:<34} {row['bare_us']:>9.1f} {row['auth_us']:>9.1f} {row['ratio']:>9.3f}x "
              f"{row['paired_ratio']:>7.3f}x  {target}")
    return {"rows": rows, "round_trips_per_request": trips}


if __name__ == "__main__":
    main()
