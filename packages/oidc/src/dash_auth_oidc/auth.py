"""``OIDCAuth``: the front door users of dash-auth know."""

from __future__ import annotations

import difflib
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata as importlib_metadata
from typing import Any

import dash

from dash_auth_core import AuthStack, ConfigurationError, Identity, UserDataMethods, plugins

from .bearer import BearerTokenPlugin
from .claims import DEFAULT_SESSION_CLAIMS, UserGroups, build_identity
from .config import DEFAULT_SCOPE, REQUEST_KWARGS, ProviderConfig
from .errors import LoginError
from .plugin import OIDCPlugin
from .provider import Provider
from .settings import OIDCSettings, Routes
from .store import EncryptedSessionTokenStore, TokenStore

log = logging.getLogger("dash_auth.oidc")

PLUGIN_NAME = "dash_auth_oidc"
BEARER_PLUGIN_NAME = "dash_auth_oidc.bearer"
#: Entry-point group through which installed packages contribute providers (e.g. a company SSO).
PROVIDER_ENTRY_POINT_GROUP = "dash_auth_oidc.providers"

_REGISTER_OPTIONS = (
    "client_id", "client_secret", "server_metadata_url", "token_endpoint_auth_method", "client_kwargs",
    "metadata", "issuer", "authorize_params", "algorithms", "leeway", "fetch_userinfo", "bearer_audience",
    "post_logout_redirect_uri", "rp_initiated_logout", "groups_claim", "login_user_callback",
    "after_logged_in", "display_name", "lazy",
)

_AUTHORIZE_KWARGS = ("prompt", "login_hint", "response_mode", "acr_values", "max_age", "ui_locales", "audience")
#: What ``client_kwargs`` may hold: the OAuth client's settings, request settings, authorization parameters.
_CLIENT_KWARGS = (
    "scope", "code_challenge_method", "token_endpoint_auth_method", "token_placement", "leeway",
    *REQUEST_KWARGS, *_AUTHORIZE_KWARGS,
)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > 64:
        raise ConfigurationError("a provider name must be a non-empty string of at most 64 characters")
    if "/" in name or "\\" in name or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise ConfigurationError(f"provider name {name!r} may not contain '/', '\\' or control characters")
    return name


class OIDCAuth(UserDataMethods):
    """Sign users in to a Dash app with one or several OpenID Connect providers.

    ``OIDCAuth(app, secret_key=...)`` joins (or creates) the app's
    :class:`~dash_auth_core.AuthStack`; providers are added with
    :meth:`register_provider`. With one provider an unauthenticated page
    request goes straight to it; with several, to ``idp_selection_route``
    (your page) or to a built-in chooser at ``/oidc/login``.

    Subclasses may override :meth:`after_logged_in` (called with the merged
    claims, the provider name and the token answer before the session is
    written) to add session attributes, return a response, or refuse the user
    by raising :class:`~dash_auth_oidc.LoginRefused`.
    """

    def __init__(
        self,
        app: dash.Dash,
        secret_key: str | bytes | None = None,
        force_https_callback: bool | str | None = None,
        login_route: str = "/oidc/<idp>/login",
        logout_route: str = "/oidc/logout",
        callback_route: str = "/oidc/<idp>/callback",
        idp_selection_route: str | None = None,
        log_signins: bool = True,
        public_routes: list[str] | None = None,
        logout_page: Any = None,
        secure_session: bool = False,
        user_groups: UserGroups | None = None,
        login_user_callback: Callable[..., Any] | None = None,
        groups_claim: str | None = "groups",
        before_logout: Callable[..., Any] | None = None,
        after_logged_in: Callable[..., Any] | None = None,
        session_claims: Iterable[str] | None = DEFAULT_SESSION_CLAIMS,
        refresh_leeway: float = 60.0,
        max_pending_logins: int = 5,
        login_timeout: float = 600.0,
        store_access_token: bool = False,
        token_store: TokenStore | None = None,
        bearer_tokens: bool = False,
        entry_point_providers: bool = True,
        **options: Any,
    ) -> None:
        if idp_selection_route is not None and (
            not isinstance(idp_selection_route, str) or not idp_selection_route.startswith("/")
        ):
            raise ConfigurationError("idp_selection_route must be a path starting with '/'")
        if force_https_callback is not None and not isinstance(force_https_callback, (bool, str)):
            raise ConfigurationError("force_https_callback must be a bool or the name of an environment variable")
        if max_pending_logins < 1 or login_timeout <= 0 or refresh_leeway < 0:
            raise ConfigurationError("max_pending_logins, login_timeout and refresh_leeway must be positive")
        self.app = app
        self.stack = AuthStack.of(app, public_routes=public_routes, secret_key=secret_key, **options)
        if user_groups is not None and options.get("user_groups_ttl") is not None and not callable(
            self.stack.user_groups
        ):
            # The re-check needs the provider's claims, which only a sign-in or a token refresh brings.
            raise ConfigurationError(
                "user_groups_ttl re-checks the app-wide user_groups callable of the stack "
                "(AuthStack.of(app, user_groups=..., user_groups_ttl=...)); OIDCAuth's own user_groups "
                "are resolved from the provider's claims, at sign-in and at each token refresh"
            )
        if isinstance(self.stack.get_plugin(PLUGIN_NAME), OIDCPlugin):
            raise ConfigurationError(
                "this app already has an OIDCAuth; add providers to it with register_provider()"
            )
        if secure_session and isinstance(getattr(app.server, "config", None), dict):
            app.server.config["SESSION_COOKIE_SECURE"] = True
        routes = Routes(login=login_route, callback=callback_route, logout=logout_route)
        settings = OIDCSettings(
            idp_selection_route=idp_selection_route,
            login_user_callback=login_user_callback,
            after_logged_in=after_logged_in,
            user_groups=user_groups,
            groups_claim=groups_claim,
            logout_page=logout_page,
            before_logout=before_logout,
            force_https_callback=force_https_callback,
            session_claims=tuple(session_claims) if session_claims is not None else None,
            refresh_leeway=refresh_leeway,
            store_access_token=store_access_token,
            log_signins=log_signins,
            routes=routes,
        )
        self.plugin = OIDCPlugin(
            settings, token_store or self._default_store(secret_key),
            max_pending_logins=max_pending_logins, login_timeout=login_timeout,
        )
        self.plugin.after_logged_in = self.after_logged_in
        self.stack.register(self.plugin, name=PLUGIN_NAME)
        self.bearer: BearerTokenPlugin | None = None
        if bearer_tokens:
            self.bearer = BearerTokenPlugin(lambda: list(self.plugin.providers.values()), self._bearer_identity)
            self.stack.register(self.bearer, name=BEARER_PLUGIN_NAME)
        if entry_point_providers:
            self._load_entry_point_providers()

    def _default_store(self, secret_key: str | bytes | None) -> TokenStore:
        if secret_key:
            return EncryptedSessionTokenStore(secret_key)
        try:
            # The app's secret (a front door's secret_key, or the server's own): a key of its own.
            return EncryptedSessionTokenStore(self.stack.derive_key("dash_auth_oidc.tokens"))
        except ConfigurationError:
            raise ConfigurationError(
                "OIDCAuth needs secret_key=... (it encrypts the tokens kept in the session), "
                "or pass token_store=..."
            ) from None

    # -- providers ----------------------------------------------------------

    @property
    def providers(self) -> dict[str, Provider]:
        return self.plugin.providers

    def register_provider(self, idp_name: str, **kwargs: Any) -> Provider:
        """Add an OpenID provider.

        ``register_provider(name, client_id=..., client_secret=...,
        server_metadata_url=..., token_endpoint_auth_method=...,
        client_kwargs={"scope": "openid email profile"})``. The discovery
        document and keys are fetched now (an unreachable or inconsistent
        provider is a start-up error) unless ``lazy=True``. See the package
        README for every option.
        """
        name = _check_name(idp_name)
        for key in kwargs:
            if key not in _REGISTER_OPTIONS:
                close = difflib.get_close_matches(key, _REGISTER_OPTIONS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(f"register_provider: unknown option {key!r}{hint}")
        if name in self.plugin.providers:
            raise ConfigurationError(f"a provider called {name!r} is already registered")
        config = self._config(name, dict(kwargs))
        provider = Provider(config)
        if not kwargs.get("lazy", False):
            try:
                provider.metadata()
                provider.keys()
            except LoginError as exc:
                raise ConfigurationError(f"OIDC provider {name!r} is not usable: {exc.reason}") from exc
        self.plugin.add_provider(provider)
        return provider

    def _config(self, name: str, kw: dict[str, Any]) -> ProviderConfig:
        client_id = kw.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError(f"provider {name!r}: client_id is required")
        metadata_url = kw.get("server_metadata_url")
        static = kw.get("metadata")
        if (metadata_url is None) == (static is None):
            raise ConfigurationError(f"provider {name!r}: give server_metadata_url=... (or metadata={{...}}), one of them")
        if metadata_url is not None and (not isinstance(metadata_url, str) or not metadata_url.startswith(("https://", "http://"))):
            raise ConfigurationError(f"provider {name!r}: server_metadata_url must be an http(s) URL")
        if static is not None and not isinstance(static, Mapping):
            raise ConfigurationError(f"provider {name!r}: metadata must be a mapping")
        client_kwargs = dict(kw.get("client_kwargs") or {})
        for key in client_kwargs:
            if key not in _CLIENT_KWARGS:
                close = difflib.get_close_matches(key, _CLIENT_KWARGS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(f"provider {name!r}: unknown client_kwargs key {key!r}{hint}")
        scope = client_kwargs.pop("scope", DEFAULT_SCOPE)
        if isinstance(scope, (list, tuple)):
            scope = " ".join(scope)
        if not isinstance(scope, str) or "openid" not in scope.split():
            raise ConfigurationError(f"provider {name!r}: the scope must include 'openid' (got {scope!r})")
        challenge = client_kwargs.pop("code_challenge_method", "S256")
        if challenge not in ("S256", None, ""):
            raise ConfigurationError(f"provider {name!r}: code_challenge_method must be 'S256' (or None to turn PKCE off)")
        if not challenge:
            warnings.warn(f"OIDC provider {name!r}: PKCE is turned off", RuntimeWarning, stacklevel=4)
        auth_method = kw.get("token_endpoint_auth_method") or client_kwargs.pop("token_endpoint_auth_method", None)
        request_kwargs = {k: client_kwargs.pop(k) for k in REQUEST_KWARGS if k in client_kwargs}
        authorize_params = dict(kw.get("authorize_params") or {})
        for key in _AUTHORIZE_KWARGS:
            if key in client_kwargs:
                authorize_params[key] = client_kwargs.pop(key)
        algorithms = kw.get("algorithms")
        if algorithms is not None:
            from .tokens import SAFE_ALGORITHMS

            algorithms = tuple(algorithms)
            bad = [a for a in algorithms if a not in SAFE_ALGORITHMS]
            if bad or not algorithms:
                raise ConfigurationError(
                    f"provider {name!r}: algorithms {bad} are not accepted (choose from {sorted(SAFE_ALGORITHMS)})"
                )
        post_logout = kw.get("post_logout_redirect_uri")
        if post_logout is not None and (not isinstance(post_logout, str) or not post_logout.startswith(("https://", "http://"))):
            raise ConfigurationError(f"provider {name!r}: post_logout_redirect_uri must be an absolute http(s) URL")
        audience = kw.get("bearer_audience")
        if audience is not None and not isinstance(audience, str):
            audience = tuple(audience)
        config = ProviderConfig(
            name=name,
            client_id=client_id,
            client_secret=kw.get("client_secret"),
            server_metadata_url=metadata_url,
            metadata=static,
            issuer=kw.get("issuer"),
            scope=scope,
            code_challenge_method=challenge or None,
            token_endpoint_auth_method=auth_method,
            authorize_params={k: str(v) for k, v in authorize_params.items()},
            session_kwargs=client_kwargs,
            request_kwargs=request_kwargs,
            algorithms=algorithms,
            leeway=float(kw.get("leeway", 60.0)),
            fetch_userinfo=bool(kw.get("fetch_userinfo", True)),
            bearer_audience=audience,
            post_logout_redirect_uri=post_logout,
            rp_initiated_logout=bool(kw.get("rp_initiated_logout", True)),
            groups_claim=kw.get("groups_claim"),
            login_user_callback=kw.get("login_user_callback"),
            after_logged_in=kw.get("after_logged_in"),
            display_name=kw.get("display_name"),
        )
        return config

    def _load_entry_point_providers(self) -> None:
        for ep in importlib_metadata.entry_points(group=PROVIDER_ENTRY_POINT_GROUP):
            if not plugins.allowed(ep):
                continue
            try:
                spec = ep.load()
                if callable(spec):
                    spec = spec()
            except Exception as exc:
                raise ConfigurationError(f"OIDC provider entry point {ep.name!r} failed to load: {exc}") from exc
            if spec is None:
                continue  # the package chose not to contribute (e.g. its environment variables are unset)
            if not isinstance(spec, Mapping):
                raise ConfigurationError(
                    f"OIDC provider entry point {ep.name!r} must give a dict of register_provider options"
                )
            options = dict(spec)
            name = options.pop("name", ep.name)
            if name in self.plugin.providers:
                continue
            self.register_provider(name, **options)

    # -- hooks for subclasses --------------------------------------------------

    def after_logged_in(self, user: dict[str, Any], idp: str, token: dict[str, Any]) -> Any:
        """Called after a successful sign-in, before the session is written.

        ``user`` holds the verified claims (ID token and userinfo); keys you
        add to it end up in ``session["user"]``. Return ``None`` to continue
        to the page the user asked for, or a response to send instead; raise
        :class:`~dash_auth_oidc.LoginRefused` to refuse the user. The default
        calls the provider's (or the app's) ``after_logged_in=`` function.
        """
        return self.plugin.default_after_logged_in(user, idp, token)

    def _bearer_identity(self, claims: dict[str, Any], provider: Provider) -> Identity:
        settings = self.plugin.settings
        iat = claims.get("iat")
        return build_identity(
            claims, provider.name,
            groups_claim=provider.config.groups_claim or settings.groups_claim,
            user_groups=settings.user_groups,
            session_claims=settings.session_claims,
            auth_time=float(iat) if isinstance(iat, (int, float)) and not isinstance(iat, bool) else None,
        )

    # -- helpers ------------------------------------------------------------

    def get_tokens(self) -> dict[str, Any] | None:
        """The current request's stored tokens (``refresh_token``, ``id_token``, and
        ``access_token`` with ``store_access_token=True``), or ``None``."""
        request = self.stack.adapter.current_request()
        return None if request is None else self.plugin.tokens(request)

    def add_public_routes(self, routes: list[str]) -> None:
        self.stack.add_public_routes(routes)
