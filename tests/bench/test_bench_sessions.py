"""Smoke test for bench/bench_sessions.py: both session rows, and the Redis round trips it counts
(no timing is asserted)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from helpers import load_script

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.timeout(120)
def test_the_sessions_bench_compares_both_stores_and_counts_round_trips(redis_server, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    bench = load_script(BENCH_DIR / "bench_sessions.py", "bench_sessions_under_test")
    try:
        result = bench.main(["--quick"])
    finally:
        sys.modules.pop("bench_guard", None)
        from dash_auth_core.sessions import tracking

        tracking.close_all()
    assert set(result["rows"]) == {"signed", "redis"}
    for row in result["rows"].values():
        assert math.isfinite(row["ratio"]) and row["ratio"] > 0
        assert row["bare_us"] > 0 and row["auth_us"] > 0
        # Counted, not timed: the stack runs the bare app's steps and its own.
        assert row["auth_opcodes"] > row["bare_opcodes"] > 1000
        assert row["opcode_ratio"] == pytest.approx(row["auth_opcodes"] / row["bare_opcodes"])
    # A session the store remembers costs no round trip; never more than one.
    assert 0 <= result["round_trips_per_request"] <= 1
