"""What a server-side session store costs: an authenticated callback, bare app vs the stack,
with signed-cookie sessions and with sessions in Redis, in-process (Flask).

    hatch run python bench/bench_sessions.py            # about a minute
    hatch run python bench/bench_sessions.py --quick    # a smoke run

The script starts a private ``redis-server`` on a free port of 127.0.0.1 (it
must be installed: ``apt-get install redis-server``), builds the benchmark app
of ``bench_guard.py`` three ways (bare; BasicAuth with signed cookies; BasicAuth
with ``session_store="redis://..."``), signs in once through the login form (a
browser's session: the cookie alone, no Basic header), and times the same
callback POST against each, interleaved (see bench/README.md). The bare app is
sent the very same request, cookie included: Dash parses the cookie header
whatever is signed in, which is not the stack's cost. It also counts each
app's bytecode steps per request (the steady measure: the 1.10x target is
judged on them) and the Redis round trips per request (socket writes of
redis-py's connection): at most one, and none once the store remembers the
session (Redis reports every change to what it remembered: see
``sessions/tracking.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET = 1.10


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


def count_opcodes(runners: dict[str, Any], requests: int) -> dict[str, float]:
    """Bytecode instructions per request of each runner (see count_instructions.py --opcodes)."""
    from count_instructions import opcodes_per_request

    counts = {}
    for name, run in runners.items():
        run(50)  # warm: the first requests do Dash's set-up, and fill the stack's caches
        counts[name] = opcodes_per_request(run, requests)
    return counts


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
    from logins import private_redis

    with private_redis() as url:
        request = b.post_callback("out")
        runners: dict[str, list[Any]] = {}
        for name, store in (("signed", None), ("redis", url)):
            apps = [build(store) for _ in range(args.copies)]
            # The bare app is sent the very same request, cookie included: what Dash itself does
            # with a cookie header (it parses it for callback_context) is not the stack's cost.
            requests = [request.with_headers(("Cookie", form_cookie(app))) for app in apps]
            runners[name] = [b.inprocess_runner(app, req, 200) for app, req in zip(apps, requests, strict=True)]
            runners[f"bare:{name}"] = [b.inprocess_runner(b.build_app(False), req, 200) for req in requests]
        with counting_round_trips() as count:
            runners["redis"][0](100)
            trips = count[0] / 100
        opcodes = count_opcodes({name: copies[0] for name, copies in runners.items()}, 20 if args.quick else 500)
        b._settle()  # noqa: SLF001
        series = b.measure(runners, args.rounds, args.requests, warmup=50)
    rows = {}
    for name in ("signed", "redis"):
        bare = series[f"bare:{name}"]
        rows[name] = {
            "bare_us": bare.median / 1000, "auth_us": series[name].median / 1000,
            "ratio": series[name].median / bare.median,
            "paired_ratio": b.paired_ratio(series[name], bare),
            "bare_opcodes": opcodes[f"bare:{name}"], "auth_opcodes": opcodes[name],
            "opcode_ratio": opcodes[name] / opcodes[f"bare:{name}"],
        }
    print(f"authenticated callback POST, session cookie from the login form (Flask, in-process; "
          f"{args.rounds} rounds x {args.requests} requests x {args.copies} copies; the bare app gets the same "
          f"request)")
    print(f"  {'sessions':<34} {'bare us':>9} {'auth us':>9} {'auth/bare':>10} {'paired':>8} "
          f"{'bytecode steps':>22}  target")
    titles = {"signed": "signed cookies (default)", "redis": f"Redis store ({trips:g} round trips/request)"}
    for name, row in rows.items():
        # Bytecode steps are the steady measure (times move by several percent between runs).
        verdict = ("ok" if row["opcode_ratio"] <= TARGET else "OVER") if name == "redis" else ""
        target = f"<= {TARGET:.2f}x {verdict}" if name == "redis" else ""
        steps = f"{row['bare_opcodes']:,.0f} -> {row['auth_opcodes']:,.0f} ({row['opcode_ratio']:.3f}x)"
        print(f"  {titles[name]:<34} {row['bare_us']:>9.1f} {row['auth_us']:>9.1f} {row['ratio']:>9.3f}x "
              f"{row['paired_ratio']:>7.3f}x {steps:>22}  {target}")
    return {"rows": rows, "round_trips_per_request": trips}


if __name__ == "__main__":
    main()
