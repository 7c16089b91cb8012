"""The release check: build every sdist and wheel, check them, install them as users would, run smoke apps.

    hatch run release-check            # everything below (hatch run test runs it too)
    hatch run release-check --keep     # keep build/release-check/ (environments, logs) afterwards

1. ``uv build`` builds each package's sdist, then its wheel from that sdist,
   into ``build/release-check/dist``.
2. ``twine check --strict`` on all of them; then the metadata every wheel
   must show (license expression and text, project URLs, classifiers with
   the development status and Python 3.10 to 3.13) and the files every sdist
   must hold (LICENSE, CHANGELOG.md, README.md).
3. Each wheel alone (with the first-party wheels it requires) in a fresh
   virtual environment, filled from the built wheels plus PyPI: it imports,
   from that environment, at the released version.
4. Each documented combination (``COMBINATIONS``) in a fresh environment of
   its own, from the built wheels plus PyPI: ``release/smoke_app.py`` serves a
   small app with a real server and checks over HTTP that an anonymous
   request gets 401 and a signed-in one 200.

The environments use the Pythons from 3.10 to 3.13 in turn, where this
machine has them (see ``release/deps_job.py`` for how they are found).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deps_job import find_python, uv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "release-check"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

#: The documented combinations: (name, requirements, smoke scenario of release/smoke_app.py).
#: First-party names resolve to the built wheels, everything else to PyPI.
COMBINATIONS: list[tuple[str, list[str], str]] = [
    ("core+basic", ["dash-auth-core", "dash-auth-basic"], "basic"),
    ("core+oidc", ["dash-auth-core", "dash-auth-oidc"], "oidc"),
    ("core+groups+basic", ["dash-auth-core", "dash-auth-groups", "dash-auth-basic"], "groups"),
    ("core[quart]+basic", ["dash-auth-core[quart]", "dash-auth-basic"], "basic-quart"),
    ("core[fastapi]+basic", ["dash-auth-core[fastapi]", "dash-auth-basic"], "basic-fastapi"),
    ("core[async]+basic", ["dash-auth-core[async]", "dash-auth-basic"], "basic-async"),
    ("core+clerk", ["dash-auth-core", "dash-auth-clerk"], "clerk"),
]

CLASSIFIERS_REQUIRED = [
    "Development Status :: ",
    "Programming Language :: Python :: 3.10",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
]
URLS_REQUIRED = ["Homepage", "Documentation", "Source", "Issues", "Changelog"]


class Failed(Exception):
    pass


def log(message: str) -> None:
    print(f"release-check: {message}", flush=True)


def run(cmd: list[str], what: str, **kwargs) -> str:
    """Run ``cmd``; its output is returned, and shown only when it fails."""
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise Failed(f"{what} failed (exit {result.returncode}): {' '.join(map(str, cmd))}\n"
                     f"{result.stdout[-4000:]}{result.stderr[-4000:]}")
    return result.stdout


def packages() -> dict[str, Path]:
    """Distribution name -> its folder."""
    found = {}
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        found[tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]] = pyproject.parent
    return found


def version() -> str:
    return tomllib.loads((ROOT / "release" / "metadata.toml").read_text(encoding="utf-8"))["version"]


def module_name(distribution: str) -> str:
    return distribution.replace("-", "_")


def release_problems(tag: str) -> list[str]:
    """Why ``tag`` cannot be released as it stands (empty: it can)."""
    wanted = version()
    problems = []
    if tag != f"v{wanted}":
        problems.append(f"the tag {tag!r} is not v{wanted}, the version in release/metadata.toml")
    heading = re.compile(rf"^## \[{re.escape(wanted)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", re.M)
    for folder in packages().values():
        if not heading.search((folder / "CHANGELOG.md").read_text(encoding="utf-8")):
            problems.append(f"packages/{folder.name}/CHANGELOG.md has no '## [{wanted}] - YYYY-MM-DD' section")
    return problems


# -- 1 and 2: build and check -------------------------------------------------


def build(dist: Path) -> None:
    for name, folder in packages().items():
        # The sdist first, then the wheel from it (uv build's default): the sdist must be complete.
        run([*uv(), "build", "--quiet", "--out-dir", str(dist), str(folder)], f"building {name}")
    log(f"built {len(list(dist.glob('*.whl')))} wheels and {len(list(dist.glob('*.tar.gz')))} sdists in {dist}")


def check_artifacts(dist: Path) -> None:
    names = packages()
    wanted = version()
    artifacts = sorted(p for p in dist.iterdir() if p.name.endswith((".whl", ".tar.gz")))
    run([sys.executable, "-m", "twine", "check", "--strict", *map(str, artifacts)], "twine check --strict")
    log("twine check --strict: passed")
    for name in names:
        stem = f"{module_name(name)}-{wanted}"
        wheel = dist / f"{stem}-py3-none-any.whl"
        sdist = dist / f"{stem}.tar.gz"
        if not wheel.exists() or not sdist.exists():
            raise Failed(f"{name}: expected {wheel.name} and {sdist.name}")
        with zipfile.ZipFile(wheel) as archive:
            files = archive.namelist()
            info = f"{stem}.dist-info"
            meta = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode("utf-8"))
            license_text = archive.read(f"{info}/licenses/LICENSE").decode("utf-8")
        problems = []
        if meta.get("License-Expression") != "MIT" or meta.get("License-File") != "LICENSE":
            problems.append(f"license fields {meta.get('License-Expression')!r}, {meta.get('License-File')!r}")
        if not license_text.startswith("MIT License"):
            problems.append("the wheel's LICENSE is not the MIT text")
        urls = {value.split(",", 1)[0].strip() for value in meta.get_all("Project-URL", [])}
        problems += [f"no Project-URL {label}" for label in URLS_REQUIRED if label not in urls]
        classifiers = meta.get_all("Classifier", [])
        problems += [f"no classifier {c!r}" for c in CLASSIFIERS_REQUIRED if not any(x.startswith(c) for x in classifiers)]
        if not meta.get("Author") and not meta.get("Author-email"):
            problems.append("no author")
        if not any(f.endswith("/py.typed") for f in files):
            problems.append("no py.typed")
        with tarfile.open(sdist) as archive:
            members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
        problems += [f"the sdist lacks {f}" for f in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "PKG-INFO")
                     if f not in members]
        if problems:
            raise Failed(f"{name}: " + "; ".join(problems))
        log(f"{name} {wanted}: license text, {len(urls)} URLs, {len(classifiers)} classifiers, sdist complete")


# -- 3 and 4: install as users would ------------------------------------------


def pythons() -> list[str]:
    found = [p for p in (find_python(v) for v in PYTHONS) if p]
    return found or [sys.executable]


def make_env(where: Path, python: str, requirements: list[str], dist: Path) -> str:
    """A fresh virtual environment with ``requirements``: first-party ones from ``dist``, the rest from PyPI."""
    if where.exists():
        shutil.rmtree(where)
    run([*uv(), "venv", "--quiet", "--python", python, str(where)], f"creating {where.name}")
    env_python = str(where / "bin" / "python")
    wheels = {}
    for name in packages():
        wheels[name] = next(dist.glob(f"{module_name(name)}-{version()}-py3-none-any.whl"))
    # A first-party requirement is named by its wheel file, so it can only come from the build.
    resolved = []
    for requirement in requirements:
        base, _, extras = requirement.partition("[")
        if base in wheels:
            resolved.append(f"{base}{'[' + extras if extras else ''} @ {wheels[base].as_uri()}")
        else:
            resolved.append(requirement)
    # Their own first-party dependencies (dash-auth-core==<version>) too.
    constraints = where / "first-party.txt"
    constraints.write_text("".join(f"{name} @ {path.as_uri()}\n" for name, path in wheels.items()), encoding="utf-8")
    run([*uv(), "pip", "install", "--quiet", "--python", env_python, "--constraint", str(constraints), *resolved],
        f"installing {' '.join(requirements)} into {where.name}")
    run([*uv(), "pip", "check", "--python", env_python], f"checking {where.name}")
    return env_python


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "DASH_AUTH_DISABLE_PLUGINS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_alone(name: str, python: str, dist: Path) -> str:
    env_python = make_env(WORK / "envs" / f"alone-{name}", python, [name], dist)
    module = module_name(name)
    probe = (f"import importlib.metadata as m, sys, {module} as pkg; "
             f"assert pkg.__file__.startswith(sys.prefix), pkg.__file__; "
             f"print(sys.version.split()[0], m.version({name!r}))")
    out = run([env_python, "-c", probe], f"importing {module}", cwd=WORK, env=clean_env()).split()
    if out[1] != version():
        raise Failed(f"{name}: installed version {out[1]}, expected {version()}")
    return f"{name} alone on Python {out[0]}: imports {module} {out[1]}"


def check_combination(label: str, requirements: list[str], scenario: str, python: str, dist: Path) -> str:
    env_python = make_env(WORK / "envs" / label.replace("+", "-").replace("[", "-").replace("]", ""),
                          python, requirements, dist)
    script = WORK / "smoke_app.py"
    out = run([env_python, str(script), scenario], f"the {label} smoke app", cwd=WORK, env=clean_env())
    version_line = run([env_python, "-c", "import sys; print(sys.version.split()[0])"], "python version")
    return f"{label} on Python {version_line.strip()}: {out.strip().splitlines()[-1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep build/release-check afterwards")
    parser.add_argument("--jobs", type=int, default=2, help="environments made at once (default 2)")
    parser.add_argument("--tag", help="for a release: the git tag (v<version>) that must name this version, "
                                      "and every CHANGELOG.md must have a dated section for it")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.tag is not None:
        problems = release_problems(args.tag)
        for problem in problems:
            log(f"FAILED: {problem}")
        if problems:
            print(f"release-check: 0 passed, {len(problems)} failed", flush=True)
            return 1
    if WORK.exists():
        shutil.rmtree(WORK)
    dist = WORK / "dist"
    dist.mkdir(parents=True)
    shutil.copy(ROOT / "release" / "smoke_app.py", WORK / "smoke_app.py")
    names = packages()
    failures = []
    try:
        build(dist)
        check_artifacts(dist)
        interpreters = pythons()
        log("Pythons: " + ", ".join(interpreters))
        tasks = []
        for i, name in enumerate(names):
            tasks.append((check_alone, (name, interpreters[i % len(interpreters)], dist)))
        for i, (label, requirements, scenario) in enumerate(COMBINATIONS):
            missing = [r for r in requirements if r.split("[")[0].startswith("dash-auth-") and r.split("[")[0] not in names]
            if missing:
                log(f"{label}: skipped, no package builds {', '.join(missing)} yet")
                continue
            tasks.append((check_combination, (label, requirements, scenario, interpreters[(i + 1) % len(interpreters)], dist)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(func, *task_args): task_args[0] for func, task_args in tasks}
            for future in concurrent.futures.as_completed(futures):
                try:
                    log(future.result())
                except Failed as exc:
                    failures.append(str(exc))
                    log(f"FAILED: {exc}")
        passed = len(tasks) - len(failures)
    except Failed as exc:
        failures.append(str(exc))
        log(f"FAILED: {exc}")
        passed = 0
    finally:
        if not args.keep and not failures:
            shutil.rmtree(WORK / "envs", ignore_errors=True)
    log(f"{'failed' if failures else 'passed'} in {time.monotonic() - started:.0f} s")
    print(f"release-check: {passed} passed, {len(failures)} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
