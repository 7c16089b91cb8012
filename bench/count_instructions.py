"""Instructions per authenticated callback, bare app vs the stack, counted by valgrind.

Wall-clock ratios on small shared machines move by several percent between
runs; an instruction count does not. This script runs itself under
``valgrind --tool=callgrind`` (which must be installed: ``apt-get install
valgrind``), builds the same two apps as ``bench_guard.py``, and dumps the
counters around ``--requests`` in-process calls of each app, so start-up is
not counted. It prints instructions per request and their ratio.

    hatch run python bench/count_instructions.py            # about two minutes
    hatch run python bench/count_instructions.py --backends flask,quart,fastapi

Instructions are not time: the guard runs with caches that Dash's own work
has just filled with other code and data, so its share of the time is larger
than its share of the instructions (see the README's performance section).

``--opcodes --clerk`` counts the same for the app behind ``ClerkAuth`` (Flask),
signed in against a local stand-in for Clerk's cloud.

``--opcodes`` counts Python bytecode instructions instead, with a trace
function and without valgrind (seconds, not minutes). The guard is many small
steps, each of which costs an interpreter dispatch, and its share of the
opcodes follows its share of the time more closely than the machine
instructions do.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
APPS = ("bare", "auth")
BACKENDS = ("flask", "quart", "fastapi")


def build_runners(backends: list[str], provider: str = "basic") -> tuple[list[Any], Any]:
    """Runners for the bare and the auth app of each backend, in that order, and the event loop if any.

    ``provider="clerk"``: the auth app is behind ``ClerkAuth`` (Flask), signed in through its
    callback route against the local stand-in for Clerk's cloud, the browser sending the app's
    session cookie and clerk-js's ``__session`` cookie.
    """
    sys.path.insert(0, str(HERE))
    import bench_guard as b

    login = b.post_callback("out").with_headers(("Authorization", b.AUTH_HEADER))
    runners = []
    loop = None
    if provider == "clerk":
        standin = b.clerk_standin()
        bare, auth = b.build_app(False), b.build_clerk_app(standin)
        req = b.post_callback("out").with_headers(("Cookie", b.clerk_cookie(auth, standin)))
        runners += [b.inprocess_runner(app, req, 200) for app in (bare, auth)]
        for run in runners:
            run(50)
        return runners, None
    for backend in backends:
        if backend == "flask":
            bare, auth = b.build_app(False), b.build_app(True)
            req = login.with_headers(("Cookie", b.session_cookie(auth, login)))
            runners += [b.inprocess_runner(app, req, 200) for app in (bare, auth)]
            continue
        loop = loop or b.AsgiLoop()
        bare, auth = b.build_backend_app(backend, False), b.build_backend_app(backend, True)
        for app in (bare, auth):
            loop.start(app)
        req = login.with_headers(("Cookie", b.asgi_session_cookie(loop, auth, login)))
        runners += [loop.runner(app, req, 200) for app in (bare, auth)]
    for run in runners:
        run(50)
    return runners, loop


def measure(requests: int, backends: list[str]) -> None:
    """Inside valgrind: one ``os.getppid()`` marks each phase (callgrind dumps before it)."""
    runners, _loop = build_runners(backends)
    gc.collect()
    gc.disable()
    for run in runners:
        os.getppid()
        _, _, bad = run(requests)
        if bad:
            raise RuntimeError(f"{bad} requests did not answer 200")
    os.getppid()
    os._exit(0)  # skip interpreter shutdown (and the event loop's thread)


def count_opcodes(requests: int, backends: list[str], provider: str = "basic") -> list[float]:
    """Bytecode instructions per request for each runner (this thread and the event loop's)."""
    runners, loop = build_runners(backends, provider)
    counts = []
    for index, run in enumerate(runners):
        total = [0]
        trace = _opcode_counter(total)
        # Trace the event loop's thread only for the ASGI apps: it runs asyncio's own
        # bytecode even while the Flask apps are measured on this thread.
        asgi = loop if backends[index // 2] != "flask" else None
        gc.collect()
        gc.disable()  # a collection would run finalizers' bytecode at random points
        if asgi is not None:
            asgi.run(_set_trace(trace))
        sys.settrace(trace)
        try:
            _, _, bad = run(requests)
        finally:
            sys.settrace(None)
            if asgi is not None:
                asgi.run(_set_trace(None))
            gc.enable()
        if bad:
            raise RuntimeError(f"{bad} requests did not answer 200")
        counts.append(total[0] / requests)
    if loop is not None:
        loop.close()
    return counts


def _opcode_counter(total: list[int]) -> Any:
    """A trace function that adds every bytecode instruction it sees to ``total[0]``."""

    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        return local

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "opcode":
            total[0] += 1
        return local

    return trace


async def _set_trace(trace: Any) -> None:
    sys.settrace(trace)  # for the event loop's thread, where the ASGI apps run


def report(kind: str, backends: list[str], per_request: list[float], provider: str = "basic") -> None:
    for index, backend in enumerate(backends):
        bare, auth = per_request[2 * index], per_request[2 * index + 1]
        label = backend if provider == "basic" else f"{backend}+{provider}"
        print(f"{label:8} bare {bare:12,.0f}  auth {auth:12,.0f} {kind} per authenticated callback"
              f"  ratio {auth / bare:.3f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backends", default="flask",
                        help="comma-separated, from flask,quart,fastapi (default flask; each adds about a minute)")
    parser.add_argument("--opcodes", action="store_true",
                        help="count Python bytecode instructions instead (no valgrind; seconds)")
    parser.add_argument("--clerk", action="store_true",
                        help="with --opcodes: the auth app behind ClerkAuth (Flask; a local stand-in for Clerk)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        parser.error(f"--backends takes names from {', '.join(BACKENDS)} (got {args.backends!r})")
    if args.inside:
        measure(args.requests, backends)
        return 0
    if args.clerk and (not args.opcodes or backends != ["flask"]):
        parser.error("--clerk counts opcodes on Flask: use it with --opcodes and the default --backends")
    if args.opcodes:
        provider = "clerk" if args.clerk else "basic"
        report("opcodes", backends, count_opcodes(min(args.requests, 50), backends, provider), provider)
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [valgrind, "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
               sys.executable, __file__, "--inside", f"--requests={args.requests}", f"--backends={args.backends}"]
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
                              timeout=3600, check=False)
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            return done.returncode
        dumps = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        totals = []
        for dump in dumps:
            for line in dump.read_text().splitlines():
                if line.startswith(("summary:", "totals:")):
                    totals.append(int(line.split()[1]))
                    break
    # Dump 0 is start-up; then one dump per timed phase: bare and auth for each backend.
    report("instructions", backends, [total / args.requests for total in totals[1:]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
