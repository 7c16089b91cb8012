"""MkDocs hook: the screenshots page lists the images found in ``docs/screenshots/``.

Screenshots of the built-in pages are produced into that folder (PNG, JPEG,
WebP or SVG; the file name, with dashes as spaces, is the caption). The page
holds the marker ``<!-- screenshots -->``, replaced at build time by the
images present; with none, by a note saying so, so the build never depends
on them.
"""

from __future__ import annotations

from pathlib import Path

MARKER = "<!-- screenshots -->"
FOLDER = "screenshots"
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".svg")


def gallery(docs_dir: Path) -> str:
    folder = docs_dir / FOLDER
    images = sorted(p for p in folder.glob("*") if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []
    if not images:
        return "*No screenshots have been produced yet: the folder `docs/screenshots/` is empty.*"
    parts = []
    for image in images:
        caption = image.stem.replace("-", " ").replace("_", " ").capitalize()
        parts.append(f"### {caption}\n\n![{caption}]({FOLDER}/{image.name})\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 - MkDocs' hook signature
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, gallery(Path(config["docs_dir"])))
