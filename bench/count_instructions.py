"""Instructions per authenticated callback, bare app vs the stack, counted by valgrind.

Wall-clock ratios on small shared machines move by several percent between
runs; an instruction count does not. This script runs itself under
``valgrind --tool=callgrind`` (which must be installed: ``apt-get install
valgrind``), builds the same two apps as ``bench_guard.py``, and dumps the
counters around ``--requests`` in-process calls of each app, so start-up is
not counted. It prints instructions per request and their ratio.

    hatch run python bench/count_instructions.py            # about two minutes
    hatch run python bench/count_instructions.py --backends flask,quart,fastapi
    hatch run python bench/count_instructions.py --opcodes --backends flask,quart,fastapi --logins basic,oidc

Instructions are not time: the guard runs with caches that Dash's own work
has just filled with other code and data, so its share of the time is larger
than its share of the instructions (see the README's performance section).

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
BACKENDS = ("flask", "quart", "fastapi")
#: The logins counted by default (``--logins``); see bench/logins.py for all of them.
DEFAULT_LOGINS = ("basic",)


class Counted:
    """The runners to count: for each backend and login, the bare app and the login's app, sent the very
    same request (the bare app ignores the credentials, but Dash still reads the cookies)."""

    def __init__(self, backends: list[str], logins: list[str]) -> None:
        sys.path.insert(0, str(HERE))
        import harness as b
        import logins as lg

        self.rows: list[tuple[str, str, Any]] = []  # (backend, login, runner): bare, then auth
        self.loop: Any = None
        self.provider: Any = None
        if any(login in lg.NEEDS_PROVIDER for login in logins):
            self.provider = lg.OIDCProvider()
        metadata_url = self.provider.metadata_url if self.provider is not None else None
        for backend in backends:
            asgi = backend != "flask"
            if asgi:
                self.loop = self.loop or b.AsgiLoop()
            apps: dict[str, Any] = {}
            for kind in ("bare", *dict.fromkeys(lg.APP_OF[login] for login in logins)):
                app = b.build_backend_app(backend, False if kind == "bare" else kind, metadata_url=metadata_url)
                if asgi:
                    self.loop.start(app)
                apps[kind] = app
            login_req = b.post_callback("out")
            for name in logins:
                app = apps[lg.APP_OF[name]]
                call = self.loop.call(app) if asgi else b.wsgi_call(app)
                req = login_req.with_headers(*lg.sign_in(name, call, b.UPDATE, login_req.body))
                for counted in (apps["bare"], app):
                    run = self.loop.runner(counted, req, 200) if asgi else b.inprocess_runner(counted, req, 200)
                    self.rows.append((backend, name, run))
        for _backend, _name, run in self.rows:
            run(50)

    def close(self) -> None:
        if self.loop is not None:
            self.loop.close()
        if self.provider is not None:
            self.provider.close()


def measure(requests: int, backends: list[str], logins: list[str]) -> None:
    """Inside valgrind: one ``os.getppid()`` marks each phase (callgrind dumps before it)."""
    counted = Counted(backends, logins)
    gc.collect()
    gc.disable()
    for _backend, _name, run in counted.rows:
        os.getppid()
        _, _, bad = run(requests)
        if bad:
            raise RuntimeError(f"{bad} requests did not answer 200")
    os.getppid()
    os._exit(0)  # skip interpreter shutdown (and the event loop's and the provider's threads)


def count_opcodes(requests: int, backends: list[str], logins: list[str] | None = None) -> list[float]:
    """Bytecode instructions per request for each runner (this thread and the event loop's).

    The runners are, per backend and login, the bare app and the login's app (``Counted.rows``).
    """
    counted = Counted(backends, list(DEFAULT_LOGINS if logins is None else logins))
    try:
        # The event loop's thread is traced only for the ASGI apps: it runs asyncio's own
        # bytecode even while the Flask apps are measured on this thread.
        return [opcodes_per_request(run, requests, counted.loop if backend != "flask" else None)
                for backend, _name, run in counted.rows]
    finally:
        counted.close()


def opcodes_per_request(run: Any, requests: int, loop: Any = None) -> float:
    """Bytecode instructions per request of ``requests`` calls of runner ``run`` (on this thread,
    and on the thread of ``loop``, an ``AsgiLoop``, when given); a wrong answer raises."""
    total = [0]
    trace = _opcode_counter(total)
    gc.collect()
    gc.disable()  # a collection would run finalizers' bytecode at random points
    if loop is not None:
        loop.run(_set_trace(trace))
    sys.settrace(trace)
    try:
        _, _, bad = run(requests)
    finally:
        sys.settrace(None)
        if loop is not None:
            loop.run(_set_trace(None))
        gc.enable()
    if bad:
        raise RuntimeError(f"{bad} requests did not answer 200")
    return total[0] / requests


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


def report(kind: str, backends: list[str], logins: list[str], per_request: list[float]) -> None:
    """One line per backend and login: the bare app's count, the auth app's, and their ratio."""
    pairs = iter(per_request)
    for backend in backends:
        for login in logins:
            bare, auth = next(pairs), next(pairs)
            print(f"{backend:8} {login:16} bare {bare:12,.0f}  auth {auth:12,.0f} {kind} per authenticated callback"
                  f"  ratio {auth / bare:.3f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backends", default="flask",
                        help="comma-separated, from flask,quart,fastapi (default flask; each adds about a minute)")
    parser.add_argument("--logins", default=",".join(DEFAULT_LOGINS),
                        help="comma-separated logins (bench/logins.py): basic, basic-stateless, oidc (default basic)")
    parser.add_argument("--opcodes", action="store_true",
                        help="count Python bytecode instructions instead (no valgrind; seconds)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    logins = [name.strip() for name in args.logins.split(",") if name.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        parser.error(f"--backends takes names from {', '.join(BACKENDS)} (got {args.backends!r})")
    sys.path.insert(0, str(HERE))
    from logins import LOGINS

    if not logins or set(logins) - set(LOGINS):
        parser.error(f"--logins takes names from {', '.join(LOGINS)} (got {args.logins!r})")
    if args.inside:
        measure(args.requests, backends, logins)
        return 0
    if args.opcodes:
        report("opcodes", backends, logins, count_opcodes(min(args.requests, 50), backends, logins))
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [valgrind, "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
               sys.executable, __file__, "--inside", f"--requests={args.requests}", f"--backends={args.backends}",
               f"--logins={args.logins}"]
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
    # Dump 0 is start-up; then one dump per timed phase: per backend and login, bare then auth.
    report("instructions", backends, logins, [total / args.requests for total in totals[1:]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
