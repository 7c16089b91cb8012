"""Dash Pages: resolving a pathname the way Dash does, and the index leaks.

With ``suppress_callback_exceptions=False`` Dash renders every page layout
once and embeds the result (``validation_layout``) in the config of every
index response. :func:`skeleton` keeps only what the renderer needs to
validate callbacks (component types and ids) and drops every other prop, so
no page content reaches anyone through the index.

Dash also writes a page's title, description and image into the index's meta
tags, looking the page up on the request path with the app's prefix left on
(under ``/app/``, ``/app/about`` finds a ``/<team>/<report>`` template, not
``/about``). :func:`guard_page_meta` lets those tags through only for the
page the guard judged, and only when no plugin says the user may not see it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
import re
from typing import Any

from dash.development.base_component import Component

from ._private import dash as dash_private

#: A ``dash.page_registry`` key a plugin may set on a page: a function telling
#: whether the current user may see the page's title, description and image.
PAGE_ALLOWED_KEY = "_dash_auth_allowed"


def _walk(value: Any, out: list[Any], depth: int = 0) -> None:
    if depth > 200:  # pathological nesting: stop rather than recurse forever
        return
    if isinstance(value, Component):
        kind, namespace, prop_names = dash_private.component_parts(value)
        kids: list[Any] = []
        for prop in prop_names:
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
            out.append({"type": kind, "namespace": namespace, "props": props})
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


class TemplateIndex:
    """Which template pages Dash's resolver could pick for a path, found without walking every page.

    Dash resolves a path by walking the registry: the first page whose
    template matches (``fnmatch`` of the template with each variable as
    ``*``), or whose path equals it. This index answers whether any template
    page might (:meth:`may_resolve`): a template whose first segment is plain
    text is looked up by that segment; the others, and the template pages'
    own paths, are checked for every path. A ``False`` is exact; a ``True``
    is then settled by :func:`resolve`.
    """

    def __init__(self, registry: Any) -> None:
        self._by_first: dict[str, list[str]] = {}
        self._always: list[str] = []
        self._paths: set[str] = set()
        self._count = 0
        for page in registry:
            template = page.get("path_template")
            if not template:
                continue
            self._count += 1
            template_id = str(template).strip("/")
            wildcard = re.sub("<.*?>", "*", template_id)  # as Dash's _parse_path_variables
            first = template_id.split("/", 1)[0]
            if any(char in first for char in "<*?["):
                self._always.append(wildcard)
            else:
                self._by_first.setdefault(first, []).append(wildcard)
            path = page.get("path")
            if isinstance(path, str):
                self._paths.add(path.strip("/"))

    def __len__(self) -> int:
        return self._count

    def may_resolve(self, rel: str) -> bool:
        """Whether Dash might render a template page for the app-relative path ``rel``."""
        path_id = rel.strip("/")
        if path_id in self._paths:
            return True
        candidates = self._by_first.get(path_id.split("/", 1)[0], ())
        return any(fnmatch.fnmatch(path_id, wildcard) for wildcard in (*candidates, *self._always))


def resolve(rel: str) -> Any:
    """The page Dash's router renders for the app-relative path ``rel``, or ``None``."""
    if not dash_private.PAGE_REGISTRY:
        return None
    page, _variables = dash_private.path_to_page(rel.strip("/"))  # Dash's own resolver
    return page or None


def shadows_another(rel: str, page: Any) -> bool:
    """Whether ``page``, which Dash renders for ``rel``, hides another page that ``rel`` also matches.

    Dash takes the first page in registration order whose path or template
    matches, so a template page (``/<slug>``) registered first shadows a later
    ``/about``: a public rule written for ``/about`` must not publish the
    template page instead.
    """
    path_id = rel.strip("/")
    for other in dash_private.PAGE_REGISTRY.values():
        if other is page:
            continue
        template = other.get("path_template")
        if template and dash_private.parse_path_variables(path_id, template.strip("/")):
            return True
        if path_id == str(other.get("path") or "").strip("/"):
            return True
    return False


def query_problem(rel: str, search: Any) -> str | None:
    """Why Dash's router must not run for ``rel`` with the query string ``search`` (``None``: it may).

    The router passes the query's keys to the page's layout function as
    keyword arguments, after the path variables. A key the function does not
    take is a ``TypeError`` (a 500), and a key named like a path variable
    replaces the value that authorization saw (``/report/1?report_id=2``).
    """
    registry = dash_private.PAGE_REGISTRY
    if not isinstance(search, str) or not search.startswith("?") or not registry:
        return None
    query = dash_private.parse_query_string(search)  # what the router passes
    if not query:
        return None
    page, variables = dash_private.path_to_page(rel.strip("/"))
    shadowed = sorted(set(query) & set(variables or ()))
    if shadowed:
        return f"the query parameter {shadowed[0]!r} would replace the path variable of the same name"
    if not page:  # the router renders the not_found_404 page, if the app has one
        page = next((p for m, p in registry.items() if m.split(".")[-1] == "not_found_404"), None)
    layout = page.get("layout") if page else None
    accepted = _keywords(layout) if callable(layout) else None
    if accepted is None:
        return None
    unknown = sorted(key for key in query if key not in accepted)
    if unknown:
        return f"this page takes no query parameter {unknown[0]!r}"
    return None


_keywords_cache: dict[Any, frozenset[str] | None] = {}


def _keywords(func: Any) -> frozenset[str] | None:
    """The keyword arguments ``func`` takes (``None``: any, through ``**kwargs``, or unknown)."""
    try:
        return _keywords_cache[func]
    except (KeyError, TypeError):
        pass
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        names = None
    else:
        names = None if any(p.kind is p.VAR_KEYWORD for p in params) else frozenset(
            p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
    with contextlib.suppress(TypeError):
        if len(_keywords_cache) < 1024:
            _keywords_cache[func] = names
    return names


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


def guard_page_meta(app: Any) -> None:
    """Render the index without the page's meta tags unless they are the right page's, for this user.

    Dash's index view calls ``app.index()`` on every request; this instance
    attribute takes its place and, when the page Dash's meta tags would
    describe is not the page the guard judged for this path, or a plugin's
    :data:`PAGE_ALLOWED_KEY` function refuses the current user, renders the
    index as if ``include_pages_meta`` were off (the app's own tags stay).
    """
    if getattr(app, "_dash_auth_page_meta", False):
        return
    original = app.index
    index_function = type(app).index

    def index(*args: Any, **kwargs: Any) -> Any:
        if app.use_pages and app.config.include_pages_meta and not _page_meta_allowed(app):
            return index_function(_without_page_meta(app), *args, **kwargs)
        return original(*args, **kwargs)

    app.index = index
    app._dash_auth_page_meta = True


def _page_meta_allowed(app: Any) -> bool:
    request = app.backend.request_adapter()
    if not request:
        return True
    path = request.path
    # The very look-up Dash's meta tags make: the path with the prefix left on.
    described, _variables = dash_private.path_to_page(path.strip("/"))
    if not described:
        return True  # no page: Dash describes the app itself
    prefix = app.config.routes_pathname_prefix
    if not path.startswith(prefix) or resolve("/" + path[len(prefix):]) is not described:
        return False
    allowed = described.get(PAGE_ALLOWED_KEY)
    return allowed is None or bool(allowed())


def _without_page_meta(app: Any) -> Any:
    """The app for one ``index()`` call with ``include_pages_meta`` off: a shallow copy of the instance."""
    standin = object.__new__(type(app))
    standin.__dict__.update(app.__dict__)
    standin.config = dash_private.AttributeDict({**app.config, "include_pages_meta": False})
    return standin


def index_answers(app: Any, path: str) -> bool | None:
    """Whether Dash's index view (the page shell) answers a GET of the server path ``path``, and
    no server route of the app's own serves that path (with another method: a ``POST`` webhook).

    Asked of the server's own router, without a request: Flask's and Quart's
    URL map, Starlette's route list. ``None`` when the server is of another
    kind (a custom backend).
    """
    server = app.server
    url_map = getattr(server, "url_map", None)
    if url_map is not None and hasattr(url_map, "bind"):
        from werkzeug.exceptions import HTTPException
        from werkzeug.routing import RequestRedirect

        index = dash_private.index_endpoints(app)
        adapter = url_map.bind("localhost")
        try:
            endpoint, _args = adapter.match(path, method="GET")
        except (HTTPException, RequestRedirect):  # nothing, or a redirect to another path
            return False
        except Exception:  # a router that cannot match without a request
            return None
        if endpoint not in index:
            return False
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            try:
                other, _args = adapter.match(path, method=method)
            except Exception:  # nothing answers that method there
                continue
            if other not in index:
                return False  # the path is a server route's; Dash's catch-all only takes its GETs
        return True
    router = getattr(server, "router", None)
    if router is not None and hasattr(router, "routes"):
        from starlette.routing import Match

        scope = {"type": "http", "path": path, "root_path": "", "method": "GET", "headers": [], "query_string": b""}
        first = None
        owned = False  # a server route serves the path with another method
        for route in router.routes:
            match, _child = route.matches(scope)
            if match is Match.FULL and first is None:
                first = route
            elif match is Match.PARTIAL and not dash_private.is_fastapi_index_route(route):
                owned = True
        return first is not None and not owned and dash_private.is_fastapi_index_route(first)
    return None


#: A value of each werkzeug converter's type, for :func:`rule_sample` (``any(...)``: its first choice).
_CONVERTER_SAMPLES = {None: "x", "string": "x", "default": "x", "path": "x", "int": "1", "float": "1.0",
                      "uuid": "00000000-0000-0000-0000-000000000000"}
_RULE_VARIABLE = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def rule_sample(rule: str) -> str | None:
    """A path that the public route's ``rule`` itself matches (each variable a value of its
    converter's type: ``/api/<int:item>`` gives ``/api/1``), or ``None`` if none can be made.

    A sample the rule does not match (``/api/x`` for ``<int:item>``) would ask the server
    about a path nobody may open as public: the index's catch-all answers it, while every
    path the rule does match goes to a server route.
    """

    def value(match: re.Match[str]) -> str:
        converter, args = match.group(1), match.group(2)
        if converter == "any" and args:
            return args.split(",")[0].strip().strip("'\"")
        return _CONVERTER_SAMPLES.get(converter, "x")

    sample = _RULE_VARIABLE.sub(value, rule)
    from .routes import PublicRoutes

    return sample if PublicRoutes([rule]).test(sample) else None
