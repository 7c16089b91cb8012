"""Scaling: what one request costs as the app grows, on every backend.

For each backend, one dimension grows at a time and the others stay at the
smallest size:

* ``routes``: public routes, a mix of static rules and rules with converters;
* ``users``: entries in the ``BasicAuth`` dict;
* ``callbacks``: server callbacks on distinct outputs (the bare app with as
  many callbacks is measured too: Dash's own cost may grow with them);
* ``pages``: Dash Pages registered with path templates; the bare app with as
  many pages is measured too. ``pages-router`` is the Pages routing callback
  for a path of the page registered last (the page Dash's resolver finds
  last): Dash's router walks the whole registry for it, so there the bare
  app's cost grows with the pages, and the row to read is ``auth/bare``.

The request is the authenticated callback (header and session cookie) except
for ``pages-router``. All sizes of a dimension run interleaved in the same
rounds, except for pages: Dash keeps its page registry in one process-wide
dict, so those sizes are measured one after the other (the registry grows
between them), each with the bare app interleaved. ``vs first`` divides a
size's median by the smallest size's (target at most 1.10x).

Dash's ``register_page`` sorts the whole registry at every call (quadratic:
10,000 pages would take minutes), so the pages beyond the first are copies
of its registry entry under other names and templates, as ``register_page``
would have made them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

#: The dimensions, in table order (``pages`` also gives the ``pages-router`` rows).
DIMENSIONS = ("routes", "users", "callbacks", "pages")
_FIRST_PAGE = "bench_section_0"


def run_scaling(s: Any, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Rows for every backend in ``s.scale_backends`` and every dimension."""
    import harness as b

    rows: list[dict[str, Any]] = []
    for backend in s.scale_backends:
        loop = b.AsgiLoop() if backend != "flask" else None
        try:
            for dim in DIMENSIONS:
                t0 = time.monotonic()
                found = _pages(b, backend, s, loop) if dim == "pages" else _dimension(b, backend, dim, s, loop)
                rows += found
                log(f"  scaling/{backend}/{dim}: {time.monotonic() - t0:.1f}s")
        finally:
            if loop is not None:
                loop.close()
    return rows


def _runner(b: Any, loop: Any, app: Any, req: Any) -> Any:
    if loop is None:
        return b.inprocess_runner(app, req, 200)
    return loop.runner(app, req, 200)


def _cookie(b: Any, loop: Any, app: Any, req: Any) -> str:
    return b.session_cookie(app, req) if loop is None else b.asgi_session_cookie(loop, app, req)


def _start(loop: Any, app: Any) -> Any:
    if loop is not None:
        loop.start(app)
    return app


def _dimension(b: Any, backend: str, dim: str, s: Any, loop: Any) -> list[dict[str, Any]]:
    req = b.post_callback("out").with_headers(("Authorization", b.AUTH_HEADER))
    t0 = time.monotonic()
    targets: dict[str, Any] = {}
    for size in s.sizes:
        kwargs = {"n_routes": s.sizes[0], "n_users": s.sizes[0], "n_callbacks": s.sizes[0], f"n_{dim}": size}
        app = _start(loop, b.build_backend_app(backend, True, **kwargs))
        sent = req.with_headers(("Cookie", _cookie(b, loop, app, req)))
        targets[f"auth/{size}"] = _runner(b, loop, app, sent)
        if dim == "callbacks":  # Dash's own cost may grow with the registry: measure it too
            bare = _start(loop, b.build_backend_app(backend, False, n_callbacks=size))
            targets[f"bare/{size}"] = _runner(b, loop, bare, sent)
    build_s = time.monotonic() - t0
    b._settle()  # noqa: SLF001 - the benchmark's own helper
    series = b.measure(targets, s.scale_rounds, s.scale_requests, s.warmup)
    return [_row(b, backend, dim, size, series, f"auth/{s.sizes[0]}", f"bare/{s.sizes[0]}", build_s)
            for size in s.sizes]


def _row(b: Any, backend: str, dim: str, size: int, series: dict[str, Any], first: str, bare_first: str,
         build_s: float) -> dict[str, Any]:
    auth, base = series[f"auth/{size}"], series[first]
    row: dict[str, Any] = {
        "backend": backend,
        "dimension": dim,
        "size": size,
        "auth_us": auth.median / 1000,
        "ratio_to_first": auth.median / base.median,
        "paired_ratio_to_first": b.paired_ratio(auth, base),
        "target": b.TARGET_SCALING_RATIO,
        "rounds": len(auth.per_round),
        "build_seconds": build_s,
    }
    bare = series.get(f"bare/{size}")
    if bare is not None:
        bare_base = series[bare_first]
        row["bare_us"] = bare.median / 1000
        row["bare_ratio_to_first"] = bare.median / bare_base.median
        row["auth_over_bare"] = auth.median / bare.median
    return row


# -- pages --------------------------------------------------------------------------


def _page_layout(item: str | None = None, **_: Any) -> Any:
    from dash import html

    return html.Div(f"item {item}")


def build_pages_app(b: Any, backend: str, auth: bool) -> Any:
    """A Dash Pages app (the registry is Dash's, shared by every app in the process)."""
    import dash
    from dash import Dash, Input, Output, html

    kwargs: dict[str, Any] = {"use_async": False} if backend == "flask" else {"backend": backend}
    app = Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, **kwargs)
    app.layout = html.Div([html.Button("go", id="btn"), html.Div(id="out"), dash.page_container])

    def private(n: Any) -> str:
        return f"private {n}"

    app.callback(Output("out", "children"), Input("btn", "n_clicks"))(private)
    if auth:
        b.attach(app, "basic")
    return app


def grow_pages(n: int) -> None:
    """Make Dash's page registry hold ``n`` template pages (``/section-<i>/<item>``)."""
    import dash

    registry = dash.page_registry
    if _FIRST_PAGE not in registry:
        dash.register_page(_FIRST_PAGE, path_template="/section-0/<item>", layout=_page_layout)
    first = registry[_FIRST_PAGE]
    for i in range(len(registry), n):
        module, template = f"bench_section_{i}", f"/section-{i}/<item>"
        path = re.sub("<.*?>", "none", template)  # what register_page infers for a template page
        registry[module] = {**first, "module": module, "path_template": template, "path": path,
                            "relative_path": path, "name": module, "supplied_name": None, "title": module}


def _pages(b: Any, backend: str, s: Any, loop: Any) -> list[dict[str, Any]]:
    import dash

    from dash_auth_core.testing import router_body

    saved = dict(dash.page_registry)
    dash.page_registry.clear()
    try:
        t0 = time.monotonic()
        bare = _start(loop, build_pages_app(b, backend, False))
        auth = _start(loop, build_pages_app(b, backend, True))
        build_s = time.monotonic() - t0
        series: dict[str, Any] = {}
        routed: dict[str, Any] = {}
        callback = b.post_callback("out").with_headers(("Authorization", b.AUTH_HEADER))
        callback = callback.with_headers(("Cookie", _cookie(b, loop, auth, callback)))
        for size in s.sizes:
            grow_pages(size)
            b._settle()  # noqa: SLF001 - the benchmark's own helper
            # The authenticated callback, in an app with this many pages.
            found = b.measure({"bare": _runner(b, loop, bare, callback), "auth": _runner(b, loop, auth, callback)},
                              s.scale_rounds, s.scale_requests, s.warmup)
            series[f"bare/{size}"], series[f"auth/{size}"] = found["bare"], found["auth"]
            # The Pages routing callback for the page registered last. Dash's router walks the
            # registry for every request (about 10 us a page, in both apps): fewer requests
            # per block as it grows.
            scale = max(1, size // s.sizes[0])
            path = f"/section-{size - 1}/item-7"
            router = b.Req("POST", b.UPDATE, callback.headers,
                           json.dumps(router_body(path), separators=(",", ":")).encode())
            found = b.measure({"bare": _runner(b, loop, bare, router), "auth": _runner(b, loop, auth, router)},
                              s.scale_rounds, max(3, s.scale_requests // scale), max(3, s.warmup // scale))
            routed[f"bare/{size}"], routed[f"auth/{size}"] = found["bare"], found["auth"]
        first, bare_first = f"auth/{s.sizes[0]}", f"bare/{s.sizes[0]}"
        return [
            *(_row(b, backend, "pages", size, series, first, bare_first, build_s) for size in s.sizes),
            *(_row(b, backend, "pages-router", size, routed, first, bare_first, build_s) for size in s.sizes),
        ]
    finally:
        dash.page_registry.clear()
        dash.page_registry.update(saved)
