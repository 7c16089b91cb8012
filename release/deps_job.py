"""The dependency-bounds jobs: the unit tests against the lowest, or the newest, versions the metadata allows.

    python release/deps_job.py lowest   # every direct dependency at its declared floor (Python 3.10)
    python release/deps_job.py newest   # everything at the newest version allowed (Python 3.13)

Each job makes a fresh virtual environment with uv, resolves the runtime
requirements of every packages/*/pyproject.toml (extras included) together
with the test tools, ``--resolution lowest-direct`` or ``highest``, installs
the four packages from their folders without dependencies, checks that what
was installed is what the job claims (in ``lowest``, every direct dependency
exactly at its floor: a test tool that pulled one higher fails the job,
since that floor would then be untested), and runs the unit tests (every
folder of tests/ but the browser tests and the benchmarks). ``hatch run
test`` runs both, next to the main suite (see ``release/run_tests.py``).

The Python is found by version: ``DASH_AUTH_PYTHON_3_10`` (and so on) names
an interpreter, else uv's own search, else pyenv's folders. When the wanted
version is missing, the job says so and uses the interpreter running it,
unless ``DASH_AUTH_REQUIRE_PYTHONS=1`` (set by ``.ci/run``), which makes it
fail instead.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
JOBS = {
    "lowest": {"resolution": "lowest-direct", "python": "3.10"},
    "newest": {"resolution": "highest", "python": "3.13"},
}

#: What the unit tests import besides the packages: each at a version that runs on
#: Python 3.10 to 3.13. They are direct requirements too, so ``lowest`` takes their floors.
TEST_REQUIREMENTS = [
    "pytest>=8.2",
    "pytest-timeout>=2.3",
    "httpx>=0.27",
    "websockets>=12",
    # 0.4 needs Python >= 3.12 (the main suite, on 3.11, has 0.3) and re-issues ID tokens at
    # refresh stamped with the real clock, which tests that move a fake clock hours ahead see expired.
    "oidc-provider-mock>=0.3.4,<0.4",
    "dash-extensions>=2.0; python_version >= '3.11'",  # none for Python 3.10
    "diskcache>=5.6",
    "multiprocess>=0.70.16",
    "psutil>=5.9",
    # The pages' catalogues and wheel contents are checked; a seed example uses Flask-Login.
    "babel>=2.12",
    "hatchling>=1.27",
    "flask-login>=0.6.3",
    # Sessions in Redis: a real Celery worker and real multi-worker servers in the tests.
    "celery>=5.3",
    "gunicorn>=21.2",
]

#: The unit tests: everything but the browser tests (Chromium runs in the main suite), the
#: benchmarks (they measure this machine, not the dependencies) and the documentation site's
#: build (the main suite builds it; its tools are not the packages' dependencies).
PYTEST_ARGS = [
    "tests", "--ignore=tests/e2e", "--ignore=tests/bench", "--ignore=tests/docs", "-q",
    # The root pyproject's addopts, less --headless (an option of dash[testing]'s browser plugin).
    "-o", "addopts=--import-mode=importlib -p no:cacheprovider",
]


def uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    return [sys.executable, "-m", "uv"]


def find_python(version: str) -> str | None:
    """An interpreter of ``version`` (``"3.10"``), or ``None``."""
    named = os.environ.get("DASH_AUTH_PYTHON_" + version.replace(".", "_"))
    if named:
        return named
    try:
        found = subprocess.run([*uv(), "python", "find", "--system", "--no-python-downloads", version],
                               capture_output=True, text=True, timeout=60)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    home = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(os.path.join(home, "versions", f"{version}.*", "bin", f"python{version}")),
                        key=lambda p: Version(Path(p).parents[1].name.split("-")[0]))
    candidates += [p for p in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}") if os.path.exists(p)]
    for path in reversed(candidates):
        if subprocess.run([path, "-c", "import ssl, venv"], capture_output=True).returncode == 0:
            return path
    return None


def pick_python(version: str) -> tuple[str, str]:
    """The interpreter for a job and a note on what was used."""
    found = find_python(version)
    if found:
        return found, f"Python {version} ({found})"
    if os.environ.get("DASH_AUTH_REQUIRE_PYTHONS") == "1":
        raise SystemExit(f"no Python {version} on this machine (set DASH_AUTH_PYTHON_{version.replace('.', '_')})")
    here = ".".join(map(str, sys.version_info[:2]))
    print(f"note: no Python {version} found; using this Python {here} instead", flush=True)
    return sys.executable, f"Python {here} ({sys.executable}; {version} was not found)"


def package_dirs() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "packages").glob("*/pyproject.toml"))


def runtime_requirements() -> tuple[list[str], set[str]]:
    """Every third-party requirement of every package (extras included), and the first-party names."""
    projects = [tomllib.loads((d / "pyproject.toml").read_text(encoding="utf-8"))["project"] for d in package_dirs()]
    first_party = {canonicalize_name(p["name"]) for p in projects}
    found: list[str] = []
    for project in projects:
        for spec in [*project.get("dependencies", []),
                     *(s for extra in project.get("optional-dependencies", {}).values() for s in extra)]:
            if canonicalize_name(Requirement(spec).name) not in first_party and spec not in found:
                found.append(spec)
    return found, first_party


def floors(requirements: list[str]) -> dict[str, Version]:
    """The lowest version each requirement allows (its ``>=`` bound), by canonical name."""
    result: dict[str, Version] = {}
    for spec in requirements:
        req = Requirement(spec)
        for clause in req.specifier:
            if clause.operator in (">=", "=="):
                name = canonicalize_name(req.name)
                version = Version(clause.version)
                result[name] = max(version, result.get(name, version))
    return result


def installed(python: str) -> dict[str, Version]:
    out = subprocess.run([*uv(), "pip", "list", "--python", python, "--format", "freeze"],
                         capture_output=True, text=True, check=True).stdout
    result = {}
    for line in out.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            result[canonicalize_name(name)] = Version(version)
    return result


def run(cmd: list[str], **kwargs) -> None:
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("job", choices=sorted(JOBS))
    parser.add_argument("--python", help="Python version to use (default: the job's)")
    parser.add_argument("--venv", type=Path, help="where to make the environment (default build/jobs/<job>)")
    parser.add_argument("--junitxml", help="pass to pytest")
    parser.add_argument("pytest_args", nargs="*", help="instead of the unit tests")
    args = parser.parse_args(argv)
    job = JOBS[args.job]
    started = time.monotonic()
    python, python_note = pick_python(args.python or job["python"])
    venv = args.venv or ROOT / "build" / "jobs" / args.job
    if venv.exists():
        shutil.rmtree(venv)
    run([*uv(), "venv", "--quiet", "--python", python, str(venv)])
    env_python = str(venv / "bin" / "python")

    requirements, first_party = runtime_requirements()
    requirements_file = venv / "requirements.in"
    requirements_file.write_text("\n".join([*requirements, *TEST_REQUIREMENTS]) + "\n", encoding="utf-8")
    run([*uv(), "pip", "install", "--quiet", "--python", env_python, "--resolution", job["resolution"],
         "-r", str(requirements_file)])
    run([*uv(), "pip", "install", "--quiet", "--python", env_python, "--no-deps",
         *(arg for d in package_dirs() for arg in ("-e", str(d)))])

    versions = installed(env_python)
    wanted = floors(requirements)
    problems = []
    print(f"{args.job}: {python_note}; the packages' direct dependencies:", flush=True)
    for name in sorted(wanted):
        got = versions.get(name)
        print(f"  {name:<14} {got}  (floor {wanted[name]})", flush=True)
        if got is None:
            problems.append(f"{name} is not installed")
        elif args.job == "lowest" and got != wanted[name]:
            problems.append(f"{name} {got} was installed, not its floor {wanted[name]}: something else needs more, "
                            "so the floor is untested (raise it in the package's pyproject.toml)")
    check = subprocess.run([*uv(), "pip", "check", "--python", env_python], capture_output=True, text=True)
    if check.returncode != 0:
        problems.append("the environment is inconsistent:\n" + check.stdout + check.stderr)
    if problems:
        for problem in problems:
            print(f"{args.job}: {problem}", file=sys.stderr)
        return 1

    pytest_args = args.pytest_args or PYTEST_ARGS
    if args.junitxml:
        pytest_args = [*pytest_args, f"--junitxml={args.junitxml}"]
    env = {**os.environ, "DASH_AUTH_DISABLE_PLUGINS": "1"}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run([env_python, "-m", "pytest", *pytest_args], cwd=ROOT, env=env)
    print(f"{args.job}: pytest exited {result.returncode} after {time.monotonic() - started:.0f} s "
          f"({python_note})", flush=True)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
