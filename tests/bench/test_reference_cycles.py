"""The stack leaves no reference cycles behind a request.

Objects in a cycle outlive their request until the garbage collector runs,
and each one makes its next run longer. Each backend's bare app is the
baseline (Flask and Quart themselves leave a few per request); the same app
behind the stack must leave no more, whether it lets a request through or
refuses it.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from helpers import load_script

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_guard.py"
REQUESTS = 20

pytestmark = pytest.mark.backends("flask", reason="builds the apps of every backend itself")


def _garbage_per_request(run) -> float:
    gc.collect()
    gc.disable()
    try:
        _, done, bad = run(REQUESTS)
        assert bad == 0
        return gc.collect() / done
    finally:
        gc.enable()


@pytest.mark.timeout(120)
def test_no_request_leaves_more_cycles_behind_than_the_bare_app():
    bench = load_script(BENCH, "bench_guard_cycles_under_test")
    login = bench.post_callback("out").with_headers(("Authorization", bench.AUTH_HEADER))
    anonymous = bench.post_callback("out")
    loop = bench.AsgiLoop()
    try:
        for backend in ("flask", "quart", "fastapi"):
            if backend == "flask":
                bare, auth = bench.build_app(False), bench.build_app(True)
                cookie = bench.session_cookie(auth, login)

                def runner(app, req, status):
                    return bench.inprocess_runner(app, req, status)
            else:
                bare, auth = bench.build_backend_app(backend, False), bench.build_backend_app(backend, True)
                loop.start(bare)
                loop.start(auth)
                cookie = bench.asgi_session_cookie(loop, auth, login)
                runner = loop.runner
            browser = login.with_headers(("Cookie", cookie))
            layout = bench.Req("GET", "/_dash-layout").with_headers(("Cookie", cookie), login.headers[-1])
            for name, req, status in (
                ("callback", browser, 200),
                ("callback, no cookie jar", login, 200),
                ("layout", layout, 200),
                ("refused", anonymous, 401),
            ):
                runner(bare, req, 200)(3)  # warm up: first-request set-up is not per request
                runner(auth, req, status)(3)
                baseline = _garbage_per_request(runner(bare, req, 200))
                assert _garbage_per_request(runner(auth, req, status)) <= baseline, (backend, name)
    finally:
        loop.close()
