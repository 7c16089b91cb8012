"""MkDocs hook: links from the guides to files of the repository outside ``docs/``.

Some pages (docs/plugins.md) link to a package's README, as on GitHub. On
the site such a link goes to the page that covers that package; a link to
a repository file the site has no page for becomes the file's name in code.
A link to a file that does not exist is left alone, so the strict build
still fails on it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

#: Repository file -> the site page that covers it.
PAGES = {
    "README.md": "index.md",
    "packages/core/README.md": "reference/core.md",
    "packages/basic/README.md": "providers/basic.md",
    "packages/oidc/README.md": "providers/oidc.md",
    "packages/clerk/README.md": "providers/clerk.md",
    "packages/groups/README.md": "groups.md",
    "bench/README.md": "performance.md",
}

_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>\.\./[^)#\s]+)(?P<anchor>#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 - MkDocs' hook signature
    docs_dir = Path(config["docs_dir"])
    root = docs_dir.parent
    page_dir = posixpath.dirname(page.file.src_uri)

    def replace(match: re.Match[str]) -> str:
        from_docs = posixpath.normpath(posixpath.join("docs", page_dir, match.group("target")))
        if from_docs.startswith("docs/") or not (root / from_docs).is_file():
            return match.group(0)
        target = PAGES.get(from_docs)
        if target is None:
            return f"`{from_docs}`"
        relative = posixpath.relpath(target, page_dir or ".")
        return f"[{match.group('text')}]({relative}{match.group('anchor') or ''})"

    return _LINK.sub(replace, markdown)
