"""Start-up at scale: thousands of public routes, pages and callbacks, bare and behind BasicAuth.

A new server process builds its app and then answers its first request; this
measures both, in a fresh Python process per run (``--child``), for a bare
Dash app and for the same app behind ``BasicAuth``:

* ``routes`` public routes, each with a variable segment (``/docs-7/<doc_id>``),
  given to ``BasicAuth`` (the bare app has no such list);
* ``pages`` pages registered with ``dash.register_page(path_template=...)``;
* ``callbacks`` server callbacks on distinct outputs, half of them registered
  with ``public_callback`` behind the stack (``dash.callback`` otherwise);
* the first request: an authenticated callback POST (the bare app ignores the
  header), which runs Dash's own set-up and the guard's snapshot.

Runs alternate bare and auth, ``repeats`` times each; the tables show medians.
``registration_ratio`` times ``public_callback`` against plain
``dash.callback`` in this process, in interleaved blocks.

    hatch run python bench/startup.py                  # Flask, the full sizes
    hatch run python bench/startup.py --backends flask,quart,fastapi --repeats 3
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
SECRET = "bench-secret-key-" + "x" * 32
USER, PASSWORD = "alice", "wonderland"
#: Printed next to the results, never asserted: the stack's share of the time to the first answer.
TARGET_READY_SECONDS = 2.0
#: public_callback against dash.callback, per registration.
TARGET_REGISTRATION_RATIO = 2.0
FULL_SIZES = {"routes": 10_000, "pages": 2_000, "callbacks": 5_000}
PHASES = ("app", "pages", "callbacks", "stack", "first_request")


# -- the child: one app, built and asked once -------------------------------------


def child(backend: str, auth: bool, routes: int, pages: int, callbacks: int) -> dict[str, float]:
    """Build the app, answer one authenticated callback, and return each phase's seconds."""
    os.environ.setdefault("DASH_AUTH_DISABLE_PLUGINS", "1")
    started = time.perf_counter()
    import dash
    from dash import Dash, Input, Output, html

    from dash_auth_basic import BasicAuth
    from dash_auth_core import public_callback
    from dash_auth_core.testing import client_for, use_backend

    phases: dict[str, float] = {"imports": time.perf_counter() - started}
    clock, cpu_clock = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        # Wall time, and this process's CPU time (on a shared machine, the time it
        # waited for a core lands in the wall time only).
        nonlocal clock, cpu_clock
        now, cpu_now = time.perf_counter(), time.process_time()
        phases[name], phases[f"{name}_cpu"] = now - clock, cpu_now - cpu_clock
        clock, cpu_clock = now, cpu_now

    kwargs: dict[str, Any] = {"backend": backend} if backend != "flask" else {"use_async": False}
    app = Dash(__name__, use_pages=pages > 0, pages_folder="", **kwargs)
    outputs = [html.Div(id=f"out-{i}") for i in range(callbacks)]
    app.layout = html.Div([html.Button("go", id="btn"), *([dash.page_container] if pages else []), *outputs])
    lap("app")

    def report(report_id: str | None = None, **_: Any) -> Any:
        return html.Div(f"report {report_id}")

    for i in range(pages):
        dash.register_page(f"bench_page_{i}", path_template=f"/section-{i}/<report_id>", layout=report)
    lap("pages")

    for i in range(callbacks):

        def respond(n: Any, _i: int = i) -> str:
            return f"{_i} {n}"

        register = public_callback if auth and i % 2 else dash.callback
        register(Output(f"out-{i}", "children"), Input("btn", "n_clicks"))(respond)
    lap("callbacks")

    if auth:
        rules = [f"/docs-{i}/<doc_id>" for i in range(routes)]
        BasicAuth(app, {USER: PASSWORD}, public_routes=rules, secret_key=SECRET)
    lap("stack")

    use_backend(backend)
    client = client_for(app)
    header = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    body = {
        "output": "out-0.children", "outputs": {"id": "out-0", "property": "children"},
        "inputs": [{"id": "btn", "property": "n_clicks", "value": 1}], "changedPropIds": ["btn.n_clicks"],
    }
    response = client.post("/_dash-update-component", json=body, headers={"Authorization": header})
    lap("first_request")
    if response.status_code != 200:
        raise RuntimeError(f"the first request answered {response.status_code}")
    phases["ready"] = sum(phases[name] for name in PHASES)
    phases["ready_cpu"] = sum(phases[f"{name}_cpu"] for name in PHASES)
    return phases


def _run_child(spec: dict[str, Any], timeout: float) -> dict[str, float]:
    env = {**os.environ, "DASH_AUTH_DISABLE_PLUGINS": "1", "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, str(HERE), "--child", json.dumps(spec)],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"start-up run {spec} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the parent: runs, medians, the registration ratio -----------------------------------


def run_startup(
    backends: Sequence[str], sizes: dict[str, int], repeats: int, log: Callable[[str], None],
    timeout: float = 600.0,
) -> list[dict[str, Any]]:
    """Per backend: medians of each phase for the bare and the auth app, and what the stack adds."""
    rows = []
    for backend in backends:
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "auth": []}
        for index in range(repeats):
            order = ("bare", "auth") if index % 2 == 0 else ("auth", "bare")
            for kind in order:
                spec = {"backend": backend, "auth": kind == "auth", **sizes}
                runs[kind].append(_run_child(spec, timeout))
        row: dict[str, Any] = {"backend": backend, **sizes, "repeats": repeats, "target": TARGET_READY_SECONDS}
        names = [*PHASES, "ready"]
        for kind, found in runs.items():
            row[kind] = {name: statistics.median(run[name] for run in found) for name in names}
            row[f"{kind}_cpu"] = {name: statistics.median(run[f"{name}_cpu"] for run in found) for name in names}
        for suffix in ("", "_cpu"):
            auth, bare = row[f"auth{suffix}"], row[f"bare{suffix}"]
            row[f"stack_adds{suffix}"] = auth["ready"] - bare["ready"]
            # Dash's own register_page re-sorts the whole registry at each call (quadratic,
            # seconds for 2,000 pages): the stack's target is the time to the first answer without it.
            row[f"auth_ready_without_pages{suffix}"] = auth["ready"] - auth["pages"]
        rows.append(row)
        log(f"  start-up/{backend}: bare {row['bare']['ready']:.2f}s, auth {row['auth']['ready']:.2f}s "
            f"(CPU {row['bare_cpu']['ready']:.2f}s, {row['auth_cpu']['ready']:.2f}s)")
    return rows


def registration_ratio(count: int, rounds: int) -> dict[str, Any]:
    """Seconds per registration: ``public_callback`` against ``dash.callback``, interleaved blocks."""
    import dash
    from dash import Input, Output

    from dash_auth_core import public_callback
    from dash_auth_core.testing import reset_dash_globals

    def block(register: Callable[..., Any]) -> float:
        reset_dash_globals()
        gc.collect()
        functions = []
        for i in range(count):

            def respond(n: Any, _i: int = i) -> str:
                return f"{_i} {n}"

            functions.append(respond)
        outputs = [Output(f"out-{i}", "children") for i in range(count)]
        trigger = Input("btn", "n_clicks")
        gc.disable()  # (for both alike: a collection would land in one block or the other)
        try:
            # CPU time of this process: on a shared machine, time spent waiting for a core
            # would otherwise land in one block or the other.
            started = time.process_time()
            for output, function in zip(outputs, functions, strict=True):
                register(output, trigger)(function)
            elapsed = time.process_time() - started
        finally:
            gc.enable()
        reset_dash_globals()
        return elapsed / count

    plain: list[float] = []
    public: list[float] = []
    try:
        for index in range(rounds):
            pair = [(plain, dash.callback), (public, public_callback)]
            for found, register in pair if index % 2 == 0 else pair[::-1]:
                found.append(block(register))
    finally:
        reset_dash_globals()
    plain_us, public_us = statistics.median(plain) * 1e6, statistics.median(public) * 1e6
    paired = statistics.median(b / a for a, b in zip(plain, public, strict=True))
    return {"count": count, "rounds": rounds, "dash_callback_us": plain_us, "public_callback_us": public_us,
            "ratio": public_us / plain_us, "paired_ratio": paired, "target": TARGET_REGISTRATION_RATIO}


def format_startup(rows: list[dict[str, Any]], registration: dict[str, Any] | None) -> str:
    lines = ["Start-up: seconds to the first answered request (medians of fresh processes)",
             f"  {'backend':<8} {'app':<8} " + " ".join(f"{name:>13}" for name in (*PHASES, "ready"))]
    for row in rows:
        for kind in ("bare", "auth", "bare_cpu", "auth_cpu"):
            values = " ".join(f"{row[kind][name]:>13.2f}" for name in (*PHASES, "ready"))
            lines.append(f"  {row['backend']:<8} {kind:<8} {values}")
        for suffix, label in (("", "wall"), ("_cpu", "CPU")):
            value = row[f"auth_ready_without_pages{suffix}"]
            verdict = "ok" if value <= row["target"] else "OVER"
            lines.append(f"  {row['backend']:<8} {label}: the stack adds {row[f'stack_adds{suffix}']:+.2f}s; auth ready "
                         f"without Dash's page registration {value:.2f}s (target <= {row['target']:.1f}s {verdict})")
    if registration:
        r = registration
        verdict = "ok" if r["ratio"] <= r["target"] else "OVER"
        lines.append(f"  registering a callback: dash.callback {r['dash_callback_us']:.1f} us, public_callback "
                     f"{r['public_callback_us']:.1f} us, ratio {r['ratio']:.2f}x (paired {r['paired_ratio']:.2f}x) (target <= {r['target']:.1f}x {verdict})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="flask")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--routes", type=int, default=FULL_SIZES["routes"])
    parser.add_argument("--pages", type=int, default=FULL_SIZES["pages"])
    parser.add_argument("--callbacks", type=int, default=FULL_SIZES["callbacks"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(child(spec["backend"], spec["auth"], spec["routes"], spec["pages"], spec["callbacks"])))
        return 0
    sizes = {"routes": args.routes, "pages": args.pages, "callbacks": args.callbacks}
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    rows = run_startup(backends, sizes, args.repeats, print)
    print(format_startup(rows, registration_ratio(500, 21)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
