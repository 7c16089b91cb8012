"""What ``hatch run test`` runs after ruff and mypy: the main suite, and beside it the dependency and release jobs.

    hatch run test                 # everything (CI runs exactly this)
    hatch run test tests/core -x   # with arguments: (ruff, mypy, then) only the main suite's pytest, with them

Without arguments, three jobs run at a lower CPU priority in the background
(one at a time while the main suite runs, two at a time once it is done),
while the main suite (every test folder, the browser tests included) runs in
the foreground:

* ``lowest``: the unit tests against the lowest versions the metadata allows
  (``release/deps_job.py lowest``, Python 3.10);
* ``newest``: the unit tests against the newest versions it allows
  (``release/deps_job.py newest``, Python 3.13);
* ``release-check``: build, check and install every distribution and run the
  smoke apps (``release/check.py``).

Their output goes to ``build/test-logs/<job>.log`` (a failing job's end is
printed here). The last line adds up every test run: ``N passed, N failed``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "build" / "test-logs"
HERE = Path(__file__).resolve().parent


def side_jobs() -> list[tuple[str, list[str]]]:
    python = sys.executable
    return [
        ("lowest", [python, str(HERE / "deps_job.py"), "lowest", "--junitxml", str(LOGS / "lowest.xml")]),
        ("newest", [python, str(HERE / "deps_job.py"), "newest", "--junitxml", str(LOGS / "newest.xml")]),
        ("release-check", [python, str(HERE / "check.py")]),
    ]


def junit_counts(path: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) from a pytest JUnit XML report; zeros if there is none."""
    if not path.exists():
        return 0, 0, 0
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return tests - failed - skipped, failed, skipped


class SideJobs:
    """The side jobs, each niced and logged to its own file: one at a time while the main suite
    runs (it keeps the CPU it needs), two at a time once it is done."""

    def __init__(self) -> None:
        self.queue = list(side_jobs())
        self.lock = threading.Lock()
        self.results: dict[str, tuple[int, float]] = {}
        self.workers = [threading.Thread(target=self._work, daemon=True)]
        self.workers[0].start()

    def main_suite_done(self) -> None:
        second = threading.Thread(target=self._work, daemon=True)
        self.workers.append(second)
        second.start()

    def pending(self) -> list[str]:
        return [name for name, _ in side_jobs() if name not in self.results]

    def join(self) -> None:
        for worker in self.workers:
            worker.join()

    def _work(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        while True:
            with self.lock:
                if not self.queue:
                    return
                name, cmd = self.queue.pop(0)
            started = time.monotonic()
            with open(LOGS / f"{name}.log", "w", encoding="utf-8") as log:
                # Below the main suite's priority: its timing-sensitive tests keep their CPU.
                code = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      preexec_fn=lambda: os.nice(15)).returncode
            self.results[name] = (code, time.monotonic() - started)


def main(argv: list[str]) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    main_cmd = [sys.executable, "-m", "pytest", *argv]
    if argv:  # a targeted run: the main suite's pytest only
        return subprocess.run(main_cmd, cwd=ROOT).returncode
    for stale in LOGS.glob("*"):
        stale.unlink()
    started = time.monotonic()
    jobs = SideJobs()
    main_code = subprocess.run([*main_cmd, f"--junitxml={LOGS / 'main.xml'}"], cwd=ROOT).returncode
    main_seconds = time.monotonic() - started
    jobs.main_suite_done()
    if jobs.pending():
        print(f"\nrun_tests: the main suite is done ({main_seconds:.0f} s); waiting for the side jobs "
              f"({', '.join(jobs.pending())})", flush=True)
    jobs.join()

    totals = list(junit_counts(LOGS / "main.xml"))
    if main_code != 0 and totals[1] == 0:
        totals[1] = 1  # pytest failed outside any test (collection, a crash)
    failed_jobs = []
    print("\nrun_tests: side jobs (logs in build/test-logs/):", flush=True)
    for name, _ in side_jobs():
        code, seconds = jobs.results.get(name, (1, 0.0))
        log_text = (LOGS / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        if name == "release-check":
            match = re.search(r"^release-check: (\d+) passed, (\d+) failed$", log_text, re.M)
            counts = (int(match.group(1)), int(match.group(2)), 0) if match else (0, 1, 0)
        else:
            counts = junit_counts(LOGS / f"{name}.xml")
        if code != 0 and counts[1] == 0:
            counts = (counts[0], 1, counts[2])  # the job failed before or beside its tests
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        summary = [line for line in log_text.splitlines() if line.startswith((f"{name}: ", "release-check: "))]
        print(f"  {name}: exit {code} after {seconds:.0f} s; {counts[0]} passed, {counts[1]} failed, "
              f"{counts[2]} skipped", flush=True)
        for line in summary[-2:]:
            print(f"    {line}", flush=True)
        if code != 0:
            failed_jobs.append(name)
            print(f"  ---- the end of build/test-logs/{name}.log ----", flush=True)
            print("\n".join(log_text.splitlines()[-60:]), flush=True)
    print(f"\nrun_tests: main suite exit {main_code} ({main_seconds:.0f} s); all done in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    code = 1 if main_code != 0 or failed_jobs else 0
    # The closing line counts every test of every job (the main suite, lowest, newest, release-check).
    print(f"all: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
