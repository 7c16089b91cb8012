"""What the dash-auth guard costs per request: a bare Dash app against the same app behind BasicAuth.

Run it with ``hatch run bench`` (or ``hatch run python bench/bench_guard.py``);
``--quick`` is a CI smoke run, ``--json PATH`` writes the numbers, ``--profile``
adds a cProfile of the authenticated callback. See ``bench/README.md`` for how
to read the output.

Both apps are built by the same function and differ only in the
``BasicAuth(...)`` line. Every request is prebuilt once and replayed
identically against both apps; bare and auth blocks alternate (ABBA order)
round after round so that drift on a noisy machine hits both alike, and the
result for each app is the median over rounds of the per-request mean of one
block. In-process, each app is built ``--copies`` times and every round runs
each copy once: one Python object graph can sit in memory a few percent
faster or slower than another with the very same code, and a single copy per
app would report that layout luck as overhead. The ``control`` row measures
the bare app against a second set of bare copies, so each run prints its own
noise floor. Nothing here asserts on timings: the script prints targets next
to the numbers and leaves the judgement to the reader.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

# The benchmark's own modules (harness, logins, servers, start-up), also when loaded from a test;
# harness.py turns off third-party plugins (DASH_AUTH_DISABLE_PLUGINS).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dash import Dash, Input, Output  # noqa: E402
from harness import (  # noqa: E402  (the apps, requests and timing every benchmark shares)
    ASYNC_BACKENDS,
    AUTH_HEADER,
    CLOCKS,
    INPROCESS_CLOCK,
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    OIDC_TIMEOUT,
    PASSWORD,
    SECRET,
    TARGET_BACKEND_RATIOS,
    TARGET_CALLBACK_RATIO,
    TARGET_SCALING_RATIO,
    UPDATE,
    USER,
    AsgiLoop,
    OIDCProvider,
    Req,
    Series,
    Server,
    _settle,
    asgi_session_cookie,
    build_app,
    build_backend_app,
    build_clerk_app,
    build_oidc_app,
    callback_body,
    clerk_cookie,
    http_runner,
    inprocess_runner,
    make_public_routes,
    make_users,
    measure,
    oidc_session_cookie,
    paired_ratio,
    post_callback,
    session_cookie,
    without_stack_hooks,
    wsgi_call,
)
from logins import clerk_standin, oidc_sign_in  # noqa: E402

from dash_auth_core import AuthStack  # noqa: E402

#: Names kept here for the scripts and tests that read them from this module (most live in harness.py).
__all__ = ["OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_TIMEOUT", "PASSWORD", "SECRET", "OIDCProvider",
           "make_public_routes", "make_users", "ASYNC_BACKENDS", "CLOCKS", "INPROCESS_CLOCK",
           "TARGET_BACKEND_RATIOS", "TARGET_CALLBACK_RATIO", "TARGET_SCALING_RATIO", "UPDATE", "AsgiLoop",
           "Req", "Series", "Server", "_settle", "asgi_session_cookie", "build_app", "build_backend_app",
           "build_clerk_app", "build_oidc_app", "callback_body", "clerk_cookie", "http_runner",
           "inprocess_runner", "measure", "oidc_session_cookie", "paired_ratio", "post_callback",
           "session_cookie", "wsgi_call", "without_stack_hooks", "AUTH_HEADER"]
# -- settings -----------------------------------------------------------------


@dataclass
class Settings:
    rounds: int = 21
    requests: int = 200  # per round and app copy, in-process
    warmup: int = 200
    copies: int = 3  # in-process: copies of each app, each run every round
    http_rounds: int = 21
    http_requests: int = 200  # per round and app, over HTTP
    http_block_seconds: float = 3.0  # a block stops early past this
    http_budget_seconds: float = 120.0  # the HTTP section skips its remaining rounds past this
    scale_rounds: int = 21
    scale_requests: int = 300
    sizes: tuple[int, ...] = (10, 1_000, 10_000)
    scale_backends: tuple[str, ...] = ("flask", "quart", "fastapi")
    server: str = "waitress"
    clock: str = "cpu"  # in-process: "cpu" (the thread's CPU time) or "wall"
    http: bool = True
    oidc: bool = True
    clerk: bool = True
    backends: bool = True
    servers: bool = True
    server_repeats: int = 7
    server_seconds: float = 3.0
    server_connections: int = 4
    startup: bool = True
    startup_repeats: int = 3
    startup_sizes: tuple[int, int, int] = (10_000, 2_000, 5_000)  # routes, pages, callbacks
    profile: bool = False
    quick: bool = False

    @classmethod
    def quick_defaults(cls) -> Settings:
        return cls(
            rounds=5, requests=60, warmup=40, copies=2, http_rounds=5, http_requests=30, http_block_seconds=1.0,
            http_budget_seconds=20.0, scale_rounds=5, scale_requests=60, server_repeats=1, server_seconds=1.0,
            startup_repeats=1, startup_sizes=(1_000, 100, 500), quick=True,
        )


# -- the apps -----------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    req: Req
    bare_status: int
    auth_status: int
    target: float | None = None  # auth/bare ratio to aim for, printed only
    absolute: bool = False  # compare absolute times, not a ratio (different answers)
    app: str = "auth"  # which app answers: "auth" (BasicAuth), "oidc" (OIDCAuth) or "control" (bare again)


def scenarios(cookie: str, oidc_cookie: str | None = None, clerk_cookie: str | None = None) -> list[Scenario]:
    creds = ("Authorization", AUTH_HEADER)
    browser = (creds, ("Cookie", cookie))
    oidc = [
        Scenario("oidc_callback", "authenticated callback POST (OIDC session cookie)",
                 post_callback("out").with_headers(("Cookie", oidc_cookie)), 200, 200, TARGET_CALLBACK_RATIO,
                 app="oidc"),
    ] if oidc_cookie else []
    if clerk_cookie:
        oidc.append(Scenario("clerk_callback", "authenticated callback POST (Clerk session + __session cookies)",
                             post_callback("out").with_headers(("Cookie", clerk_cookie)), 200, 200,
                             TARGET_CALLBACK_RATIO, app="clerk"))
    return [
        control_scenario(browser),
        Scenario("auth_callback", "authenticated callback POST (header + session cookie)",
                 post_callback("out").with_headers(*browser), 200, 200, TARGET_CALLBACK_RATIO),
        Scenario("auth_callback_stateless", "authenticated callback POST (header only, no cookie)",
                 post_callback("out").with_headers(creds), 200, 200),
        Scenario("layout", "GET /_dash-layout (authenticated)",
                 Req("GET", "/_dash-layout").with_headers(*browser), 200, 200),
        Scenario("index", "GET / index page (authenticated)",
                 Req("GET", "/").with_headers(*browser), 200, 200),
        Scenario("rejected", "unauthenticated callback POST (bare 200, auth 401)",
                 post_callback("out"), 200, 401, absolute=True),
        Scenario("public_callback", "public callback POST, no credentials",
                 post_callback("pub"), 200, 200),
        *oidc,
    ]


def control_scenario(headers: tuple[tuple[str, str], ...]) -> Scenario:
    """The bare app against a second set of bare copies: how far apart identical code measures."""
    return Scenario("control", "control: bare vs bare copies, same callback (noise floor)",
                    post_callback("out").with_headers(*headers), 200, 200, app="control")


def _row(sc: Scenario, bare: Series, auth: Series) -> dict[str, Any]:
    ratio = auth.median / bare.median if bare.median else math.nan
    return {
        "scenario": sc.key,
        "title": sc.title,
        "bare_us": bare.median / 1000,
        "auth_us": auth.median / 1000,
        "overhead_us": (auth.median - bare.median) / 1000,
        "ratio": ratio,
        "paired_ratio": paired_ratio(auth, bare),
        "bare_status": sc.bare_status,
        "auth_status": sc.auth_status,
        "target": sc.target,
        "absolute": sc.absolute,
        "rounds": len(auth.per_round),
        "requests_per_app": auth.requests,
    }


def run_inprocess(
    bare: Sequence[Dash], apps: dict[str, Sequence[Dash]], scs: list[Scenario], s: Settings,
) -> list[dict[str, Any]]:
    """Each scenario: every copy of the bare app against every copy of the scenario's app."""
    rows = []
    for sc in scs:
        series = measure(
            {"bare": [inprocess_runner(app, sc.req, sc.bare_status) for app in bare],
             "auth": [inprocess_runner(app, sc.req, sc.auth_status) for app in apps[sc.app]]},
            s.rounds, s.requests, s.warmup,
        )
        rows.append(_row(sc, series["bare"], series["auth"]))
    return rows


def run_http(bare: Dash, apps: dict[str, Dash], scs: list[Scenario], s: Settings) -> list[dict[str, Any]]:
    """One server per app (the first copy); the control row stays in-process."""
    scs = [sc for sc in scs if sc.app != "control"]
    servers = {"bare": Server(bare, s.server)}
    servers.update({key: Server(app, s.server) for key, app in apps.items() if any(sc.app == key for sc in scs)})
    deadline = time.monotonic() + s.http_budget_seconds
    rows = []
    try:
        for i, sc in enumerate(scs):
            closers = []
            targets = {}
            for name, server_key, expect in (("bare", "bare", sc.bare_status), ("auth", sc.app, sc.auth_status)):
                run, close = http_runner(servers[server_key].port, sc.req, expect, s.http_block_seconds)
                targets[name] = run
                closers.append(close)
            # Each scenario gets an equal share of what is left of the budget.
            share = (deadline - time.monotonic()) / (len(scs) - i)
            try:
                series = measure(targets, s.http_rounds, s.http_requests, max(5, s.warmup // 10),
                                 deadline=time.monotonic() + max(share, 0.5))
            finally:
                for close in closers:
                    close()
            rows.append(_row(sc, series["bare"], series["auth"]))
    finally:
        for server in servers.values():
            server.close()
    return rows


# -- scaling ------------------------------------------------------------------


def run_scaling(s: Settings, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Per-request cost as routes, users, callbacks and pages grow, on every backend (see scaling.py)."""
    import scaling

    return scaling.run_scaling(s, log)


def run_groups(s: Settings, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """A protected callback (100 groups, 10,000 restricted users) against an unprotected one, same app."""
    from dash_auth_groups import protected_callback

    app = build_app(auth=True)
    groups = [f"group-{i:03d}" for i in range(100)]
    AuthStack.of(app).configure(user_groups={USER: [groups[-1]]})

    def guarded(n: Any) -> str:
        return f"protected {n}"

    protected_callback(
        Output("prot", "children"), Input("btn", "n_clicks"), app=app,
        groups=groups, restricted_users=[f"user{i:05d}" for i in range(10_000)], restricted_users_key="id",
    )(guarded)
    base = post_callback("out").with_headers(("Authorization", AUTH_HEADER))
    cookie = session_cookie(app, base)
    targets = {
        "unprotected": inprocess_runner(app, base.with_headers(("Cookie", cookie)), 200),
        "protected": inprocess_runner(
            app, post_callback("prot").with_headers(("Authorization", AUTH_HEADER), ("Cookie", cookie)), 200
        ),
    }
    _settle()
    series = measure(targets, s.scale_rounds, s.scale_requests, s.warmup)
    unprotected, protected = series["unprotected"], series["protected"]
    log("  groups: protected callback measured against an unprotected one on the same app")
    return [{
        "scenario": "protected_callback",
        "unprotected_us": unprotected.median / 1000,
        "protected_us": protected.median / 1000,
        "ratio": protected.median / unprotected.median,
        "paired_ratio": paired_ratio(protected, unprotected),
        "target": TARGET_CALLBACK_RATIO,
    }]


def format_groups(rows: list[dict[str, Any]]) -> str:
    lines = ["Groups: protected callback (100 groups, 10,000 restricted users) vs unprotected, in-process",
             f"  {'unprotected us':>15} {'protected us':>13} {'ratio':>8} {'paired':>8}  target"]
    for r in rows:
        lines.append(f"  {r['unprotected_us']:>15.1f} {r['protected_us']:>13.1f} {_fmt_ratio(r['ratio']):>8} "
                     f"{_fmt_ratio(r['paired_ratio']):>8}  <= {r['target']:.2f}x {_verdict(r['ratio'], r['target'])}")
    return "\n".join(lines)


def backend_scenarios(cookie: str, oidc_cookie: str | None = None,
                      target: float = TARGET_CALLBACK_RATIO) -> list[Scenario]:
    creds = ("Authorization", AUTH_HEADER)
    browser = (creds, ("Cookie", cookie))
    oidc = [
        Scenario("oidc_callback", "authenticated callback POST (OIDC session cookie)",
                 post_callback("out").with_headers(("Cookie", oidc_cookie)), 200, 200, target, app="oidc"),
    ] if oidc_cookie else []
    return [
        control_scenario(browser),
        Scenario("auth_callback", "authenticated callback POST (header + session cookie)",
                 post_callback("out").with_headers(*browser), 200, 200, target),
        *oidc,
        Scenario("auth_callback_stateless", "authenticated callback POST (header only, no cookie)",
                 post_callback("out").with_headers(creds), 200, 200),
        Scenario("layout", "GET /_dash-layout (authenticated)",
                 Req("GET", "/_dash-layout").with_headers(*browser), 200, 200),
        Scenario("public_callback", "public callback POST, no credentials",
                 post_callback("pub"), 200, 200),
        Scenario("rejected", "unauthenticated callback POST (bare 200, auth 401)",
                 post_callback("out"), 200, 401, absolute=True),
    ]


def run_backends(
    s: Settings, log: Callable[[str], None], metadata_url: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Per async backend: the auth app against the bare app on the same backend, in-process.

    With ``metadata_url`` (an OpenID provider's), the OIDC row too.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for backend in ASYNC_BACKENDS:
        copies = range(s.copies)
        try:
            bare = [build_backend_app(backend, False) for _ in copies]
            apps = {"auth": [build_backend_app(backend, True) for _ in copies],
                    "control": [build_backend_app(backend, False) for _ in copies]}
            if metadata_url is not None:
                apps["oidc"] = [build_backend_app(backend, "oidc", metadata_url) for _ in copies]
        except ImportError as exc:
            log(f"  {backend}: skipped ({exc}); pip install dash-auth-core[{backend}]")
            continue
        loop = AsgiLoop()
        try:
            for app in [*bare, *(app for group in apps.values() for app in group)]:
                loop.start(app)
            _settle()
            login = post_callback("out").with_headers(("Authorization", AUTH_HEADER))
            oidc_cookie = oidc_sign_in(loop.call(apps["oidc"][0])) if "oidc" in apps else None
            rows = []
            cookie = asgi_session_cookie(loop, apps["auth"][0], login)
            for sc in backend_scenarios(cookie, oidc_cookie, TARGET_BACKEND_RATIOS[backend]):
                series = measure({"bare": [loop.runner(app, sc.req, sc.bare_status) for app in bare],
                                  "auth": [loop.runner(app, sc.req, sc.auth_status) for app in apps[sc.app]]},
                                 s.rounds, s.requests, s.warmup)
                rows.append(_row(sc, series["bare"], series["auth"]))
            out[backend] = rows
        finally:
            loop.close()
    return out


# -- profile ------------------------------------------------------------------


def profile_guard(auth: Dash, req: Req, n: int) -> str:
    """cProfile of ``n`` authenticated callbacks on the auth app (in-process)."""
    import cProfile
    import pstats

    run = inprocess_runner(auth, req, 200)
    run(50)
    prof = cProfile.Profile()
    prof.enable()
    run(n)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(r"dash_auth|flask/sessions|itsdangerous|pluggy", 40)
    return buf.getvalue()


# -- output -------------------------------------------------------------------


def _fmt_ratio(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3f}x"


def _verdict(value: float, target: float | None) -> str:
    if target is None or math.isnan(value):
        return ""
    return "ok" if value <= target else "OVER"


def format_pairs(title: str, rows: list[dict[str, Any]]) -> str:
    lines = [title, f"  {'scenario':<56} {'bare us':>9} {'auth us':>9} {'+us':>8} {'auth/bare':>10} "
                    f"{'paired':>8}  target"]
    for r in rows:
        if r["absolute"]:
            ratio = f"{r['bare_status']} vs {r['auth_status']}"
            target = "(absolute: different answers)"
            paired = ""
        else:
            ratio = _fmt_ratio(r["ratio"])
            paired = _fmt_ratio(r["paired_ratio"])
            target = f"<= {r['target']:.2f}x {_verdict(r['ratio'], r['target'])}" if r["target"] else ""
        lines.append(f"  {r['title']:<56} {r['bare_us']:>9.1f} {r['auth_us']:>9.1f} {r['overhead_us']:>+8.1f} "
                     f"{ratio:>10} {paired:>8}  {target}")
    return "\n".join(lines)


def format_scaling(rows: list[dict[str, Any]]) -> str:
    lines = ["Scaling: authenticated callback (pages: the Pages routing callback), in-process, ratio to the "
             "smallest size",
             f"  {'backend':<8} {'dimension':<10} {'size':>7} {'auth us':>9} {'vs first':>9} {'paired':>8}  "
             f"{'bare us':>9} {'bare vs first':>13} {'auth/bare':>9}  target"]
    for r in rows:
        bare = (f"{r['bare_us']:>9.1f} {_fmt_ratio(r['bare_ratio_to_first']):>13} {_fmt_ratio(r['auth_over_bare']):>9}"
                if "bare_us" in r else f"{'':>9} {'':>13} {'':>9}")
        lines.append(f"  {r.get('backend', 'flask'):<8} {r['dimension']:<10} {r['size']:>7,} {r['auth_us']:>9.1f} "
                     f"{_fmt_ratio(r['ratio_to_first']):>9} "
                     f"{_fmt_ratio(r['paired_ratio_to_first']):>8}  {bare}  " + (
                         # Dash's router walks every page in both apps: the stack's share is auth/bare.
                         f"auth/bare <= {r['target']:.2f}x {_verdict(r['auth_over_bare'], r['target'])}"
                         if r["dimension"] == "pages-router" else
                         f"<= {r['target']:.2f}x {_verdict(r['ratio_to_first'], r['target'])}"))
    return "\n".join(lines)


def environment(s: Settings) -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {d: version(d) for d in ("dash", "flask", "werkzeug", "pluggy", "itsdangerous",
                                             "waitress", "dash-auth-core", "dash-auth-basic",
                                             "dash-auth-oidc", "authlib")},
        "settings": {k: v for k, v in vars(s).items()},
    }


# -- main ---------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> tuple[Settings, str | None]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds and requests (CI smoke run, < 60 s)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--rounds", type=int, help="interleaved rounds per in-process scenario")
    p.add_argument("--requests", type=int, help="requests per round and app, in-process")
    p.add_argument("--warmup", type=int, help="warm-up requests per app before timing")
    p.add_argument("--copies", type=int, help="in-process copies of each app, each run every round (default 3)")
    p.add_argument("--http-rounds", type=int)
    p.add_argument("--http-requests", type=int, help="requests per round and app over HTTP")
    p.add_argument("--http-budget", type=float, help="seconds the HTTP section may take at most")
    p.add_argument("--scale-rounds", type=int)
    p.add_argument("--scale-requests", type=int)
    p.add_argument("--sizes", help="comma-separated sizes for the scaling runs (default 10,1000,10000)")
    p.add_argument("--server", choices=("waitress", "werkzeug"), help="HTTP server (default waitress)")
    p.add_argument("--clock", choices=tuple(CLOCKS),
                   help="in-process timing: the requests' thread's CPU time (cpu, the default) or wall time")
    p.add_argument("--no-http", action="store_true", help="skip the HTTP section")
    p.add_argument("--no-oidc", action="store_true", help="skip the OIDC row (no provider is started)")
    p.add_argument("--no-clerk", action="store_true", help="skip the Clerk row (no Clerk stand-in is started)")
    p.add_argument("--no-backends", action="store_true", help="skip the Quart and FastAPI rows")
    p.add_argument("--scale-backends", help="comma-separated backends for the scaling runs (default all three)")
    p.add_argument("--no-servers", action="store_true",
                   help="skip the production servers section (gunicorn, hypercorn, uvicorn under load)")
    p.add_argument("--server-repeats", type=int, help="blocks of load per app and login (default 7)")
    p.add_argument("--server-seconds", type=float, help="seconds of load per block (default 3)")
    p.add_argument("--no-startup", action="store_true", help="skip the start-up section (fresh processes)")
    p.add_argument("--startup-repeats", type=int, help="fresh processes per app and backend (default 3)")
    p.add_argument("--startup-sizes", help="routes,pages,callbacks for the start-up section (default 10000,2000,5000)")
    p.add_argument("--profile", action="store_true", help="print a cProfile of the authenticated callback")
    a = p.parse_args(argv)
    s = Settings.quick_defaults() if a.quick else Settings()
    for name in ("rounds", "requests", "warmup", "copies", "http_rounds", "http_requests", "scale_rounds",
                 "scale_requests", "server", "clock", "server_repeats", "server_seconds", "startup_repeats"):
        value = getattr(a, name)
        if value is not None:
            setattr(s, name, value)
    if s.copies < 1:
        p.error("--copies must be at least 1")
    if a.http_budget is not None:
        s.http_budget_seconds = a.http_budget
    if a.sizes:
        s.sizes = tuple(int(x) for x in a.sizes.split(",") if x.strip())
        if len(s.sizes) < 2 or min(s.sizes) < 2:
            p.error("--sizes needs at least two sizes, each >= 2")
    if a.no_http:
        s.http = False
    if a.no_oidc:
        s.oidc = False
    if a.no_clerk:
        s.clerk = False
    if a.no_backends:
        s.backends = False
    if a.scale_backends:
        s.scale_backends = tuple(x.strip() for x in a.scale_backends.split(",") if x.strip())
    if a.no_servers:
        s.servers = False
    if a.no_startup:
        s.startup = False
    if a.startup_sizes:
        routes, pages, callbacks = (int(x) for x in a.startup_sizes.split(","))
        s.startup_sizes = (routes, pages, callbacks)
    s.profile = a.profile
    return s, a.json


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the benchmark, print the tables, return (and optionally write) the results."""
    settings, json_path = parse_args(argv)
    INPROCESS_CLOCK[0] = CLOCKS[settings.clock]
    started = time.monotonic()
    env = environment(settings)
    out(f"dash-auth guard benchmark ({'quick' if settings.quick else 'full'}) - Python {env['python']}, "
        f"dash {env['versions']['dash']}, flask {env['versions']['flask']}, {env['cpus']} CPUs")
    out(f"  {settings.rounds} rounds x {settings.requests} requests in-process, {settings.http_rounds} x "
        f"{settings.http_requests} over HTTP ({settings.server}), scaling sizes {list(settings.sizes)}")

    try:
        results = _run(settings, env, out)
    finally:
        gc.unfreeze()  # _settle() froze the apps; leave the process as it was
    results["seconds"] = time.monotonic() - started
    out(f"\ntotal {results['seconds']:.0f}s")
    if json_path:
        with open(json_path, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2, allow_nan=True)
        out(f"wrote {json_path}")
    return results


def _run(settings: Settings, env: dict[str, Any], out: Callable[[str], None]) -> dict[str, Any]:
    providers: list[Any] = []
    try:
        return _run_all(settings, env, out, providers)
    finally:
        for provider in providers:
            provider.close()


def _run_all(
    settings: Settings, env: dict[str, Any], out: Callable[[str], None], providers: list[Any],
) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        copies = range(settings.copies)
        bare = [build_app(auth=False) for _ in copies]
        apps = {"auth": [build_app(auth=True) for _ in copies], "control": [build_app(auth=False) for _ in copies]}
        assert AuthStack.get(apps["auth"][0]) is not None and AuthStack.get(bare[0]) is None
        # One cookie for every copy: they share the secret key, like the workers of one deployment.
        cookie = session_cookie(apps["auth"][0], post_callback("out").with_headers(("Authorization", AUTH_HEADER)))
        oidc_cookie = None
        if settings.oidc:
            try:
                provider = OIDCProvider()
            except ImportError as exc:
                out(f"  OIDC row skipped: {exc} (pip install oidc-provider-mock)")
            else:
                providers.append(provider)
                apps["oidc"] = [build_oidc_app(provider.metadata_url) for _ in copies]
                oidc_cookie = oidc_session_cookie(apps["oidc"][0])
        clerk_cookie_value = None
        if settings.clerk:
            standin = clerk_standin()
            providers.append(standin)
            apps["clerk"] = [build_clerk_app(standin) for _ in copies]
            clerk_cookie_value = clerk_cookie(apps["clerk"][0], standin)
        scs = scenarios(cookie, oidc_cookie, clerk_cookie_value)
        _settle()

        results: dict[str, Any] = {"environment": env}
        t = time.monotonic()
        results["inprocess"] = run_inprocess(bare, apps, scs, settings)
        out("")
        out(format_pairs(f"In-process (WSGI call with a prebuilt environ, {settings.copies} copies of each app), "
                         f"median us per request [{time.monotonic() - t:.0f}s]", results["inprocess"]))

        if settings.http:
            t = time.monotonic()
            results["http"] = run_http(bare[0], {key: group[0] for key, group in apps.items()}, scs, settings)
            out("")
            out(format_pairs(f"HTTP keep-alive on 127.0.0.1 ({settings.server}, http.client), median us per "
                             f"request [{time.monotonic() - t:.0f}s]", results["http"]))

        out("")
        t = time.monotonic()
        results["scaling"] = run_scaling(settings, out)
        out(format_scaling(results["scaling"]) + f"\n  [{time.monotonic() - t:.0f}s]")

        out("")
        results["groups"] = run_groups(settings, out)
        out(format_groups(results["groups"]))

        if settings.backends:
            out("")
            t = time.monotonic()
            results["backends"] = run_backends(settings, out, providers[0].metadata_url if providers else None)
            for backend, rows in results["backends"].items():
                out(format_pairs(f"{backend} backend (in-process ASGI call, auth app vs bare {backend} app), "
                                 f"median us per request", rows))
            out(f"  [{time.monotonic() - t:.0f}s]")

        if settings.servers:
            import servers

            out("")
            t = time.monotonic()
            server_settings = servers.Settings(repeats=settings.server_repeats, seconds=settings.server_seconds,
                                               connections=settings.server_connections)
            results["servers"] = servers.run_servers(server_settings, out,
                                                     providers[0].metadata_url if providers else None)
            out(servers.format_servers(results["servers"]) + f"\n  [{time.monotonic() - t:.0f}s]")

        if settings.startup:
            import startup

            out("")
            t = time.monotonic()
            routes, pages, callbacks = settings.startup_sizes
            sizes = {"routes": routes, "pages": pages, "callbacks": callbacks}
            results["startup"] = startup.run_startup(("flask", "quart", "fastapi"), sizes, settings.startup_repeats, out)
            results["registration"] = startup.registration_ratio(500 if not settings.quick else 50,
                                                                 21 if not settings.quick else 3)
            out(startup.format_startup(results["startup"], results["registration"])
                + f"\n  [{time.monotonic() - t:.0f}s]")

        if settings.profile:
            out("")
            out("cProfile: authenticated callback on the auth app (dash_auth, sessions, pluggy rows)")
            callback = next(sc for sc in scs if sc.key == "auth_callback")
            out(profile_guard(apps["auth"][0], callback.req, max(settings.requests * 10, 500)))

    return results


if __name__ == "__main__":
    main()
