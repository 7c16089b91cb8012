"""The helpers of the dependency jobs and of release/run_tests.py (the jobs themselves run in ``hatch run test``)."""

from __future__ import annotations

from pathlib import Path

from helpers import load_script
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _deps_job():
    return load_script(ROOT / "release" / "deps_job.py", "deps_job_under_test")


def test_floors_are_the_lower_bounds_the_metadata_declares():
    floors = _deps_job().floors(["flask>=3.1,<4", "dash[quart]>=4.4.1,<5", "quart>=0.20,<0.23", "dash>=4.4.1,<5",
                                 "cryptography>=45.0.1", "tomli>=2; python_version < '3.11'"])
    assert floors == {"flask": Version("3.1"), "dash": Version("4.4.1"), "quart": Version("0.20"),
                      "cryptography": Version("45.0.1"), "tomli": Version("2")}


def test_the_jobs_resolve_every_third_party_requirement_with_extras_and_no_first_party_one():
    requirements, first_party = _deps_job().runtime_requirements()
    assert first_party >= {"dash-auth-core", "dash-auth-basic", "dash-auth-groups", "dash-auth-oidc"}
    assert not any(r.startswith("dash-auth-") for r in requirements)
    names = {r.split(">")[0].split("[")[0].split("<")[0] for r in requirements}
    assert {"dash", "flask", "quart", "fastapi", "starlette", "authlib", "joserfc"} <= names


def test_junit_counts_add_up_passed_failed_and_skipped(tmp_path):
    run_tests = load_script(ROOT / "release" / "run_tests.py", "run_tests_under_test")
    report = tmp_path / "report.xml"
    report.write_text('<testsuites><testsuite name="pytest" tests="10" failures="1" errors="1" skipped="3"/>'
                      "</testsuites>", encoding="utf-8")
    assert run_tests.junit_counts(report) == (5, 2, 3)
    assert run_tests.junit_counts(tmp_path / "missing.xml") == (0, 0, 0)
