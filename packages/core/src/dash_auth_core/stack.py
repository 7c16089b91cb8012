"""The per-app stack: options, the plugin chain, and the facade over its hooks.

``AuthStack.of(app)`` returns the app's one stack, creating and installing it
on first use. Front doors (``BasicAuth``, ``OIDCAuth``, ...) call it with
their options and register their plugin, so several of them on one app make
one chain. Callers use the typed methods here (``authenticate``,
``authorize``, ``challenge``, ``login``, ``logout``), which forward to the
:class:`~dash_auth_core.chain.Chain` that holds every hook to its contract.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import secrets
import threading
import time
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import context, plugins, signing, ui
from .backends import BackendAdapter, Request, ViewFunc, WouldBlock, adapter_for
from .chain import Chain
from .errors import ConfigurationError
from .identity import SESSION_KEY, Identity
from .resources import Resource
from .responses import Response
from .routes import PublicRoutes
from .sessions import LocalState, SessionStore, SharedState, lifecycle, store_from
from .sessions.logins import LoginCache
from .sessions.server import PRIVILEGE_GRACE, ServerSessions
from .sessions.server import rotate as rotate_session

if TYPE_CHECKING:
    import dash

log = logging.getLogger("dash_auth")

MIN_SECRET_LENGTH = 16
DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_SESSION_LIFETIME = 12 * 3600
DEFAULT_IDLE_TIMEOUT = 3600
DEFAULT_REMEMBER_LIFETIME = 30 * 24 * 3600

_STACK_ATTR = "_dash_auth_stack"
#: Claim keeping a provider's own groups when ``user_groups`` adds to them.
PROVIDER_GROUPS_CLAIM = "provider_groups"
_create_lock = threading.Lock()


def _check_secret(secret: Any) -> str | bytes:
    if not isinstance(secret, (str, bytes)):
        raise ConfigurationError("secret_key must be a string or bytes")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"secret_key is too short ({len(secret)} characters); use at least "
            f"{MIN_SECRET_LENGTH} random characters, e.g. secrets.token_urlsafe(32)"
        )
    return secret


class AuthStack:
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
    #: ``register_page`` keys that are access rules in the seed libraries: a page
    #: that uses one while no installed distribution declares it is refused at
    #: start-up (fail closed) instead of silently open.
    RULE_PAGE_KEYS = ("groups", "restricted_users")

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
        #: The server-side session store (``None``: signed cookies), and its glue for the adapters.
        self.session_store: SessionStore | None = None
        self.server_sessions: ServerSessions | None = None
        #: Revocation marks and counters: per process, or the store's (shared by every worker).
        self.shared_state: SharedState = LocalState()
        #: provider -> a check that a login it made, read from a session, still holds (see add_login_check).
        self.login_checks: dict[str, Any] = {}
        #: Logins read from signed session cookies, by cookie header (see ``sessions/logins.py``).
        self.session_logins = LoginCache()
        self.user_groups: Any = None
        #: provider name -> the ``user_groups`` a front door gave for its own users.
        self.provider_user_groups: dict[str, Any] = {}
        self.user_groups_ttl: float | None = None
        self.page_container: str | None = None
        #: Per-app state of plugins, by plugin name: a plugin shared by every app (an entry
        #: point) keeps what it set up for this app here (``auth.plugin_state["groups"]``).
        self.plugin_state: dict[str, Any] = {}
        self._plugin_config: dict[str, dict[str, Any]] = {}
        self._set_up = False  # True once the plugins' setup hooks ran
        self._groups_cache: dict[tuple[str, str, tuple[str, ...]], tuple[tuple[str, ...], float]] = {}
        self._secret: str | bytes | None = None
        self._secret_generated = False
        self._plugin_routes: dict[str, bool] = {}
        self._plugin_public_rules = PublicRoutes()  # plugin routes with URL variables
        self._plugin_private_rules = PublicRoutes()
        self._logout_snippets: list[str] = []
        load_entrypoints = options.pop("load_entrypoints", True)
        self.chain = Chain(plugins.make_manager(load_entrypoints=False))
        if load_entrypoints:
            plugins.load_entry_points(self.chain.register, self.chain.pm.is_registered)
        plugins.track(self)
        #: Whether any plugin implements ``authorize`` (the guard skips the vote otherwise).
        self.has_authorizers = False
        from .guard import Guard

        self.guard = Guard(self)
        self.configure(**options)
        self._ensure_secret()
        # (The user reaches background callbacks through Dash's custom_data: the guard
        # installs that hook when the app turns out to have any; see context.py.)
        self.adapter.install_guard(self.guard)
        from . import browser, logout, pages
        from .ui import routes as ui_routes

        pages.guard_page_meta(app)

        logout.install(self)
        ui_routes.install(self)
        browser.install(app)
        from . import background

        background.install(self)  # Celery workers check the login again when a job starts
        self.chain.hook.setup.call_historic(kwargs={"app": app, "auth": self})
        self._set_up = True
        self._refresh_impl_counts()

    # -- construction -----------------------------------------------------

    @classmethod
    def of(cls, app: dash.Dash, **options: Any) -> AuthStack:
        """The app's stack, created on first use; ``options`` are applied either way."""
        with _create_lock:
            stack = getattr(app, _STACK_ATTR, None)
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

    def _check_options(self, options: dict[str, Any]) -> None:
        for name in options:
            if name not in self.OPTIONS and name not in plugins.declared(plugins.OPTIONS_GROUP):
                known = self.OPTIONS + tuple(plugins.declared(plugins.OPTIONS_GROUP))
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(
                    f"unknown option {name!r}{hint} (known: {', '.join(self.OPTIONS)})"
                )

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
            self._set_secret(_check_secret(options["secret_key"]))
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
        for name in options:
            if name not in self.OPTIONS:  # declared by a distribution (see dash_auth_core.plugins)
                self._declaring_plugin(plugins.OPTIONS_GROUP, name).configure_option(self, name, options[name])
        for plugin in options.get("plugins") or ():
            self.register(plugin)

    def _declaring_plugin(self, group: str, key: str) -> Any:
        """The plugin a distribution declares for ``key`` in ``group``, joined to this stack."""
        found = plugins.declaring_plugin(group, key)
        if found is None:
            raise ConfigurationError(f"{key!r}: no installed distribution declares it in {group!r}")
        name, plugin = found
        if not self.chain.pm.is_registered(plugin):
            self.register(plugin, name=name)
        return plugin

    def load_page_extensions(self, pages: Iterable[Any]) -> None:
        """Join the plugins that enforce the rule keys pages declare, and let them check the pages.

        A plugin's ``check_page(page)`` looks at the page's rule before any
        request is served by it (dash-auth-groups logs a broken one and closes
        that page to everyone). A seed-style rule key (``groups=``) that no
        installed distribution declares is a start-up error, not an open page.
        """
        declared = plugins.declared(plugins.PAGE_KEYS_GROUP)
        for page in list(pages):
            checked: set[int] = set()
            for key in list(page):  # check_page may mark the page
                if key in declared:
                    plugin = self._declaring_plugin(plugins.PAGE_KEYS_GROUP, key)
                    check = getattr(plugin, "check_page", None)
                    if check is not None and id(plugin) not in checked:
                        checked.add(id(plugin))
                        check(page)
                elif key in self.RULE_PAGE_KEYS:
                    raise ConfigurationError(
                        f"the page {page.get('module')!r} declares {key!r}, an access rule that no installed "
                        "distribution enforces: install the one that provides it (pip install dash-auth-groups)"
                    )

    # -- plugin settings ------------------------------------------------------

    def _set_plugin_config(self, config: Any) -> None:
        if not isinstance(config, dict) or not all(
            isinstance(name, str) and isinstance(value, dict) for name, value in config.items()
        ):
            raise ConfigurationError("plugin_config must be a dict {plugin name: {setting: value}}")
        for name, value in config.items():
            if name in self._plugin_config and self._plugin_config[name] != value:
                raise ConfigurationError(f"two different plugin_config values were given for {name!r}")
            if name not in self._plugin_config and self.get_plugin(name) is not None and self._set_up:
                raise ConfigurationError(
                    f"plugin_config for {name!r} comes after the plugin was set up; give it where the "
                    "app's stack is created (the first front door or AuthStack.of call)"
                )
            self._plugin_config[name] = dict(value)

    def plugin_config(self, name: Any) -> dict[str, Any]:
        """The settings this app gave a plugin (``plugin_config={name: {...}}``); ``{}`` if none.

        ``name`` is the plugin's name in the chain, or the plugin itself. A
        copy: a plugin checks it in ``setup`` and keeps what it needs (in
        :attr:`plugin_state` when one plugin object serves several apps).
        """
        if not isinstance(name, str):
            name = self.plugin_name(name)
        return dict(self._plugin_config.get(name, {})) if name else {}

    def unused_plugin_config(self) -> list[str]:
        """Names in ``plugin_config`` that no plugin of this stack answers to (most likely a typo).

        The guard logs them as a warning when it first serves a request.
        """
        return [name for name in self._plugin_config if self.get_plugin(name) is None]

    def sign(self, value: Any, salt: str) -> str:
        """``value`` (anything JSON can hold) signed with the app's secret, URL-safe, with a timestamp.

        ``salt`` names the purpose (``"my-plugin.invite"``): a token signed for
        one purpose never passes :meth:`unsign` for another.
        """
        return signing.sign(self._signing_secret(), value, salt)

    def unsign(self, token: Any, salt: str, max_age: float | None = None) -> Any:
        """The value :meth:`sign` signed into ``token``, or ``None`` if it is forged, malformed,
        signed for another ``salt``, or older than ``max_age`` seconds."""
        return signing.unsign(self._signing_secret(), token, salt, max_age)

    def derive_key(self, purpose: str, length: int = 32) -> bytes:
        """A key of ``length`` bytes for ``purpose``, derived from the app's secret (HKDF, RFC 5869).

        For plugins that encrypt or MAC things of their own: each purpose
        gets an independent key, and none is the session cookie's.
        """
        return signing.derive_key(self._signing_secret(), purpose, length)

    def _signing_secret(self) -> str | bytes:
        secret = self._secret if self._secret != "<server>" else self.adapter.server_secret()
        if not secret:
            raise ConfigurationError("this app has no secret key to sign with: pass secret_key=...")
        return secret

    def _set_secret(self, secret: str | bytes) -> None:
        if self._secret is not None and not self._secret_generated and self._secret != secret:
            raise ConfigurationError("two different secret_key values were given for one app")
        self._secret = secret
        self._secret_generated = False
        self.adapter.ensure_sessions(secret)

    def _ensure_secret(self) -> None:
        if self._secret is not None:
            return
        if self.adapter.has_secret():
            self._secret = "<server>"
            self.adapter.ensure_sessions(None)
            return
        self._secret_generated = True
        self._secret = secrets.token_urlsafe(32)
        self.adapter.ensure_sessions(self._secret)
        warnings.warn(
            "dash-auth generated a secret key for this process: sessions will not "
            "survive a restart or be shared by several workers. Pass secret_key=...",
            RuntimeWarning,
            stacklevel=4,
        )

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

    # -- routes -----------------------------------------------------------

    @property
    def routes_prefix(self) -> str:
        return self.app.config.routes_pathname_prefix

    @property
    def requests_prefix(self) -> str:
        return self.app.config.requests_pathname_prefix

    def url_for(self, path: str) -> str:
        """The browser-visible URL of an app path (adds ``requests_pathname_prefix``)."""
        return self.requests_prefix.rstrip("/") + "/" + path.lstrip("/")

    def add_route(
        self, path: str, view: ViewFunc, *, methods: Iterable[str] = ("GET",), public: bool = True,
        endpoint: str | None = None,
    ) -> str:
        """Serve a plugin route at ``path`` (relative to the app prefix); returns the server path."""
        full = self.routes_prefix.rstrip("/") + "/" + path.lstrip("/")
        if full in self._plugin_routes:
            # The first view would answer, and the second plugin's would silently never run.
            raise ConfigurationError(f"two dash-auth views for {full}: give one of them another route")
        if "<" in full:  # a rule with URL variables (``/oidc/<idp>/login``)
            (self._plugin_public_rules if public else self._plugin_private_rules).add([full])
        else:
            self._plugin_routes[full] = public
        stack = self

        def plugin_view(request: Request, *args: Any, **kwargs: Any) -> Response:
            request.auth = stack  # as in every hook: the view reaches the app's stack through its request
            return view(request, *args, **kwargs)

        self.adapter.add_route(full, endpoint or f"dash_auth:{full}", plugin_view, list(methods))
        return full

    def has_route(self, path: str) -> bool:
        """Whether a plugin already serves ``path`` (relative to the app prefix)."""
        return self.routes_prefix.rstrip("/") + "/" + path.lstrip("/") in self._plugin_routes

    def plugin_route_public(self, server_path: str) -> bool | None:
        """``True``/``False`` for a plugin route's publicity, ``None`` if not a plugin route."""
        found = self._plugin_routes.get(server_path)
        if found is not None:
            return found
        if len(self._plugin_private_rules) and self._plugin_private_rules.test(server_path):
            return False
        if len(self._plugin_public_rules) and self._plugin_public_rules.test(server_path):
            return True
        return None

    def add_public_routes(self, routes: Iterable[str]) -> None:
        self.public_routes.add(routes)

    def add_logout_snippet(self, html: str) -> None:
        """HTML (e.g. a script) a plugin adds to the signed-out page."""
        self._logout_snippets.append(html)

    @property
    def logout_snippets(self) -> tuple[str, ...]:
        return tuple(self._logout_snippets)

    @property
    def login_url(self) -> str | None:
        """Where a provider's login page lives, if it has one (set by plugins)."""
        return getattr(self, "_login_url", None)

    @login_url.setter
    def login_url(self, value: str | None) -> None:
        self._login_url = value

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

    def add_user_groups(self, groups: Any, providers: Iterable[str] | None = None) -> None:
        """Groups for users: a dict ``{user id: [groups]}`` or a callable ``groups(user_id)``.

        With ``providers``, they hold for the users those providers sign in
        only: ``BasicAuth(user_groups=...)`` names its own, so a user of
        another provider whose id happens to be a local username gains
        nothing. Without, they hold for every provider (the stack's
        ``user_groups`` option). One app takes one of each.
        """
        if not (callable(groups) or isinstance(groups, dict)):
            raise ConfigurationError("user_groups must be a dict {user: [groups]} or a callable")
        for provider in (None,) if providers is None else tuple(providers):
            current = self.user_groups if provider is None else self.provider_user_groups.get(provider)
            if current is not None and current is not groups:
                raise ConfigurationError("two different user_groups were given for one app")
            if provider is None:
                self.user_groups = groups
            else:
                self.provider_user_groups[provider] = groups

    def _user_groups_sources(self, identity: Identity) -> tuple[Any, ...]:
        return tuple(s for s in (self.user_groups, self.provider_user_groups.get(identity.provider)) if s is not None)

    def groups_for(self, identity: Identity) -> Identity:
        """``identity`` with the groups ``user_groups`` adds to the provider's own.

        The provider's groups (an OIDC ``groups`` claim, say; none for Basic)
        are kept in the ``provider_groups`` claim, so a later re-check starts
        from them again and can take away a group the look-up no longer gives.
        A look-up that fails adds nothing (and is logged).
        """
        sources = self._user_groups_sources(identity)
        if not sources:
            return identity
        base = _provider_groups(identity)
        added = self._added_groups(identity, sources)
        resolved = tuple(dict.fromkeys((*base, *(added or ()))))
        claims = {**identity.claims, PROVIDER_GROUPS_CLAIM: list(base)}
        if resolved == identity.groups and claims == dict(identity.claims):
            return identity
        return dataclasses.replace(identity, groups=resolved, claims=claims)

    @staticmethod
    def _added_groups(identity: Identity, sources: tuple[Any, ...]) -> list[str] | None:
        """The groups ``sources`` give ``identity``; ``None`` if a look-up failed."""
        added: list[str] = []
        failed = False
        for source in sources:
            try:
                if callable(source):
                    groups = source(identity.id)
                else:
                    groups = source.get((identity.provider, identity.id))
                    groups = source.get(identity.id) if groups is None else groups
            except Exception:
                log.exception("user_groups failed for %r", identity.id)
                failed = True
                continue
            if isinstance(groups, str):
                groups = [groups]
            added += (g for g in (groups or ()) if isinstance(g, str))
        return None if failed else added

    def refresh_groups(self, identity: Identity, request: Request | None = None) -> Identity:
        """Re-check a signed-in user's groups when ``user_groups_ttl`` asks for it.

        A look-up that fails keeps the groups last known (a failing directory
        must not lift a ``none_of`` rule), and is asked again on the next request.
        """
        ttl = self.user_groups_ttl
        sources = self._user_groups_sources(identity)
        if ttl is None or not any(callable(source) for source in sources):
            return identity
        now = time.monotonic()
        # The answer depends on who the provider says this is, not on the id alone:
        # "alice" from BasicAuth and "alice" from an OIDC provider are different users.
        base = _provider_groups(identity)
        key = (identity.provider, identity.id, base)
        cached = self._groups_cache.get(key)
        if cached is None or now - cached[1] >= ttl:
            if request is not None:
                request.allow_blocking()  # a user look-up: off the event loop on async backends
            added = self._added_groups(identity, sources)
            if added is None:
                # The last answer this process had, else the session's (kept current below).
                groups = identity.groups if cached is None else cached[0]
            else:
                groups = tuple(dict.fromkeys((*base, *added)))
                if len(self._groups_cache) > 10_000:
                    self._groups_cache.clear()
                self._groups_cache[key] = (groups, now)
        else:
            groups = cached[0]
        if groups == identity.groups:
            return identity
        identity = dataclasses.replace(identity, groups=groups)
        if request is not None:
            _store_groups(identity, request)
        return identity

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

    # -- sessions and revocation ------------------------------------------------

    def _set_store(self, option: Any) -> None:
        store = store_from(option)
        if store is None or store is self.session_store:
            return
        if self.session_store is not None:
            raise ConfigurationError("two different session_store values were given for one app")
        self.session_store = store
        self.shared_state = store.shared_state()
        self.server_sessions = ServerSessions(self, store)
        self.adapter.use_session_store(self.server_sessions)

    def begin_request(self, request: Request) -> None:
        """Read the request's session record and the shared state (one round trip; the guard calls
        this when a store is configured). Raises :class:`~dash_auth_core.sessions.StoreUnavailable`."""
        sessions = self.server_sessions
        if sessions is not None and (request.has_session_cookie or request.header("Authorization")):
            sessions.begin(request.session)

    def add_login_check(self, provider: str, check: Any) -> None:
        """``check(identity) -> bool``: whether a login ``provider`` made, read from a session, still
        holds (a user removed from the app's table no longer does). Called on each such request."""
        self.login_checks[provider] = check

    def login_holds(self, identity: Identity, request: Request, now: float | None = None) -> bool:
        """Whether a login read from ``request``'s session still holds: its lifetime, idle time,
        revocation mark and provider check (see :mod:`dash_auth_core.sessions.lifecycle`)."""
        return lifecycle.login_holds(self, identity, request.session, now)

    def login_ends(self, identity: Identity, request: Request) -> float | None:
        """When the login read from ``request``'s session ends if unused (for a cache of it)."""
        return lifecycle.holds_until(self, identity, request.session)

    def is_revoked(self, identity: Identity) -> bool:
        """Whether ``identity``'s login was revoked (``revoke_user``, ``forget``) since it was made."""
        return self.shared_state.revoked(identity.id, identity.auth_time)

    def revoke(self, user_id: str) -> None:
        """End every login of ``user_id`` made until now, on every worker and instance that share the
        store (in this process only without one): sessions, cached credentials, open sockets."""
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("revoke needs a user id (a non-empty string)")
        keep = max(x for x in (self.session_lifetime, self.remember_lifetime, 24 * 3600.0) if x)
        self.shared_state.revoke(user_id, time.time(), keep)
        if self.session_store is not None:
            self.session_store.delete_user(user_id)
        from . import websocket

        websocket.registry(self).revoke_user(user_id)
        log.info("revoked every login of %r", user_id)

    def close_sockets(self, identity: Identity) -> None:
        """End ``identity``'s login on WebSocket callbacks: its open sockets close (4001), and
        its cookie opens none. For a login a provider ended outside a logout."""
        from . import websocket

        websocket.registry(self).revoke(identity, self.session_lifetime)

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


def _store_groups(identity: Identity, request: Request) -> None:
    """Write re-checked groups into the session that holds this login.

    So that a worker that never re-checked it, or a re-check whose look-up
    fails, starts from the groups last known rather than those of the sign-in.
    Sessionless clients (bearer tokens, scripts) get no session for it.
    """
    if not request.has_session_cookie:
        return
    session = request.session
    stored = session.get(SESSION_KEY)
    if (
        isinstance(stored, dict)
        and stored.get("id") == identity.id
        and stored.get("provider") == identity.provider
        and stored.get("groups") != list(identity.groups)
    ):
        session[SESSION_KEY] = {**stored, "groups": list(identity.groups)}
        rotate_session(session, PRIVILEGE_GRACE)  # a change of privileges: a new id, server-side


def _provider_groups(identity: Identity) -> tuple[str, ...]:
    """The groups the provider itself gave ``identity`` (before ``user_groups`` added any)."""
    base = identity.claims.get(PROVIDER_GROUPS_CLAIM)
    return tuple(base) if isinstance(base, (list, tuple)) else identity.groups
