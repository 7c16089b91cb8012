"""Instructions per authenticated callback, bare app vs the stack, counted by valgrind.

Wall-clock ratios on small shared machines move by several percent between
runs; an instruction count does not. This script runs itself under
``valgrind --tool=callgrind`` (which must be installed: ``apt-get install
valgrind``), builds the same two apps as ``bench_guard.py``, and dumps the
counters around ``--requests`` in-process calls of each app, so start-up is
not counted. It prints instructions per request and their ratio.

    hatch run python bench/count_instructions.py            # about two minutes

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


def measure(requests: int) -> None:
    """Inside valgrind: one ``os.getppid()`` marks each phase (callgrind dumps before it)."""
    sys.path.insert(0, str(HERE))
    import bench_guard as b

    bare, auth = b.build_app(False), b.build_app(True)
    login = b.post_callback("out").with_headers(("Authorization", b.AUTH_HEADER))
    req = login.with_headers(("Cookie", b.session_cookie(auth, login)))
    runners = [b.inprocess_runner(app, req, 200) for app in (bare, auth)]
    for run in runners:
        run(50)
    gc.collect()
    gc.disable()
    for run in runners:
        os.getppid()
        run(requests)
    os.getppid()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        measure(args.requests)
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [valgrind, "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
               sys.executable, __file__, "--inside", f"--requests={args.requests}"]
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
                              timeout=1800, check=False)
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
    # Dump 0 is start-up; dumps 1 and 2 are the two timed phases.
    per_request = {name: totals[i + 1] / args.requests for i, name in enumerate(APPS)}
    for name in APPS:
        print(f"{name:5} {per_request[name]:12,.0f} instructions per authenticated callback")
    print(f"ratio {per_request['auth'] / per_request['bare']:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
