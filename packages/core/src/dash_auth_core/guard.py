"""The request guard: classify, authenticate, re-group, authorize, challenge.

One :class:`Guard` per app runs before Dash handles any request. It returns
``None`` to let the request through or a :class:`Response` that refuses it.
Each request passes five stages, in this order (see :meth:`Guard.__call__`):

1. **classify** the request into a :class:`~dash_auth_core.Resource`;
2. **authenticate**: the ``authenticate`` chain gives an identity or none;
3. **re-group**: with ``user_groups_ttl``, the identity's groups are resolved
   again when the last answer is older than that (:func:`regroup`);
4. **authorize**: the ``authorize`` votes (any deny wins);
5. **challenge**: a refused request gets the ``challenge`` chain's answer.

Everything that can be computed once is computed lazily at the first request
(when Dash has finished registering callbacks and pages) into a
:class:`~dash_auth_core.snapshot.Snapshot`, and refreshed only when the
registries change.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import pages
from ._bulk import collector_paused
from ._private import dash as dash_private
from ._private.dash import PAGES_ROUTER_ID, check_fingerprint
from .backends import Request
from .callbacks import CallbackInfo, describe_callbacks
from .context import install_custom_data_hook
from .errors import BadRequest, RequestRefused
from .resources import Kind, Resource
from .responses import Response, json_error, refusal
from .snapshot import Snapshot, single_layout_publishing, template_rules_publish
from .ui.pages import refusal_page

if TYPE_CHECKING:
    from .identity import Identity
    from .routes import PublicRoutes
    from .stack_view import StackView

log = logging.getLogger("dash_auth")

_LAYOUT = "_dash-layout"
_DEPENDENCIES = "_dash-dependencies"
_UPDATE = "_dash-update-component"
_RELOAD = "_reload-hash"
_FAVICON = "_favicon.ico"
_SUITES = "_dash-component-suites/"
_WEBSOCKET = "_dash-ws-callback"

#: Dash files that carry no app data: served without authentication.
_STATIC_SUITES = Resource(Kind.DASH_INTERNAL, _SUITES, public=True)
_STATIC_FAVICON = Resource(Kind.DASH_INTERNAL, _FAVICON, public=True)
_PREFLIGHT = Resource(Kind.DASH_INTERNAL, _UPDATE, public=True, wants_json=True)
_STATIC_ALIVE = Resource(Kind.DASH_INTERNAL, "_alive_", public=True)
#: Served without even looking for a user: they carry nothing of the app's.
_NO_IDENTITY_NEEDED = frozenset(map(id, (_STATIC_SUITES, _STATIC_FAVICON, _PREFLIGHT, _STATIC_ALIVE)))
_CALLBACK = Kind.CALLBACK


class Guard:
    """Decides every request for one app."""

    def __init__(self, stack: StackView) -> None:
        self.stack = stack
        self._app = app = stack.app
        self._public_routes = stack.public_routes
        cfg = app.config
        self.routes_prefix: str = cfg.routes_pathname_prefix
        self.requests_prefix: str = cfg.requests_pathname_prefix
        p = self.routes_prefix
        self._update_path = p + _UPDATE
        self._layout_paths = {p + _LAYOUT: _LAYOUT, p + _DEPENDENCIES: _DEPENDENCIES}
        self._fixed: dict[str, Resource] = {
            p + _FAVICON: _STATIC_FAVICON,
            p + _RELOAD: Resource(Kind.DASH_INTERNAL, _RELOAD, wants_json=True),
            p + _WEBSOCKET: Resource(Kind.WEBSOCKET, _WEBSOCKET, wants_json=True),
        }
        alive = dash_private.jupyter_alive_path()
        if alive is not None:
            # Jupyter's readiness probe: answers "Alive" and nothing else.
            self._fixed[p + alive] = _STATIC_ALIVE
        self._suites_prefix = p + _SUITES
        self._assets_prefix = p + cfg.assets_url_path.strip("/") + "/"
        mcp_path = dash_private.mcp_path(app)
        self._mcp_path = None if mcp_path is None else p + mcp_path
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._single_layout_warned: tuple[str, ...] = ()

    # -- snapshot ---------------------------------------------------------

    def snapshot(self) -> Snapshot:
        snap = self._snapshot
        if (
            snap is not None
            and snap.callback_map_size == len(self._app.callback_map)
            and snap.routes_version == self._public_routes.version
        ):
            return snap
        with self._lock, collector_paused(len(self._app.callback_map)):
            snap = self._build_snapshot()
            self._snapshot = snap
        return snap

    def _build_snapshot(self) -> Snapshot:
        import dash

        app = self.stack.app
        # A page rule nobody enforces would be a silent hole: load its enforcer.
        self.stack.load_page_extensions(dash.page_registry.values())
        callbacks = describe_callbacks(app, self.stack.page_container)
        resources = {
            cid: Resource(Kind.CALLBACK, cid, public=info.public, callback=info.entry, wants_json=True)
            for cid, info in callbacks.items()
            if not info.is_router
        }
        hook_routes = frozenset("/" + name.lstrip("/") for name in dash_private.hook_route_names(app))
        snap = Snapshot(
            callbacks=callbacks,
            callback_resources=resources,
            callback_map_size=len(app.callback_map),
            routes_version=self.stack.public_routes.version,
            has_public_pages=self._has_public_pages(),
            has_public_callbacks=any(info.public for info in callbacks.values()),
            hook_routes=hook_routes,
        )
        if any(info.entry is not None and info.entry.get("background") for info in callbacks.values()):
            # Background callbacks run where current_user() cannot see the request:
            # Dash ships them callback_context.custom_data, which this hook fills.
            # Decided here, where the registry is complete; other apps never pay for it.
            install_custom_data_hook()
        self._close_index_leak()
        if self._snapshot is None:  # the first request: settings nobody reads are most likely a typo
            unused = self.stack.unused_plugin_config()
            if unused:
                log.warning("plugin_config names plugins this app does not have: %s", ", ".join(map(repr, unused)))
        return snap

    def _has_public_pages(self) -> bool:
        routes = self.stack.public_routes
        if not len(routes):
            return False
        if not getattr(self._app, "use_pages", False):
            return self._single_layout_public(routes)
        if routes.test("/"):
            return True
        import dash

        for page in dash.page_registry.values():
            sample = pages.sample_path(page)
            if sample is not None and routes.test(sample):
                return True
        return template_rules_publish(routes, self.routes_prefix, self.stack.plugin_route_public)

    def _single_layout_public(self, routes: PublicRoutes) -> bool:
        """An app without Dash Pages has one layout: a public route that Dash's index answers shows
        it, so its layout (and the callbacks' list) must load for anyone; logged once per rule set."""
        publishing = single_layout_publishing(self._app, self.routes_prefix, routes)
        if publishing and tuple(publishing) != self._single_layout_warned:
            self._single_layout_warned = tuple(publishing)
            log.warning(
                "public route(s) %s open Dash's index, and this app has a single layout (no Dash Pages): "
                "that layout is now public, to anyone. Its callbacks stay private unless made public; "
                "to publish one page only, use Dash Pages.", ", ".join(publishing))
        return bool(publishing)

    def _close_index_leak(self) -> None:
        app = self.stack.app
        layout = getattr(app, "validation_layout", None)
        if layout is None or getattr(app, "_dash_auth_skeleton", None) is layout:
            return
        safe = pages.skeleton(layout)
        app.validation_layout = safe  # type: ignore[assignment]  # Dash declares it None until an app sets it
        app._dash_auth_skeleton = safe  # type: ignore[attr-defined]  # our own attribute on the app

    # -- classification ---------------------------------------------------

    def classify(self, request: Request, snap: Snapshot) -> Resource:
        """The :class:`Resource` a request asks for; raises :class:`BadRequest`."""
        path = request.path
        if path == self._update_path:
            method = request.method
            if method == "POST":
                return self._read_callback(request, snap)[1]
            if method == "OPTIONS":  # CORS preflight: Flask answers it without running Dash
                return _PREFLIGHT
            raise BadRequest("callbacks are called with POST", 405)
        fixed = self._fixed.get(path)
        if fixed is not None:
            return fixed
        if path.startswith(self._suites_prefix):
            if not self._dash_serves_suite(path[len(self._suites_prefix):]):
                # Not a file Dash serves: Dash would fail with a 500, or its catch-all would
                # render the index (a page) for a path that skipped authentication.
                raise BadRequest("no such component file", 404)
            return _STATIC_SUITES
        name = self._layout_paths.get(path)
        if name is not None:
            return Resource(Kind.DASH_INTERNAL, name, public=snap.has_public_pages, wants_json=True)
        if path.startswith(self._assets_prefix) and request.served_by_dash_index() is not True:
            # (An app without an assets folder may leave such paths to Dash's catch-all, a page.)
            rel = path[len(self._assets_prefix):]
            # Dot segments, empty segments and backslashes never match: the static
            # handler would normalise them to another file than the pattern saw.
            segments = unquote(rel).split("/")
            plain = "\\" not in rel and all(seg not in ("", ".", "..") for seg in segments)
            public = plain and any(fnmatch.fnmatchcase(rel, pat) for pat in self.stack.public_assets)
            return Resource(Kind.ASSET, rel, public=public)
        plugin_public = self.stack.plugin_route_public(path)
        if plugin_public is not None:
            return Resource(Kind.PLUGIN_ROUTE, path, public=plugin_public)
        if self._mcp_path and (path == self._mcp_path or path.startswith(self._mcp_path + "/")):
            return Resource(Kind.MCP, path, wants_json=True)
        routes = self.stack.public_routes
        prefix = self.routes_prefix
        if path.startswith(prefix):
            rel = "/" + path[len(prefix):]
            if rel in snap.hook_routes:
                return Resource(Kind.ROUTE, rel, public=routes.test(rel))
            if request.method in ("GET", "HEAD") and request.served_by_dash_index() is not False:
                page, public = snap.page_for(rel, routes)
                return Resource(Kind.PAGE, rel, public=public, page=page, pathname=rel)
            # A server route of its own (or nothing at all): judged by its path, never as a page.
            return Resource(Kind.ROUTE, rel, public=routes.test(rel))
        return Resource(Kind.ROUTE, path, public=routes.test(path))

    def _dash_serves_suite(self, rest: str) -> bool:
        """Whether Dash's component-suites view serves ``rest`` (``package/file``), as its own check decides."""
        package, _, file = rest.partition("/")
        registered = self._app.registered_paths.get(package)
        return bool(registered and file) and check_fingerprint(file)[0] in registered  # type: ignore[no-untyped-call]  # Dash's

    def _read_callback(self, request: Request, snap: Snapshot) -> tuple[CallbackInfo | None, Resource, Any]:
        """A callback POST's registry record (``None`` if unknown), its resource, and its body."""
        body = request.json(self.stack.max_body_size)
        if not isinstance(body, dict):
            raise BadRequest("a callback request body must be a JSON object")
        output: Any = body.get("output")  # any JSON value: checked below
        try:
            info = snap.callbacks.get(output)
        except TypeError:  # unhashable: not an id
            info = None
        if info is not None:
            if info.is_router:
                return info, self._routing_resource(request, body, info, snap), body
            return info, snap.callback_resources[output], body
        if not isinstance(output, str) or not output or len(output) > 10_000:
            raise BadRequest("a callback request needs an 'output' string")
        # Unknown to the server: never public; answered 401 or 400 by the guard.
        return None, Resource(Kind.CALLBACK, output, public=False, wants_json=True), body

    def _routing_resource(self, request: Request, body: dict[str, Any], info: CallbackInfo, snap: Snapshot) -> Resource:
        """The page the routing callback is asked to render, from the pathname input the registry declares."""
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or len(inputs) != len(info.inputs):
            raise BadRequest("the routing callback's inputs are malformed")
        item = inputs[info.pathname_index]
        if (
            not isinstance(item, dict)
            or item.get("id") != info.pathname_id
            or item.get("property") != "pathname"
        ):
            raise BadRequest("the routing callback's pathname input is missing")
        value = item.get("value")
        if not isinstance(value, str) or len(value) > 4096:
            raise BadRequest("the routing callback's pathname must be a string")
        search = None
        for other in inputs:
            if isinstance(other, dict) and other.get("id") == info.pathname_id:
                extra = other.get("value")
                if extra is not None and (not isinstance(extra, str) or len(extra) > 8192):
                    raise BadRequest("the routing callback's location values must be strings")
                if other.get("property") == "search":
                    search = extra
        rel = pages.strip_requests_prefix(self.requests_prefix, value)
        if rel is None:
            raise BadRequest("the pathname is outside this app")
        if info.id == PAGES_ROUTER_ID and search:
            # Checked, like the body's shape, once the caller is allowed.
            request.state["router_query"] = (rel, search)
        page, public = snap.page_for(rel, self.stack.public_routes)
        return Resource(
            Kind.CALLBACK,
            info.id,
            public=public,
            callback=info.entry,
            page=page,
            pathname=rel,
            wants_json=True,
        )

    # -- the decision -----------------------------------------------------

    def __call__(self, request: Request) -> Response | None:
        # Every request comes through here: each step is a bytecode dispatch that
        # bench/count_instructions.py --opcodes counts, so the common case (a signed-in
        # callback POST) takes the fewest. The rarer cases branch off early.
        stack = self.stack
        snap = self._snapshot
        if (  # self.snapshot(), inline: the registries rarely change
            snap is None
            or snap.callback_map_size != len(self._app.callback_map)
            or snap.routes_version != self._public_routes.version
        ):
            snap = self.snapshot()
        # 1. classify
        info = None
        try:
            # Callback POSTs are most of an app's traffic: read them here, not in classify().
            if request.path == self._update_path and request.method == "POST":
                info, resource, body = self._read_callback(request, snap)
            else:
                resource = self.classify(request, snap)
        except BadRequest as exc:
            return _bad_request(exc)
        state = request.state
        state["resource"] = resource
        request.auth = stack
        if info is None and id(resource) in _NO_IDENTITY_NEEDED:  # (a known callback never is)
            return None
        # 2. authenticate
        try:
            sessions = stack.server_sessions
            if sessions is not None:
                sessions.begin_request(request)  # the session's record and the shared state, one round trip
            identity = stack.chain.authenticate(request)  # the chain's own (its fast path with one provider)
        except RequestRefused as exc:
            return _refused_now(request, resource, exc)
        # 3. re-group (only with user_groups_ttl)
        if identity is not None and stack.user_groups_ttl is not None:
            identity = regroup(stack, identity, request)
        state["identity"] = identity  # the WebSocket layer keeps it for the socket
        request.remember_user(identity)  # what current_user() gives (set_current_user, or faster)
        # 4. authorize, and 5. challenge (in _refuse) when refused
        if stack.has_authorizers:
            try:
                verdict = stack.chain.authorize(identity, resource, request)
            except RequestRefused as exc:  # an authorize hook may refuse at once too (a rules store down)
                return _refused_now(request, resource, exc)
            if not (verdict is True or (verdict is None and (resource.public or identity is not None))):
                return self._refuse(request, resource, identity)
        elif identity is None and not resource.public:  # no votes: a user, or a public resource
            return self._refuse(request, resource, identity)
        if info is None:
            if resource.kind is _CALLBACK:  # allowed to ask, but the server has no such callback
                return json_error(400, "unknown_callback", "no such callback on this server")
            return None
        # The allowed caller's callback request: declared shape, a query the page takes.
        # (Checked only now, so anonymous clients cannot probe protected callbacks' shapes.)
        try:
            info.check_body(body)
            if info.is_router and "router_query" in state:
                problem = pages.query_problem(*state["router_query"])
                if problem is not None:
                    raise BadRequest(problem)
        except BadRequest as exc:
            return _bad_request(exc)
        return None

    def _refuse(self, request: Request, resource: Resource, identity: Any) -> Response:
        reason = "unauthenticated" if identity is None else "forbidden"
        log.info("refused %s %s (%s): %s", request.method, request.path, resource.kind.value, reason)
        try:
            answer = self.stack.challenge(request, resource, reason)
        except RequestRefused as exc:
            return _bad_request(exc)
        return answer if answer is not None else refusal(resource, reason, self.stack.login_url)


def regroup(stack: StackView, identity: Identity, request: Request) -> Identity:
    """Stage 3: ``identity`` with its groups resolved again when ``user_groups_ttl`` asks for it.

    The answer is cached per user for ``user_groups_ttl`` seconds; a look-up
    that fails keeps the groups last known (see :mod:`dash_auth_core.user_groups`).
    """
    return stack.refresh_groups(identity, request)


def _refused_now(request: Request, resource: Resource, exc: RequestRefused) -> Response:
    """A hook's :class:`RequestRefused`: a browser's page gets a page (429 with the wait, 503),
    callbacks and scripts JSON."""
    if resource.wants_json or "text/html" not in (request.header("Accept") or ""):
        return _bad_request(exc)
    return refusal_page(request, exc.status, exc.message, exc.headers)


def _bad_request(exc: RequestRefused) -> Response:
    response = json_error(exc.status, exc.error, exc.message)
    response.headers.update(exc.headers)
    return response
