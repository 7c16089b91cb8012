"""Dash's private APIs that dash-auth-core relies on (see :mod:`dash_auth_core._private`).

What the guard needs from Dash that Dash does not publish: the Pages
resolver and registry, the routing callback's id, the hook registry, the
app's first-request set-up, its inline scripts, MCP path and WebSocket
switch, component internals for the index's validation layout, the
component-suites fingerprint check, the Jupyter readiness probe, and the
FastAPI backend's middleware and view names.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from . import changed, run_probes

try:
    from dash import _jupyter
    from dash import _pages as _pages_module
    from dash._pages import _parse_path_variables, _parse_query_string, _path_to_page
    from dash._utils import AttributeDict
    from dash.fingerprint import check_fingerprint
except ImportError as exc:  # pragma: no cover - only with an unsupported Dash
    raise changed(__name__, "dash", f"an import failed ({exc})") from exc

__all__ = [
    "PAGES_LOCATION_ID",
    "PAGES_ROUTER_ID",
    "PAGE_REGISTRY",
    "AttributeDict",
    "check",
    "check_fingerprint",
    "component_parts",
    "dash_middleware_reusing_body",
    "first_request_done",
    "hook_route_names",
    "index_endpoints",
    "inline_scripts",
    "is_dash_function",
    "is_fastapi_index_route",
    "is_pages_router",
    "jupyter_alive_path",
    "mcp_path",
    "parse_path_variables",
    "parse_query_string",
    "path_to_page",
    "reset_registries",
    "set_current_app",
    "setup_functions",
    "setup_server",
    "websocket_callbacks",
]

log = logging.getLogger("dash_auth")

#: Dash Pages' registry (the very dict behind ``dash.page_registry``).
PAGE_REGISTRY = _pages_module.PAGE_REGISTRY
#: ``(page, path_variables)`` for a path without its leading ``/``: the page Dash's router renders.
path_to_page: Callable[[str], tuple[Any, Any]] = _path_to_page
#: The path variables of a template that matches a path (falsy when it does not match).
parse_path_variables: Callable[[str, str], Any] = _parse_path_variables
#: The query string as the router passes it to a page's layout function.
parse_query_string: Callable[[str], dict[str, Any]] = _parse_query_string

#: Dash Pages' routing callback: its id, and the component whose ``pathname`` it takes.
PAGES_ROUTER_ID = ".._pages_content.children..._pages_store.data.."
PAGES_LOCATION_ID = "_pages_location"


def is_pages_router(func: Any) -> bool:
    """Whether a ``callback_map`` entry's function is Dash Pages' own router (``update`` in ``dash.dash``)."""
    inner = getattr(func, "__wrapped__", None)
    return getattr(inner, "__module__", "") == "dash.dash" and getattr(inner, "__name__", "") == "update"


def jupyter_alive_path() -> str | None:
    """The path (under the routes prefix) of Jupyter's readiness probe, when a Jupyter front end is active."""
    jupyter = _jupyter.jupyter_dash
    if not getattr(jupyter, "active", False):
        return None
    return "_alive_" + jupyter.alive_token


def mcp_path(app: Any) -> str | None:
    """The path (under the routes prefix, no leading ``/``) where the app serves MCP, if it may."""
    path = getattr(app, "_mcp_path", None)
    return path.strip("/") if isinstance(path, str) and path else None


def hook_route_names(app: Any) -> list[str]:
    """The names of the routes added with ``dash.hooks.route`` (relative to the routes prefix)."""
    return [hook.data["name"] for hook in app._hooks.get_hooks("routes")]


def inline_scripts(app: Any) -> list[str] | None:
    """The list of scripts Dash inlines into its index page (``None`` if this Dash has none)."""
    scripts = getattr(app, "_inline_scripts", None)
    return scripts if isinstance(scripts, list) else None


def setup_server(app: Any) -> None:
    """Run Dash's server set-up now (``dash.callback`` registrations reach ``callback_map``)."""
    app._setup_server()


def reset_registries() -> None:
    """Empty Dash's module-level registries of callbacks, inline scripts and pages, and its app context."""
    from dash import _callback, _get_app

    _callback.GLOBAL_CALLBACK_LIST.clear()
    _callback.GLOBAL_CALLBACK_MAP.clear()
    _callback.GLOBAL_INLINE_SCRIPTS.clear()
    PAGE_REGISTRY.clear()
    _get_app.app_context.set(None)


def set_current_app(app: Any) -> None:
    """Make ``app`` what ``dash.get_app()`` answers in this context (as Dash's request handling does)."""
    from dash import _get_app

    _get_app.app_context.set(app)


def websocket_callbacks(app: Any) -> bool:
    """Whether every callback of the app runs over WebSocket (``Dash(websocket_callbacks=True)``)."""
    return bool(app._websocket_callbacks)


def first_request_done(app: Any) -> bool:
    """Whether Dash has run its first-request set-up (``dash.callback`` callbacks, the Pages router)."""
    return all(app._got_first_request.values())


def is_dash_function(func: Any) -> bool:
    """Whether a ``before_request`` function is Dash's own (its first-request set-up)."""
    return getattr(func, "__module__", "").startswith("dash.")


def setup_functions(app: Any) -> list[Any]:
    """The ``before_request`` functions of the app's backend, in order (Dash's set-up among them).

    FastAPI's Dash backend keeps its own list; Flask and Quart keep them on the server.
    """
    funcs = getattr(getattr(app, "backend", None), "_before_request_funcs", None)
    if funcs is None:
        server_funcs = getattr(getattr(app, "server", None), "before_request_funcs", None) or {}
        funcs = server_funcs.get(None, [])
    return list(funcs)


def index_endpoints(app: Any) -> frozenset[str]:
    """Endpoint names of Dash's index and catch-all views on Flask and Quart (Dash names them by their rules)."""
    prefix = app.config.routes_pathname_prefix
    return frozenset((prefix, prefix + "<path:path>"))


def is_fastapi_index_route(route: Any) -> bool:
    """Whether a FastAPI route is Dash's index or catch-all view (both render the page shell)."""
    endpoint = getattr(route, "endpoint", None)
    return getattr(endpoint, "__module__", None) == "dash.backends._fastapi" and getattr(
        endpoint, "__name__", None
    ) in ("index", "catchall")


def component_parts(component: Any) -> tuple[str, str, list[str]]:
    """A component's type, namespace and prop names, as Dash serializes them."""
    return component._type, component._namespace, getattr(component, "_prop_names", [])


@functools.cache
def dash_middleware_reusing_body(
    parsed_key: str, judged_key: str, unparsed: Any, refuse: Callable[[Any], Any]
) -> type | None:
    """Dash's FastAPI ``DashMiddleware``, handed the callback body the guard already parsed.

    ``DashMiddleware`` parses every JSON body itself before its routes run (in
    ``_setup_timing``); a body that passed the guard was parsed from the very
    same bytes, left in ``scope[parsed_key]``, so this subclass puts that
    result in Starlette's own ``Request._json`` cache instead (a Starlette
    private API, probed by :mod:`dash_auth_core._private.starlette`). It
    also refuses, through ``refuse(send)``, a request whose path changed
    after the guard judged it (``scope[judged_key]``). ``None`` when this
    Dash has no such middleware: Dash then simply parses again.
    """
    try:
        from dash.backends._fastapi import DashMiddleware
    except ImportError:  # pragma: no cover - another Dash layout
        return None
    setup: Any = getattr(DashMiddleware, "_setup_timing", None)
    if setup is None:  # pragma: no cover - another Dash version
        return None
    call = DashMiddleware.__call__

    class DashMiddlewareReusingBody(DashMiddleware):  # type: ignore[misc, valid-type, unused-ignore]
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope.get(judged_key) != scope["path"]:
                # Middleware between the guard and Dash changed the path (or the guard
                # never saw this request): what Dash would route was not judged.
                log.error("dash-auth: the path changed after the guard judged it (%r, now %r); refused",
                          scope.get(judged_key), scope["path"])
                await refuse(send)
                return
            await call(self, scope, receive, send)

        async def _setup_timing(self, request: Any) -> None:
            data = request.scope.get(parsed_key, unparsed)
            if data is unparsed:
                await setup(self, request)
                return
            request._json = data
            await setup(self, request)
            # Dash fills this only for a Content-Type starting "application/json"; the guard
            # accepted the body by Flask's rule (any case, application/*+json), as Flask does.
            request.state.json_body = data

    return DashMiddlewareReusingBody


# -- probes -------------------------------------------------------------------


def _signature_takes(func: Any, *names: str) -> bool:
    params = list(inspect.signature(func).parameters)
    return params[: len(names)] == list(names)


def _probe_pages() -> bool:
    import dash

    if dash.page_registry is not PAGE_REGISTRY:
        return False
    page, variables = path_to_page("no-such-page-dash-auth-probe")
    return not page and parse_path_variables("team/7", "team/<tid>") == {"tid": "7"} and (
        parse_query_string("?a=1") == {"a": "1"}
    )


def _probe_app() -> bool:
    import dash

    app = dash.Dash(__name__, websocket_callbacks=False)
    return (
        isinstance(app._got_first_request, dict)
        and app._websocket_callbacks is False
        and isinstance(app._inline_scripts, list)
        and isinstance(hook_route_names(app), list)
        and callable(app._hooks.get_hooks)
        and (app._mcp_path is None or isinstance(app._mcp_path, str))
    )


def _probe_setup_functions() -> bool:
    import dash

    app = dash.Dash(__name__)
    return any(is_dash_function(f) for f in setup_functions(app))


def _probe_component() -> bool:
    from dash import html

    kind, namespace, props = component_parts(html.Div(id="x"))
    return (kind, namespace) == ("Div", "dash_html_components") and "children" in props


def _probe_fastapi() -> bool:
    try:
        import fastapi  # noqa: F401
    except ImportError:
        return True  # the backend is not installed: nothing to probe
    from dash.backends import _fastapi

    middleware = _fastapi.DashMiddleware
    return _signature_takes(middleware._setup_timing, "self", "request") and isinstance(
        getattr(_fastapi.FastAPIDashServer(fastapi.FastAPI()), "_before_request_funcs", None), list
    )


def check() -> list[str]:
    """What no longer holds of the Dash private APIs above, one message each (empty: all hold)."""
    return run_probes(__name__, "dash", {
        "dash._pages (PAGE_REGISTRY, _path_to_page, _parse_path_variables, _parse_query_string)": _probe_pages,
        "Dash app attributes (_got_first_request, _websocket_callbacks, _inline_scripts, _hooks, _mcp_path)":
            _probe_app,
        "Dash's first-request set-up among the server's before_request functions": _probe_setup_functions,
        "component internals (_type, _namespace, _prop_names)": _probe_component,
        "dash.fingerprint.check_fingerprint":
            lambda: check_fingerprint("dash.v4_4_1m1.min.js")[0] == "dash.min.js",  # type: ignore[no-untyped-call]
        "dash._jupyter.jupyter_dash (active, alive_token)": lambda: hasattr(type(_jupyter.jupyter_dash), "active"),
        "dash._utils.AttributeDict": lambda: AttributeDict(a=1).a == 1,
        "dash.backends._fastapi.DashMiddleware._setup_timing and the backend's _before_request_funcs": _probe_fastapi,
    })
