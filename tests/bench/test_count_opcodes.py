"""bench/count_instructions.py --opcodes: bytecode counts per request, without valgrind."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "count_instructions.py"


def _load():
    return load_script(SCRIPT, "count_instructions_under_test")


@pytest.mark.timeout(120)
def test_opcode_counts_are_deterministic_and_see_the_guard():
    """The auth app runs the guard's bytecode on top of Dash's: it counts more, and the same each time."""
    counter = _load()
    flask = counter.count_opcodes(3, ["flask"])
    assert counter.count_opcodes(3, ["flask"]) == flask
    counts = counter.count_opcodes(3, ["flask", "fastapi"])
    assert len(counts) == 4
    assert counts[0:2] == flask  # the event loop of the FastAPI apps does not count for Flask
    for bare, auth in (flask, counts[2:4]):
        assert bare > 1000  # Dash's dispatch was seen (on FastAPI in the event loop's thread too)
        assert auth > bare + 100  # ... and the guard's steps on top of it


def test_the_opcode_counter_counts_only_while_installed():
    counter = _load()
    total = [0]
    trace = counter._opcode_counter(total)

    def work() -> int:
        return sum(range(3))

    sys.settrace(trace)
    try:
        work()
    finally:
        sys.settrace(None)
    seen = total[0]
    work()
    assert seen > 0 and total[0] == seen


@pytest.mark.timeout(120)
def test_the_clerk_row_counts_a_signed_in_request_without_network_calls():
    """``--opcodes --logins clerk``: the app behind ClerkAuth, signed in against the local Clerk stand-in."""
    import clerk_support

    counter = _load()
    import logins  # on the path once the benchmark is loaded

    logins._standin.clear()  # a stand-in of this test's own, which records the calls made to it
    calls: list[str] = []
    original = clerk_support.ClerkStandIn.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.calls = calls

    clerk_support.ClerkStandIn.__init__ = recording
    try:
        bare, clerk = counter.count_opcodes(3, ["flask"], ["clerk"])
    finally:
        clerk_support.ClerkStandIn.__init__ = original
    assert bare > 1000 and clerk > bare + 100
    assert clerk / bare < 1.2
    # The sign-in read the user (and the keys) once; the measured requests called nothing.
    assert calls.count("GET /v1/users/user_alice") == 1 and not any("/sessions/" in c for c in calls)


@pytest.mark.timeout(120)
def test_the_redis_row_counts_a_remembered_session_on_every_backend(redis_url, redis_server, monkeypatch):
    """``--opcodes --logins redis``: sessions in Redis, the browser's cookie alone; once remembered,
    the counted requests send Redis nothing."""
    counter = _load()
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import logins

    monkeypatch.setenv("DASH_AUTH_BENCH_REDIS", redis_url)  # the fixture's Redis, not a private one
    before = int(redis_server.client().info("stats")["total_commands_processed"])
    counts = counter.count_opcodes(60, ["flask", "fastapi"], ["redis"])
    assert logins.redis_url() == redis_url
    for bare, stored in (counts[0:2], counts[2:4]):
        assert bare > 1000 and stored > bare + 100
        assert stored / bare < 1.25
    # 220 requests to the stored apps (warm-up included): a read per request would be two commands
    # each (MGET, PTTL). Sign-ins, reads until tracking is live, and its pings stay far below.
    after = int(redis_server.client().info("stats")["total_commands_processed"])
    assert after - before < 200
