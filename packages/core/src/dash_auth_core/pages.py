"""Dash Pages: resolving a pathname the way Dash does, and the index leak.

With ``suppress_callback_exceptions=False`` Dash renders every page layout
once and embeds the result (``validation_layout``) in the config of every
index response. :func:`skeleton` keeps only what the renderer needs to
validate callbacks (component types and ids) and drops every other prop, so
no page content reaches anyone through the index.
"""

from __future__ import annotations

from typing import Any

from dash.development.base_component import Component


def _walk(value: Any, out: list[Any], depth: int = 0) -> None:
    if depth > 200:  # pathological nesting: stop rather than recurse forever
        return
    if isinstance(value, Component):
        kids: list[Any] = []
        for prop in getattr(value, "_prop_names", ()):
            if prop == "id":
                continue
            child = getattr(value, prop, None)
            if child is not None and not isinstance(child, (str, int, float, bool)):
                _walk(child, kids, depth + 1)
        comp_id = getattr(value, "id", None)
        if comp_id is None:
            out.extend(kids)
        else:
            props: dict[str, Any] = {"id": comp_id}
            if kids:
                props["children"] = kids
            out.append({"type": value._type, "namespace": value._namespace, "props": props})
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, out, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, out, depth + 1)


def skeleton(layout: Any) -> dict[str, Any]:
    """A layout with only component types and ids, safe to send to anyone."""
    out: list[Any] = []
    _walk(layout, out)
    return {"type": "Div", "namespace": "dash_html_components", "props": {"children": out}}


def sample_path(page: Any) -> str | None:
    """A path that opens ``page``: its ``path``, or its template with each variable as ``x``."""
    template = page.get("path_template")
    if template:
        return "/" + "/".join("x" if part.startswith("<") else part for part in template.strip("/").split("/"))
    path = page.get("path")
    return path if isinstance(path, str) else None


def resolve(rel: str) -> Any:
    """The page Dash's router renders for the app-relative path ``rel``, or ``None``."""
    from dash import _pages

    if not _pages.PAGE_REGISTRY:
        return None
    page, _variables = _pages._path_to_page(rel.strip("/"))  # noqa: SLF001 - Dash's own resolver
    return page or None


def strip_requests_prefix(requests_prefix: str, pathname: str) -> str | None:
    """The pathname relative to the app, as Dash's router computes it, with a leading ``/``.

    Mirrors ``app.strip_relative_path`` (which the router uses) but returns
    ``None`` instead of raising for paths outside the prefix.
    """
    if requests_prefix != "/":
        root = requests_prefix.rstrip("/")
        if not pathname.startswith(root):
            return None
        pathname = pathname.replace(root, "", 1)
    elif not pathname.startswith("/"):
        return None
    return "/" + pathname.strip("/")
