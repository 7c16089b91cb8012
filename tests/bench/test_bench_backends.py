"""Smoke test for the Quart and FastAPI rows of bench/bench_guard.py (no timing is asserted)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from helpers import load_script

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_guard.py"


def _load_bench():
    return load_script(BENCH, "bench_guard_backends_under_test")


@pytest.mark.timeout(60)
def test_backend_rows_compare_each_backend_with_its_own_bare_app():
    bench = _load_bench()
    settings = bench.Settings(rounds=2, requests=3, warmup=3, copies=2)
    lines: list[str] = []
    results = bench.run_backends(settings, lines.append)
    assert set(results) == {"quart", "fastapi"}, lines
    for backend, rows in results.items():
        by_key = {row["scenario"]: row for row in rows}
        assert set(by_key) == {"control", "auth_callback", "auth_callback_stateless", "layout", "public_callback",
                               "rejected"}, backend
        for key, row in by_key.items():
            assert math.isfinite(row["bare_us"]) and row["bare_us"] > 0, (backend, key)
            assert math.isfinite(row["auth_us"]) and row["auth_us"] > 0, (backend, key)
        assert by_key["rejected"]["auth_status"] == 401
        assert by_key["auth_callback"]["target"] == bench.TARGET_BACKEND_RATIOS[backend]
    text = bench.format_pairs("quart", results["quart"])
    assert "authenticated callback POST" in text
