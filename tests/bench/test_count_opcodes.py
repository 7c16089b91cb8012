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
