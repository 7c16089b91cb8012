"""Smoke test for bench/bench_guard.py: every section runs and yields numbers.

Timing ratios are never asserted here (they depend on the machine); this only
checks that the benchmark still works against the current library, with tiny
counts so it stays well under 30 seconds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers import load_script

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_guard.py"
SCENARIOS = {
    "auth_callback", "auth_callback_stateless", "layout", "index", "rejected", "public_callback", "oidc_callback", "clerk_callback",
}
SIZES = (3, 5, 8)


def _load_bench():
    return load_script(BENCH, "bench_guard_under_test")


def _positive(value) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


@pytest.mark.timeout(30)
def test_quick_run_produces_numbers_for_every_scenario(tmp_path):
    bench = _load_bench()
    out_path = tmp_path / "bench.json"
    lines: list[str] = []
    results = bench.main(
        [
            "--quick", "--rounds", "2", "--requests", "3", "--warmup", "3", "--copies", "2",
            "--http-rounds", "2", "--http-requests", "3", "--http-budget", "10",
            "--scale-rounds", "2", "--scale-requests", "3",
            "--sizes", ",".join(map(str, SIZES)), "--scale-backends", "flask",
            "--no-servers", "--no-startup",  # (smoke-tested on their own below)
            "--json", str(out_path),
        ],
        out=lines.append,
    )

    for mode in ("inprocess", "http"):
        rows = {row["scenario"]: row for row in results[mode]}
        # The control row (bare against bare copies) is measured in-process only.
        assert set(rows) == (SCENARIOS | {"control"} if mode == "inprocess" else SCENARIOS), mode
        for key, row in rows.items():
            assert _positive(row["bare_us"]) and _positive(row["auth_us"]), (mode, key, row)
            assert row["rounds"] >= 1, (mode, key)
            if not row["absolute"]:
                assert _positive(row["ratio"]) and _positive(row["paired_ratio"]), (mode, key, row)
        assert rows["rejected"]["auth_status"] == 401

    scaling = {(row["backend"], row["dimension"], row["size"]): row for row in results["scaling"]}
    dims = ("routes", "users", "callbacks", "pages", "pages-router")
    assert set(scaling) == {("flask", dim, size) for dim in dims for size in SIZES}
    for key, row in scaling.items():
        assert _positive(row["auth_us"]) and _positive(row["ratio_to_first"]), key
    for size in SIZES:
        assert _positive(scaling[("flask", "callbacks", size)]["bare_us"])
        assert _positive(scaling[("flask", "pages", size)]["bare_us"])
        assert _positive(scaling[("flask", "pages-router", size)]["auth_over_bare"])

    written = json.loads(out_path.read_text(encoding="utf-8"))
    assert {"environment", "inprocess", "http", "scaling"} <= set(written)
    text = "\n".join(lines)
    assert "In-process" in text and "HTTP keep-alive" in text and "Scaling" in text


def test_measure_pools_the_copies_of_each_app_round_by_round():
    """Each round runs every copy once; a target's value is its copies' mean per request."""
    bench = _load_bench()
    calls: list[str] = []

    def runner(name: str, ns_per_request: int):
        def run(n: int):
            calls.append(name)
            return ns_per_request * n, n, 0
        return run

    series = bench.measure(
        {"bare": [runner("b0", 100), runner("b1", 300)], "auth": [runner("a0", 150), runner("a1", 250), runner("a2", 350)]},
        rounds=4, n=10, warmup=1,
    )
    assert series["bare"].per_round == [200.0] * 4
    assert series["auth"].per_round == [250.0] * 4
    assert series["bare"].requests == 80 and series["auth"].requests == 120
    timed = calls[5:]  # after one warm-up call per copy
    rounds = [timed[i:i + 5] for i in range(0, 20, 5)]
    assert all(sorted(r) == ["a0", "a1", "a2", "b0", "b1"] for r in rounds)
    assert len({r[0] for r in rounds}) > 1  # no copy always runs first
    assert bench.paired_ratio(series["auth"], series["bare"]) == 1.25


def test_measure_refuses_a_copy_with_unexpected_statuses():
    bench = _load_bench()
    good = lambda n: (n, n, 0)  # noqa: E731
    bad = lambda n: (n, n, 1)  # noqa: E731
    with pytest.raises(RuntimeError, match="auth"):
        bench.measure({"bare": [good], "auth": [good, bad]}, rounds=1, n=2, warmup=1)


def test_a_bare_app_is_measured_without_the_stacks_process_wide_hook():
    """Dash's hooks are process-wide: the bare app must not pay for the stack's ``custom_data`` hook."""
    from dash._hooks import hooks

    from dash_auth_core.context import CUSTOM_DATA_NAMESPACE, install_custom_data_hook

    bench = _load_bench()
    bare, auth = bench.build_app(False), bench.build_app(True)
    install_custom_data_hook()  # what a guard does for an app with background callbacks

    def ours() -> int:
        return sum(h.data.get("namespace") == CUSTOM_DATA_NAMESPACE for h in hooks.get_hooks("custom_data"))

    seen = []

    def probe(n: int) -> tuple[int, int, int]:
        seen.append(ours())
        return 0, n, 0

    assert ours() == 1
    bench.without_stack_hooks(bare, probe)(1)
    bench.without_stack_hooks(auth, probe)(1)
    assert seen == [0, 1]  # off while the bare app runs, on for the protected one
    assert ours() == 1  # and back afterwards

    login = bench.post_callback("out").with_headers(("Authorization", bench.AUTH_HEADER))
    assert bench.inprocess_runner(bare, login, 200)(2)[2] == 0  # the wrapped runner still answers
