"""Smoke tests for the benchmark's sections that run other processes or every backend (no timing is asserted).

Production servers (gunicorn, hypercorn, uvicorn, each in a process of its
own) under load from another process, start-up in fresh processes, and the
scaling runs on the async backends, all with tiny counts: each must produce
numbers for every row, and refuse a wrong answer rather than time it.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import pytest
from helpers import load_script

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    sys.path.insert(0, str(BENCH))
    return load_script(BENCH / f"{name}.py", f"{name}_under_test")


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


LOADGENS = ["python", pytest.param("wrk", marks=pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk; .ci/run installs it)"))]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("loadgen", LOADGENS)
def test_every_backend_under_its_production_server(loadgen):
    servers = _load("servers")
    logins = _load("logins")
    provider = logins.OIDCProvider()
    lines: list[str] = []
    try:
        settings = servers.Settings(logins=("basic", "oidc", "basic-stateless"), repeats=1, seconds=1.0,
                                    connections=2, warmup=3, loadgen=loadgen)
        results = servers.run_servers(settings, lines.append, provider.metadata_url)
    finally:
        provider.close()
    assert set(results) == {"flask", "quart", "fastapi"}
    for backend, rows in results.items():
        assert [row["login"] for row in rows] == ["basic", "oidc", "basic-stateless"], backend
        assert {row["server"] for row in rows} == {servers.SERVERS[backend]}
        for row in rows:
            for key in ("bare_rps", "auth_rps", "bare_p50", "auth_p50", "bare_p99", "auth_p99", "rps_ratio",
                        "bare_cpu", "auth_cpu"):
                assert _positive(row[key]), (backend, row["login"], key, row)
            assert row["bare_requests"] > 0 and row["auth_requests"] > 0
    text = servers.format_servers(results)
    assert "gunicorn" in text and "hypercorn" in text and "uvicorn" in text


@pytest.mark.timeout(120)
def test_a_server_that_answers_wrongly_is_refused_not_timed():
    servers = _load("servers")
    logins = _load("logins")
    server = servers.ServerProcess("flask", "basic", None)
    try:
        body = b'{"output": "out.children"}'
        with pytest.raises(RuntimeError, match="401"):
            servers.warm_up(server, "POST", servers.UPDATE, (("Content-Type", "application/json"),), body, 1)
        servers.warm_up(server, "GET", "/_dash-layout", (("Authorization", logins.AUTH_HEADER),), b"", 2)
    finally:
        server.close()
    assert server.process.poll() is not None  # stopped, worker and all


@pytest.mark.timeout(240)
def test_start_up_runs_fresh_processes_on_every_backend():
    startup = _load("startup")
    lines: list[str] = []
    sizes = {"routes": 40, "pages": 4, "callbacks": 10}
    rows = startup.run_startup(("flask", "quart", "fastapi"), sizes, 1, lines.append)
    assert [row["backend"] for row in rows] == ["flask", "quart", "fastapi"]
    for row in rows:
        for kind in ("bare", "auth", "bare_cpu", "auth_cpu"):
            assert _positive(row[kind]["ready"]), (row["backend"], kind)
            assert set(row[kind]) == {*startup.PHASES, "ready"}
        assert row["bare"]["stack"] < row["auth"]["stack"]  # the bare app builds no stack
    registration = startup.registration_ratio(20, 3)
    assert _positive(registration["ratio"]) and _positive(registration["paired_ratio"])
    assert "public_callback" in startup.format_startup(rows, registration)


@pytest.mark.timeout(240)
def test_scaling_runs_every_dimension_on_the_async_backends():
    bench = load_script(BENCH / "bench_guard.py", "bench_guard_scaling_under_test")
    settings = bench.Settings(sizes=(3, 5), scale_rounds=1, scale_requests=2, warmup=2,
                              scale_backends=("quart", "fastapi"))
    rows = bench.run_scaling(settings, lambda line: None)
    found = {(row["backend"], row["dimension"], row["size"]) for row in rows}
    assert found == {(backend, dim, size) for backend in ("quart", "fastapi")
                     for dim in ("routes", "users", "callbacks", "pages", "pages-router") for size in (3, 5)}
    for row in rows:
        assert _positive(row["auth_us"]) and _positive(row["ratio_to_first"]), row
        if row["dimension"] in ("callbacks", "pages", "pages-router"):
            assert _positive(row["bare_us"]), row
    assert "fastapi" in bench.format_scaling(rows)
