"""Write the metadata every distribution shares into packages/*/pyproject.toml.

The shared fields live in ``release/metadata.toml`` (one place to change
them). Each package's pyproject keeps its own name, description,
dependencies and extras, and between two marker comments a block that this
script writes: version, Python requirement, license, authors, keywords,
classifiers and the project URLs. It also pins every first-party dependency
(``dash-auth-core``, ...) to exactly the shared version, since the
distributions are released together, and copies the root ``LICENSE`` into
each package folder (a wheel or sdist can only carry files from its own
folder).

    python release/sync_metadata.py          # write
    python release/sync_metadata.py --check  # exit 1 and say what differs (the tests run this)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "release" / "metadata.toml"
LICENSE = ROOT / "LICENSE"

BEGIN = "# --- shared metadata: written by `hatch run sync-metadata` from release/metadata.toml; edit it there ---"
END = "# --- end of shared metadata ---"
_BLOCK = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END) + r"\n", re.S)


def load_shared(path: Path = SHARED) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def package_dirs(root: Path = ROOT) -> list[Path]:
    """Every distribution's folder (``packages/<folder>/pyproject.toml``), sorted."""
    return sorted(p.parent for p in (root / "packages").glob("*/pyproject.toml"))


def distribution_names(root: Path = ROOT) -> list[str]:
    return [tomllib.loads((d / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
            for d in package_dirs(root)]


def _toml_list(name: str, values: list[Any]) -> str:
    if not values:
        return f"{name} = []\n"
    return f"{name} = [\n" + "".join(f"  {_toml_value(v)},\n" for v in values) + "]\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string for these characters
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def render_block(shared: dict[str, Any], folder: str) -> str:
    """The shared block of ``packages/<folder>/pyproject.toml``."""
    own = shared.get("packages", {}).get(folder, {})
    keywords = list(dict.fromkeys([*shared["keywords"], *own.get("keywords", [])]))
    classifiers = sorted(set(shared["classifiers"]) | set(own.get("classifiers", [])))
    repo = shared["repository"].rstrip("/")
    urls = {
        "Homepage": repo,
        "Documentation": shared["documentation"],
        "Source": repo,
        "Issues": f"{repo}/issues",
        "Changelog": f"{repo}/blob/main/packages/{folder}/CHANGELOG.md",
    }
    lines = [
        BEGIN + "\n",
        f"version = {_toml_value(shared['version'])}\n",
        f"requires-python = {_toml_value(shared['requires-python'])}\n",
        f"license = {_toml_value(shared['license'])}\n",
        f"license-files = {_toml_value(shared['license-files'])}\n",
        f"authors = {_toml_value(shared['authors'])}\n",
        _toml_list("keywords", keywords),
        _toml_list("classifiers", classifiers),
        "\n[project.urls]\n",
        *(f"{key} = {_toml_value(value)}\n" for key, value in urls.items()),
        END + "\n",
    ]
    return "".join(lines)


def pin_first_party(text: str, names: list[str], version: str) -> str:
    """``"dash-auth-core>=0.1,<0.2"`` -> ``"dash-auth-core==<version>"`` for every first-party name."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(r'"(' + alternatives + r')(\[[^\]"]*\])?\s*(?:[<>=!~][^";]*)?(;[^"]*)?"')

    def pin(line: str) -> str:
        if _KEY.match(line):  # ``name = "dash-auth-core"`` and other plain keys are no requirements
            return line
        return pattern.sub(lambda m: f'"{m.group(1)}{m.group(2) or ""}=={version}{m.group(3) or ""}"', line)

    return "".join(pin(line) for line in text.splitlines(keepends=True))


_KEY = re.compile(r"\s*(name|description|readme|version)\s*=")


def synced_pyproject(text: str, shared: dict[str, Any], folder: str, names: list[str]) -> str:
    if not _BLOCK.search(text):
        raise SystemExit(f"packages/{folder}/pyproject.toml has no shared-metadata block (the markers {BEGIN!r} "
                         f"and {END!r}); add them at the end of the [project] keys")
    text = _BLOCK.sub(lambda _m: render_block(shared, folder), text, count=1)
    return pin_first_party(text, names, shared["version"])


def sync(root: Path = ROOT, check: bool = False) -> list[str]:
    """Bring every package in line; returns what differed (with ``check``, nothing is written)."""
    shared = load_shared(root / "release" / "metadata.toml")
    names = distribution_names(root)
    license_text = (root / "LICENSE").read_bytes()
    differed = []
    for folder in package_dirs(root):
        path = folder / "pyproject.toml"
        text = path.read_text(encoding="utf-8")
        wanted = synced_pyproject(text, shared, folder.name, names)
        if wanted != text:
            differed.append(f"{path.relative_to(root)} differs from release/metadata.toml")
            if not check:
                path.write_text(wanted, encoding="utf-8")
        copy = folder / "LICENSE"
        if not copy.exists() or copy.read_bytes() != license_text:
            differed.append(f"{copy.relative_to(root)} is not a copy of the root LICENSE")
            if not check:
                copy.write_bytes(license_text)
    return differed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything differs")
    args = parser.parse_args(argv)
    differed = sync(check=args.check)
    for line in differed:
        print(("out of date: " if args.check else "updated: ") + line)
    if args.check and differed:
        print("run `hatch run sync-metadata` and commit the result", file=sys.stderr)
        return 1
    if not differed:
        print("package metadata is in sync with release/metadata.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
