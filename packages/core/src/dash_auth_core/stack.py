"""The per-app stack: options, the plugin chain, and the login/logout lifecycle.

``AuthStack.of(app)`` returns the app's one stack, creating and installing it
on first use. Front doors (``BasicAuth``, ``OIDCAuth``, ...) call it with
their options and register their plugin, so several of them on one app make
one chain. Callers use the typed methods here (``authenticate``,
``authorize``, ``challenge``, ``login``, ``logout``), which forward to the
:class:`~dash_auth_core.chain.Chain` that holds every hook to its contract.

The stack's other jobs live in modules of their own, one part each, and its
methods are theirs: users' groups (:mod:`~dash_auth_core.user_groups`), plugin
routes and the pages' plugin additions (:mod:`~dash_auth_core.plugin_routes`),
declared options, page keys and plugin settings
(:mod:`~dash_auth_core.extensions`), the secret
(:mod:`~dash_auth_core.app_secret`), and logins kept in sessions
(:mod:`~dash_auth_core.login_state`). What the guard, logout, sockets and
pages need of the stack is :class:`~dash_auth_core.stack_view.StackView`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import background, browser, context, logout, pages, plugins, ui
from .app_secret import AppSecret, check_secret
from .backends import BackendAdapter, Request, WouldBlock, adapter_for
from .chain import Chain
from .errors import ConfigurationError
from .extensions import Extensions
from .guard import Guard
from .identity import SESSION_KEY, Identity
from .login_state import LoginState
from .plugin_routes import PluginRoutes
from .resources import Resource
from .responses import Response
from .routes import PublicRoutes
from .sessions import lifecycle
from .sessions.server import rotate as rotate_session
from .ui import routes as ui_routes
from .user_groups import PROVIDER_GROUPS_CLAIM as PROVIDER_GROUPS_CLAIM  # (its old home)
from .user_groups import UserGroups

if TYPE_CHECKING:
    import dash

log = logging.getLogger("dash_auth")

DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_SESSION_LIFETIME = 12 * 3600
DEFAULT_IDLE_TIMEOUT = 3600
DEFAULT_REMEMBER_LIFETIME = 30 * 24 * 3600

_STACK_ATTR = "_dash_auth_stack"
_create_lock = threading.Lock()


class AuthStack(UserGroups, PluginRoutes, Extensions, AppSecret, LoginState):
    """One app's authentication and authorization chain.

    Options (all keyword-only, all optional):

    ``public_routes``
        Paths anyone may open, in Flask route syntax, relative to the app's
        URL prefix (``["/", "/user/<user_id>/public"]``).
    ``secret_key``
        Signs the session cookie. Required when a plugin needs sessions
        across requests; otherwise a per-process key is generated with a
        warning (sessions then break across workers and restarts).
    ``public_assets``
        Glob patterns of files in the assets folder served without login
        (default: ``("favicon.ico",)``). Every other asset needs a user.
    ``logout_route``
        Where the logout confirmation page and POST live (default ``"/logout"``).
    ``max_body_size``
        Largest callback request body in bytes (default 16 MiB); larger ones get 413.
    ``session_lifetime``
        Seconds a login stored in the session stays valid (default 12 hours),
        however active; a login without a login time counts as expired.
    ``session_idle_timeout``
        Seconds a login may go unused before it ends (default 1 hour; ``None``
        for none). Remembered logins have none but their lifetime.
    ``remember_lifetime``
        Seconds a remembered login lasts (remember-me on the login form;
        default 30 days); only such a login gets a cookie that outlives the browser.
    ``session_store``
        Keep sessions server-side: a ``redis://`` URL or a
        :class:`~dash_auth_core.sessions.SessionStore`. The cookie then carries
        a random id only, logins can be revoked everywhere, and the security
        state (revocations, the login throttle) is shared by every worker and
        instance. Default: signed cookies, that state per process.
    ``user_groups``
        Groups for every provider's users: a dict ``{user id: [groups]}`` or a
        callable ``user_groups(identity_id) -> groups``, resolved at login. A
        key ``(provider, user id)`` holds for that provider's users only; a
        plain key for anyone with that id. (Front doors add groups for their
        own users only: see :meth:`add_user_groups`.)
    ``user_groups_ttl``
        With a callable ``user_groups``: re-check a signed-in user's groups at
        most this many seconds old on each request (``0`` = every request).
        ``None`` (the default) resolves them only at login.
    ``page_container``
        The id of the component a custom routing callback fills (Dash Pages'
        ``_pages_content`` is always recognised): that callback is judged by
        the pathname it is asked to render.
    ``plugins``
        Extra plugin objects or modules to register, in this order.
    ``plugin_config``
        Per-app settings of plugins: ``{plugin name: {setting: value}}``. A
        plugin reads its own with :meth:`plugin_config` (in its ``setup``
        hook, where it should also check them and raise
        :class:`ConfigurationError`). Give them when the stack is created:
        entry-point plugins set up at once.
    ``load_entrypoints``
        Load third-party plugins from the ``dash_auth`` entry-point group
        (default ``True``; see :mod:`dash_auth_core.plugins` for the switches).
    ``templates_folder``, ``theme``, ``language``
        The built-in pages: a folder of templates that replace them by name,
        a :class:`~dash_auth_core.ui.Theme` (title, logo, colours), and the
        language (a tag, or a function of the request; default: the
        browser's ``Accept-Language``). See ``docs/pages.md``.
    """

    OPTIONS = (
        "public_routes",
        "secret_key",
        "public_assets",
        "logout_route",
        "max_body_size",
        "session_lifetime",
        "session_idle_timeout",
        "remember_lifetime",
        "session_store",
        "user_groups",
        "user_groups_ttl",
        "page_container",
        "plugins",
        "plugin_config",
        "load_entrypoints",
        "templates_folder",
        "theme",
        "language",
    )

    def __init__(self, app: dash.Dash, **options: Any) -> None:
        self._check_options(options)
        server = getattr(app, "server", None)
        if server is None or server is False:
            raise ConfigurationError(
                "the Dash app has no server yet; create the auth stack after app.init_app(server)"
            )
        self.app = app
        self.adapter: BackendAdapter = adapter_for(app)
        self.adapter.stack = self  # the adapter reads session options (remember_lifetime) from it
        self.public_routes = PublicRoutes()
        self.public_assets: tuple[str, ...] = ("favicon.ico",)
        self.logout_route = "/logout"
        self.max_body_size: int | None = DEFAULT_MAX_BODY
        self.session_lifetime: float | None = DEFAULT_SESSION_LIFETIME
        self.session_idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT
        self.remember_lifetime: float | None = DEFAULT_REMEMBER_LIFETIME
        self.page_container: str | None = None
        super().__init__()  # each part's own state (user_groups.py, plugin_routes.py, ...)
        load_entrypoints = options.pop("load_entrypoints", True)
        self.chain = Chain(plugins.make_manager(load_entrypoints=False))
        if load_entrypoints:
            plugins.load_entry_points(self.chain.register, self.chain.pm.is_registered)
        plugins.track(self)
        #: Whether any plugin implements ``authorize`` (the guard skips the vote otherwise).
        self.has_authorizers = False
        self.guard = Guard(self)
        self.configure(**options)
        self._ensure_secret()
        # (The user reaches background callbacks through Dash's custom_data: the guard
        # installs that hook when the app turns out to have any; see context.py.)
        self.adapter.install_guard(self.guard)
        pages.guard_page_meta(app)
        logout.install(self)
        ui_routes.install(self)
        browser.install(app)
        background.install(self)  # Celery workers check the login again when a job starts
        self.chain.hook.setup.call_historic(kwargs={"app": app, "auth": self})
        self._set_up = True
        self._refresh_impl_counts()

    # -- construction -----------------------------------------------------

    @classmethod
    def of(cls, app: dash.Dash, **options: Any) -> AuthStack:
        """The app's stack, created on first use; ``options`` are applied either way."""
        with _create_lock:
            stack: AuthStack | None = getattr(app, _STACK_ATTR, None)
            if stack is None:
                stack = cls(app, **options)
                setattr(app, _STACK_ATTR, stack)
                return stack
        stack.configure(**options)
        return stack

    @classmethod
    def get(cls, app: dash.Dash) -> AuthStack | None:
        """The app's stack if one was installed, else ``None``."""
        return getattr(app, _STACK_ATTR, None)

    def configure(self, **options: Any) -> None:
        """Apply options; later front doors on the same app add to earlier ones."""
        self._check_options(options)
        if options.get("public_routes") is not None:
            routes = options["public_routes"]
            if isinstance(routes, str):
                raise ConfigurationError("public_routes must be a list of route strings, not one string")
            self.public_routes.add(routes)
        if options.get("public_assets") is not None:
            assets = options["public_assets"]
            if isinstance(assets, str) or not all(isinstance(a, str) for a in assets):
                raise ConfigurationError("public_assets must be a list of glob patterns")
            self.public_assets = tuple(dict.fromkeys(self.public_assets + tuple(assets)))
        if "logout_route" in options:
            route = options["logout_route"]
            if not isinstance(route, str) or not route.startswith("/") or "<" in route:
                raise ConfigurationError("logout_route must be a plain path starting with '/'")
            self.logout_route = route
        if "max_body_size" in options:
            size = options["max_body_size"]
            if size is not None and (not isinstance(size, int) or size <= 0):
                raise ConfigurationError("max_body_size must be a positive number of bytes or None")
            self.max_body_size = size
        for name in ("session_lifetime", "session_idle_timeout", "remember_lifetime"):
            if name in options:
                life = options[name]
                if life is not None and (isinstance(life, bool) or not isinstance(life, (int, float)) or life <= 0):
                    raise ConfigurationError(f"{name} must be a positive number of seconds or None")
                setattr(self, name, life)
        if options.get("session_store") is not None:
            self._set_store(options["session_store"])
        if options.get("secret_key") is not None:
            self._set_secret(check_secret(options["secret_key"]))
        if options.get("user_groups") is not None:
            self.add_user_groups(options["user_groups"])
        if "user_groups_ttl" in options:
            ttl = options["user_groups_ttl"]
            if ttl is not None and (not isinstance(ttl, (int, float)) or ttl < 0):
                raise ConfigurationError("user_groups_ttl must be a number of seconds >= 0 or None")
            self.user_groups_ttl = ttl
        if options.get("page_container") is not None:
            container = options["page_container"]
            if not isinstance(container, str) or not container:
                raise ConfigurationError("page_container must be the id (a string) of the page container")
            self.page_container = container
        if any(name in options for name in ui.OPTIONS):
            ui.configure(self, options)
        if options.get("plugin_config") is not None:
            self._set_plugin_config(options["plugin_config"])
        self._configure_declared(options)  # the options distributions declare
        for plugin in options.get("plugins") or ():
            self.register(plugin)


    # -- plugins ----------------------------------------------------------

    def register(self, plugin: Any, name: str | None = None) -> Any:
        """Add a plugin (module or object with ``@hookimpl`` methods) to the chain.

        ``name`` defaults to the plugin's ``name`` attribute when it is a
        string, else pluggy's default (a module's name). Its ``setup`` hook
        runs now if the stack is set up; a plugin that breaks the contract
        (an ``async def`` hook, a misspelt hook name) or whose ``setup``
        raises is refused with the error and leaves the chain as it was.
        """
        if getattr(plugin, "requires_sessions", False) and self._secret_generated:
            raise ConfigurationError(
                f"{type(plugin).__name__} keeps logins in the session and needs a fixed "
                "secret_key (pass secret_key=... or set app.server.secret_key)"
            )
        if name is None and isinstance(getattr(plugin, "name", None), str) and plugin.name:
            name = plugin.name
        self.chain.register(plugin, name=name)
        self._refresh_impl_counts()
        return plugin

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:
        """Remove a plugin from the chain (tests use this to undo a registration)."""
        removed = self.chain.unregister(plugin, name=name)
        self._refresh_impl_counts()
        return removed

    def get_plugin(self, name: str) -> Any:
        """The plugin registered under ``name``, or ``None``."""
        return self.chain.pm.get_plugin(name)

    def plugin_name(self, plugin: Any) -> str | None:
        """The name ``plugin`` joined this stack under, or ``None`` if it is not in the chain."""
        return self.chain.pm.get_name(plugin)

    def plugins(self) -> list[Any]:
        """The registered plugins, in no particular order."""
        return list(self.chain.pm.get_plugins())

    def _refresh_impl_counts(self) -> None:
        self.has_authorizers = bool(self.chain.authorizers)

    # -- hook facade ------------------------------------------------------

    def authenticate(self, request: Request) -> Identity | None:
        """The identity the chain vouches for, or ``None`` (anonymous, or credentials refused).

        See :meth:`Chain.authenticate <dash_auth_core.chain.Chain.authenticate>`.
        """
        return self.chain.authenticate(request)

    def authorize(self, identity: Identity | None, resource: Resource, request: Request) -> bool | None:
        """Combined vote: ``False`` if anyone denies, ``True`` if anyone allows, else ``None``."""
        if not self.has_authorizers:
            return None
        return self.chain.authorize(identity, resource, request)

    def challenge(self, request: Request, resource: Resource, reason: str) -> Response | None:
        """The response that asks to log in (``"unauthenticated"``) or refuses (``"forbidden"``)."""
        return self.chain.challenge(request, resource, reason)

    def login(
        self, identity: Identity, request: Request, *, notify: bool = True,
        session_data: dict[str, Any] | None = None, end_previous: bool = True, remember: bool = False,
    ) -> Identity:
        """Start a session for ``identity``: fresh session, then ``on_login``.

        Applies ``user_groups`` and returns the identity as stored.
        ``session_data`` is written into the new session before ``on_login``
        runs (a provider's token state, say). ``notify=False`` only writes the
        session (a provider re-issuing the session of a login it already announced).
        ``remember=True`` keeps the login for ``remember_lifetime`` in a cookie
        that outlives the browser (remember-me). With a session store the
        session gets a new id.
        """
        identity = self.groups_for(identity)
        session = request.session
        if notify and end_previous:
            self.end_replaced_login(request, identity)
        session.clear()  # a new session for the new login (no fixation, fresh CSRF token)
        rotate_session(session)  # and, server-side, a new id
        if session_data:
            session.update(session_data)
        session[SESSION_KEY] = identity.to_session()
        lifecycle.start(self, session, remember, identity.auth_time)
        context.set_current_user(identity, request)
        if notify:
            try:
                self.chain.hook.on_login(identity=identity, request=request)
            except BaseException:
                # A login whose on_login failed (a store that must record it is down) does not
                # stand: the answer, whatever it is, must not carry a session that holds it.
                session.clear()
                context.set_current_user(None, request)
                raise
        return identity

    def end_replaced_login(self, request: Request, identity: Identity | None = None) -> None:
        """Call ``on_logout`` for the login this session holds, which a new one replaces.

        Another user signing in in the same browser ends the previous login
        as a logout would: its open sockets close, its tokens are let go. The
        same user signing in again (``identity``) ends nothing. :meth:`login`
        calls it; a provider that rewrites the session before (a seed-style
        ``login_user_callback``) calls it first and passes ``end_previous=False``.
        """
        if not request.has_session_cookie:
            return
        previous = Identity.from_session(request.session.get(SESSION_KEY))
        if previous is None:
            return
        if identity is not None and (previous.id, previous.provider) == (identity.id, identity.provider):
            return
        try:
            self.chain.hook.on_logout(identity=previous, request=request)
        except WouldBlock:
            raise  # a hook calls the network: the guard runs again in a worker thread
        except Exception:
            log.exception("an on_logout hook failed for the login a new one replaces")


    def logout(self, request: Request, *, everywhere: bool = False) -> Identity | None:
        """Call ``on_logout`` for the current user, then clear the session.

        ``everywhere=True`` also ends the user's other sessions (:meth:`revoke`).
        """
        identity = self.authenticate(request)
        if everywhere and identity is not None:
            self.revoke(identity.id)
        try:
            self.chain.hook.on_logout(identity=identity, request=request)
        except WouldBlock:
            raise  # nothing cleared yet: the adapter runs this again in a worker thread
        except Exception:
            # A plugin that fails to hear of it must not keep the user signed in.
            log.exception("an on_logout hook failed; the session is cleared anyway")
        request.clear_session()
        context.set_current_user(None, request)
        return identity


def add_public_routes(app: dash.Dash, public_routes: Iterable[str]) -> None:
    """Make more paths public on ``app`` (Flask route syntax, relative to the app prefix)."""
    AuthStack.of(app).add_public_routes(public_routes)


