"""A test kit for apps and plugin authors: clients for every backend, callback bodies, sign-in helpers.

Everything here runs in-process, against the real stack, on Flask, Quart
and FastAPI alike::

    from dash_auth_core.testing import basic_header, callback_body, client_for, registered

    def test_my_plugin(dash_auth_app):              # a fixture of the pytest plugin below
        app = dash_auth_app(layout=html.Div("private"))
        BasicAuth(app, {"alice": "a-long-password"}, secret_key="x" * 32)
        with registered(app, MyProvider()):
            client = client_for(app)
            assert client.get("/", headers={"X-Api-Key": "right"}).status_code == 200

The pytest plugin (:mod:`dash_auth_core.testing.plugin`, loaded automatically
where dash-auth-core is installed) adds the fixtures ``dash_auth_backend``
(each test once per installed backend), ``dash_auth_app`` (a factory of Dash
apps on that backend, with Dash's global registries reset around the test)
and ``dash_auth_client``.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import dash

from .._private import dash as dash_private
from ..identity import SESSION_KEY, Identity
from ..process import PROCESS
from ..stack import AuthStack
from .asgi import AsgiClient, TestResponse, session_codec
from .lifespan import backend_of, run, started, stop_all

__all__ = [
    "BACKENDS",
    "AsgiClient",
    "TestResponse",
    "backend_of",
    "basic_header",
    "callback_body",
    "client_for",
    "current_backend",
    "installed_backends",
    "make_dash",
    "registered",
    "reset_dash_globals",
    "router_body",
    "run",
    "server_route",
    "session_codec",
    "sign_in",
    "sign_out",
    "started",
    "stop_all",
    "use_backend",
]

#: Dash's backends, in the order tests run on them.
BACKENDS = ("flask", "quart", "fastapi")
_current = ["flask"]


def installed_backends() -> tuple[str, ...]:
    """The backends whose server package is installed here."""
    import importlib.util

    return tuple(name for name in BACKENDS if importlib.util.find_spec(name) is not None)


def use_backend(name: str) -> None:
    """Make :func:`make_dash` create apps on ``name`` from now on."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; one of {', '.join(BACKENDS)}")
    _current[0] = name


def current_backend() -> str:
    return _current[0]


def make_dash(*args: Any, **kwargs: Any) -> dash.Dash:
    """``dash.Dash(...)`` on the current backend (an explicit ``backend=`` or ``server=`` wins)."""
    if "server" not in kwargs or kwargs["server"] is True:
        kwargs.setdefault("backend", current_backend())
    return dash.Dash(*args, **kwargs)


def client_for(app: dash.Dash, use_cookies: bool = True) -> Any:
    """A test client with Flask's interface for ``app``, whatever its backend.

    Flask's own test client on Flask; :class:`AsgiClient` on Quart and FastAPI.
    ``use_cookies=False`` gives a client without a cookie jar (a script).
    """
    if backend_of(app) == "flask":
        return app.server.test_client(use_cookies=use_cookies)
    return AsgiClient(app, use_cookies=use_cookies)


def basic_header(user: str, password: str, encoding: str = "utf-8") -> dict[str, str]:
    """An ``Authorization: Basic`` header for ``user`` and ``password``."""
    token = base64.b64encode(f"{user}:{password}".encode(encoding)).decode()
    return {"Authorization": f"Basic {token}"}


def callback_body(app: dash.Dash, output: str, values: list[Any] | None = None,
                  state: list[Any] | None = None) -> dict[str, Any]:
    """A well-formed ``_dash-update-component`` body for the callback whose id is ``output``.

    ``values`` fill the inputs in order (``None`` each by default), ``state`` the states.
    """
    dash_private.setup_server(app)  # dash.callback registrations reach callback_map here
    entry = app.callback_map[output]
    values = values if values is not None else [None] * len(entry["inputs"])
    inputs = [dict(spec, value=v) for spec, v in zip(entry["inputs"], values, strict=True)]
    states = [dict(spec, value=v) for spec, v in zip(entry["state"], state or [None] * len(entry["state"]), strict=True)]
    raw = entry["output"]
    if isinstance(raw, (list, tuple)):
        outputs: Any = [{"id": o.component_id, "property": o.component_property} for o in raw]
    else:
        outputs = {"id": raw.component_id, "property": raw.component_property}
    first = inputs[0] if inputs else None
    return {
        "output": output,
        "outputs": outputs,
        "inputs": inputs,
        "state": states,
        "changedPropIds": [f"{first['id']}.{first['property']}"] if first and isinstance(first["id"], str) else [],
    }


def router_body(pathname: str, search: str = "") -> dict[str, Any]:
    """The body Dash Pages' routing callback receives for ``pathname``."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
        "state": [],
        "changedPropIds": ["_pages_location.pathname"],
    }


@contextlib.contextmanager
def registered(app: dash.Dash, plugin: Any, name: str | None = None) -> Iterator[Any]:
    """Add ``plugin`` to ``app``'s chain for the ``with`` block, and take it out after."""
    stack = AuthStack.of(app)
    stack.register(plugin, name=name)
    try:
        yield plugin
    finally:
        if stack.plugin_name(plugin) is not None:
            stack.unregister(plugin)


def sign_in(client: Any, app: dash.Dash, identity: Identity | str, **fields: Any) -> Identity:
    """Put a login into ``client``'s session, as a provider's sign-in would have.

    ``identity`` is an :class:`Identity` or a user id (``fields`` then fill
    the rest: ``groups=("admin",)``, ``provider="basic"``). The core's session
    reader accepts it on the next request; a provider with state of its own
    (OIDC tokens) needs its real sign-in instead.
    """
    if isinstance(identity, str):
        identity = Identity(id=identity, **fields)
    with client.session_transaction() as session:
        session.clear()
        session[SESSION_KEY] = identity.to_session()
    return identity


def sign_out(client: Any, path: str = "/logout") -> Any:
    """Sign out the way a browser does: open the confirmation page, post its form (CSRF token included)."""
    import re

    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    if found is None:
        raise AssertionError(f"no sign-out form at {path} (status {page.status_code})")
    return client.post(path, data={"csrf_token": found.group(1)})


def server_route(app: dash.Dash, rule: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register ``view`` (returning text) as a plain server route of ``app``, on any backend."""

    def decorator(view: Callable[..., str]) -> Callable[..., str]:
        kind = backend_of(app)
        if kind == "flask":
            app.server.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=list(methods))
        elif kind == "quart":
            async def quart_view(**kwargs: Any) -> str:
                return view(**kwargs)

            quart_view.__name__ = view.__name__
            app.server.add_url_rule(rule, endpoint=view.__name__, view_func=quart_view, methods=list(methods))
        else:
            from starlette.responses import PlainTextResponse
            from starlette.responses import Response as StarletteResponse

            from ..backends.fastapi import starlette_path

            async def fastapi_view(request: Any) -> Any:
                result = view(**request.path_params)
                return result if isinstance(result, StarletteResponse) else PlainTextResponse(result)

            app.server.router.add_route(starlette_path(rule), fastapi_view, methods=list(methods), name=view.__name__)
        return view

    return decorator


def reset_dash_globals() -> None:
    """Forget every callback and page registered through Dash's module-level registries,
    and dash-auth's own per-process registries (:data:`dash_auth_core.process.PROCESS`).

    ``dash.callback`` and ``dash.register_page`` keep what they register in
    module globals that every later app picks up; tests that build several
    apps reset them between tests (the ``dash_auth_app`` fixture does).
    dash-auth's stacks, socket registries and guarded servers are forgotten
    too; the hooks it installed in ``dash.hooks`` stay, as Dash keeps them.
    """
    PROCESS.reset()
    # Also Dash's app context: its request handling leaves its app in this thread's
    # context, and dash.get_app() would answer an earlier test's app.
    dash_private.reset_registries()
