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

HERE = Path(__file__).resolve().parent
APPS = ("bare", "auth")
BACKENDS = ("flask", "quart", "fastapi")


def measure(requests: int, backends: list[str]) -> None:
    """Inside valgrind: one ``os.getppid()`` marks each phase (callgrind dumps before it)."""
    sys.path.insert(0, str(HERE))
    import bench_guard as b

    login = b.post_callback("out").with_headers(("Authorization", b.AUTH_HEADER))
    runners = []
    loop = None
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
    gc.collect()
    gc.disable()
    for run in runners:
        os.getppid()
        _, _, bad = run(requests)
        if bad:
            raise RuntimeError(f"{bad} requests did not answer 200")
    os.getppid()
    os._exit(0)  # skip interpreter shutdown (and the event loop's thread)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backends", default="flask",
                        help="comma-separated, from flask,quart,fastapi (default flask; each adds about a minute)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        parser.error(f"--backends takes names from {', '.join(BACKENDS)} (got {args.backends!r})")
    if args.inside:
        measure(args.requests, backends)
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
    for index, backend in enumerate(backends):
        bare, auth = (totals[1 + 2 * index + k] / args.requests for k in range(2))
        print(f"{backend:8} bare {bare:12,.0f}  auth {auth:12,.0f} instructions per authenticated callback"
              f"  ratio {auth / bare:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
