"""A griffe extension: the project's reStructuredText-flavoured docstrings, read as Markdown.

The docstrings are written for ``help()`` and editors: ``:func:`name```
roles, and option lists written as a name on its own line (````name````)
followed by an indented description. The API reference renders them as
inline code and as a bullet list; the source keeps its form.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):`~?([^`]+)`")
_LITERAL = re.compile(r"::$", re.M)  # "Use it like this::" before an indented block
_TERM = re.compile(r"^(?P<indent>[ \t]*)(?P<term>``[^`]+``)[ \t]*$")


def to_markdown(text: str) -> str:
    """``text`` with roles as inline code and definition lists as bullet lists."""
    text = _ROLE.sub(r"``\1``", text)
    text = _LITERAL.sub(":", text)
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        term = _TERM.match(lines[index])
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if term and following.startswith(term.group("indent") + " ") and following.strip():
            depth = len(term.group("indent"))
            body: list[str] = []
            index += 1
            while index < len(lines) and lines[index].strip() and len(lines[index]) - len(lines[index].lstrip()) > depth:
                body.append(lines[index].strip())
                index += 1
            if out and out[-1].strip() and not out[-1].lstrip().startswith("- "):
                out.append("")
            out.append(f"{term.group('indent')}- {term.group('term')}: {' '.join(body)}")
            continue
        out.append(lines[index])
        index += 1
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    """Rewrite each docstring once, when its object is loaded."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        self._convert(obj)

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        self._convert(obj)  # (the conversion is idempotent)

    @staticmethod
    def _convert(obj: Any) -> None:
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and docstring.value:
            docstring.value = to_markdown(docstring.value)
