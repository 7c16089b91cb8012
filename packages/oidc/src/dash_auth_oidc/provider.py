"""One OpenID provider: discovery, keys, and the calls to its endpoints.

Framework-neutral: nothing here knows about a web request. HTTP goes through
``requests``; the token endpoint (code exchange and refresh, with whatever
client authentication the provider wants) through authlib's
:class:`~authlib.integrations.requests_client.OAuth2Session`.

Failures become :mod:`dash_auth_oidc.errors` exceptions: an unreachable or
broken provider is :class:`ProviderUnavailable`, an error answer from the
token endpoint :class:`ProviderRefused`, a token that does not validate
:class:`TokenValidationError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .errors import ProviderRefused, ProviderUnavailable, TokenValidationError
from .tokens import SAFE_ALGORITHMS, validate_jwt

log = logging.getLogger("dash_auth.oidc")

DEFAULT_SCOPE = "openid email profile"
WELL_KNOWN = "/.well-known/openid-configuration"
#: A token naming an unknown key fetches the key set again at most this often (seconds).
JWKS_MIN_REFETCH = 30.0
#: Keys are trusted this long after they were fetched, then fetched again: a key the
#: provider withdrew stops being trusted without a restart.
JWKS_MAX_AGE = 3600.0
#: While the provider cannot be reached, keys older than JWKS_MAX_AGE are still used up to
#: this age (a short outage does not sign everybody out); past it, nothing is trusted.
JWKS_MAX_STALE = 6 * 3600.0
#: After the provider failed to answer (discovery, keys), requests fail at once for this long.
FAILURE_BACKOFF = 10.0
#: Keys a provider's metadata must have.
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
#: ``client_kwargs`` that configure the requests made (not the OAuth client).
_REQUEST_KWARGS = ("timeout", "verify", "cert", "proxies")


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass
class ProviderConfig:
    """What :meth:`OIDCAuth.register_provider` was given for one provider."""

    name: str
    client_id: str
    client_secret: str | None = None
    server_metadata_url: str | None = None
    metadata: Mapping[str, Any] | None = None
    issuer: str | None = None
    scope: str = DEFAULT_SCOPE
    code_challenge_method: str | None = "S256"
    token_endpoint_auth_method: str | None = None
    authorize_params: dict[str, str] = field(default_factory=dict)
    session_kwargs: dict[str, Any] = field(default_factory=dict)
    request_kwargs: dict[str, Any] = field(default_factory=dict)
    algorithms: tuple[str, ...] | None = None
    leeway: float = 60.0
    fetch_userinfo: bool = True
    bearer_audience: str | tuple[str, ...] | None = None
    post_logout_redirect_uri: str | None = None
    rp_initiated_logout: bool = True
    groups_claim: str | None = None
    login_user_callback: Callable[..., Any] | None = None
    after_logged_in: Callable[..., Any] | None = None
    display_name: str | None = None


class Provider:
    """A registered OpenID provider and its cached discovery document and keys."""

    def __init__(self, config: ProviderConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.name = config.name
        self.clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = dict(config.metadata) if config.metadata else None
        if self._metadata is not None:
            self._check_metadata(self._metadata)
        self._keys: KeySet | None = None
        self._keys_fetched = 0.0
        #: When the keys held were fetched (monotonic); they expire JWKS_MAX_AGE later.
        self._keys_good = time.monotonic()
        self.keys_max_age = JWKS_MAX_AGE
        self.keys_max_stale = JWKS_MAX_STALE
        self._down_until = 0.0  # discovery or the key set failed: don't ask again before this
        self._down_reason = ""
        self._timeout = config.request_kwargs.get("timeout", 10.0)

    # -- discovery --------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._metadata is not None

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once; raises :class:`ProviderUnavailable`)."""
        meta = self._metadata
        if meta is not None:
            return meta
        self._raise_if_down()
        with self._lock:
            if self._metadata is None:
                self._raise_if_down()  # another request just failed: don't wait out another timeout
                try:
                    fetched = self._fetch_json(self.config.server_metadata_url or "", "discovery document")
                    self._check_metadata(fetched)
                except ProviderUnavailable as exc:
                    self._mark_down(exc)
                    raise
                self._metadata = fetched
                log.info("OIDC provider %r discovered: issuer %s", self.name, fetched["issuer"])
            return self._metadata

    def _raise_if_down(self) -> None:
        if time.monotonic() < self._down_until:
            raise ProviderUnavailable(
                "The sign-in provider is not reachable right now.",
                reason=f"provider {self.name!r} failed moments ago ({self._down_reason}); not asked again yet",
            )

    def _mark_down(self, exc: ProviderUnavailable) -> None:
        self._down_until = time.monotonic() + FAILURE_BACKOFF
        self._down_reason = exc.reason[:200]

    @property
    def known_issuer(self) -> str | None:
        """The issuer, if known without asking the provider (configured, or discovered already)."""
        meta = self._metadata
        return meta["issuer"] if meta is not None else self.config.issuer

    def _check_metadata(self, meta: dict[str, Any]) -> None:
        missing = [key for key in REQUIRED_METADATA if not _http_url(meta.get(key))]
        if missing:
            raise ProviderUnavailable(
                "The sign-in provider is misconfigured.",
                reason=f"provider {self.name!r}: discovery document lacks valid {', '.join(missing)}",
            )
        issuer = meta["issuer"]
        expected = self.config.issuer
        url = self.config.server_metadata_url
        if expected is None and url and url.rstrip("/").endswith(WELL_KNOWN):
            # OpenID Connect Discovery 4.3: the issuer must be the URL the document was found under.
            expected = url.rstrip("/")[: -len(WELL_KNOWN)]
        if expected is not None and issuer.rstrip("/") != expected.rstrip("/"):
            raise ProviderUnavailable(
                "The sign-in provider is misconfigured.",
                reason=f"provider {self.name!r}: discovery document names issuer {issuer!r}, expected {expected!r}",
            )

    @property
    def issuer(self) -> str:
        return self.metadata()["issuer"]

    def algorithms(self) -> tuple[str, ...]:
        """Signing algorithms accepted for this provider's tokens (never ``none`` or HMAC)."""
        if self.config.algorithms is not None:
            return self.config.algorithms
        advertised = self.metadata().get("id_token_signing_alg_values_supported")
        if isinstance(advertised, list):
            algs = tuple(a for a in advertised if a in SAFE_ALGORITHMS)
            if algs:
                return algs
        return ("RS256",)  # the OpenID Connect default

    def keys(self, force: bool = False) -> KeySet:
        """The provider's signing keys (cached; ``force`` fetches them again, rate-limited).

        Keys expire ``keys_max_age`` seconds after they were fetched (an hour) and
        are fetched again, so a key the provider withdrew is no longer trusted; a
        token naming an unknown ``kid`` fetches them at once (at most every 30 s).
        """
        keys = self._keys
        if keys is not None and not force:
            if time.monotonic() - self._keys_good < self.keys_max_age:
                return keys
            force = True  # expired: fetched again below (rate-limited like an unknown kid)
        if keys is not None and time.monotonic() - self._keys_fetched < JWKS_MIN_REFETCH and not self._lock.locked():
            return keys  # fetched moments ago, and no fetch under way whose keys to wait for
        if keys is None:
            self._raise_if_down()
        # Requests that queue here find the fetch just made (``_keys_fetched`` is set when
        # it starts), so a burst of unknown key ids costs one fetch, not one each.
        self._lock.acquire()
        try:
            if self._keys is not None and not (force and time.monotonic() - self._keys_fetched >= JWKS_MIN_REFETCH):
                return self._keys
            if self._keys is None:
                self._raise_if_down()
            # Counted from the attempt, failed or not: a key id nobody knows fetches at most this often.
            self._keys_fetched = time.monotonic()
            try:
                keyset = self._fetch_keys()
            except ProviderUnavailable as exc:
                if self._keys is not None and time.monotonic() - self._keys_good < self.keys_max_stale:
                    log.warning("OIDC provider %r: key set not refreshed: %s", self.name, exc.reason)
                    return self._keys
                if self._keys is not None:
                    log.error("OIDC provider %r: its keys are %d s old and cannot be fetched again; no token "
                              "is trusted until they are", self.name, time.monotonic() - self._keys_good)
                    self._keys = None
                self._mark_down(exc)
                raise
            self._keys = keyset
            self._keys_good = time.monotonic()
            return keyset
        finally:
            self._lock.release()

    def _fetch_keys(self) -> KeySet:
        data = self._fetch_json(self.metadata()["jwks_uri"], "key set")
        try:
            return KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderUnavailable(
                "The sign-in provider published unusable keys.",
                reason=f"provider {self.name!r}: key set could not be read: {exc!r}",
            ) from exc

    def _fetch_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = requests.get(
                url, timeout=self._timeout, headers={"Accept": "application/json"},
                **{k: v for k, v in self.config.request_kwargs.items() if k != "timeout"},
            )
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError, RecursionError) as exc:
            raise ProviderUnavailable(
                "The sign-in provider cannot be reached. Try again in a moment.",
                reason=f"provider {self.name!r}: {what} at {url} unavailable: {exc}",
            ) from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable(
                "The sign-in provider answered something unexpected.",
                reason=f"provider {self.name!r}: {what} at {url} is not a JSON object",
            )
        return data

    # -- the token endpoint -----------------------------------------------

    def _client(self, redirect_uri: str | None = None, scope: str | None = None) -> OAuth2Session:
        cfg = self.config
        return OAuth2Session(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            token_endpoint_auth_method=cfg.token_endpoint_auth_method,
            scope=scope,
            redirect_uri=redirect_uri,
            code_challenge_method=cfg.code_challenge_method,
            default_timeout=self._timeout,
            **cfg.session_kwargs,
        )

    def authorization_url(self, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser to sign in (authorization-code flow, PKCE S256 by default)."""
        endpoint = self.metadata()["authorization_endpoint"]
        client = self._client(redirect_uri, self.config.scope)
        try:
            url, _ = client.create_authorization_url(
                endpoint,
                state=state,
                nonce=nonce,
                code_verifier=code_verifier if self.config.code_challenge_method else None,
                **self.config.authorize_params,
            )
        finally:
            client.close()
        return url

    def _token_call(self, what: str, call: Callable[[OAuth2Session], Any], redirect_uri: str | None) -> dict[str, Any]:
        client = self._client(redirect_uri)
        try:
            token = call(client)
        except (OAuthError, OAuth2Error) as exc:
            error = getattr(exc, "error", None) or "error"
            description = getattr(exc, "description", None) or ""
            raise ProviderRefused(
                "The sign-in provider did not accept this sign-in. Try again.",
                reason=f"provider {self.name!r}: {what} refused: {error} {description}".strip(),
            ) from exc
        except (requests.RequestException, ValueError, RecursionError) as exc:
            raise ProviderUnavailable(
                "The sign-in provider cannot be reached. Try again in a moment.",
                reason=f"provider {self.name!r}: {what} failed: {exc}",
            ) from exc
        except (TypeError, OverflowError, AttributeError) as exc:
            # authlib computing expires_at from an answer such as {"expires_in": [1]} or 1e999
            raise ProviderUnavailable(
                "The sign-in provider answered something unexpected.",
                reason=f"provider {self.name!r}: {what} answer is malformed: {exc!r}",
            ) from exc
        finally:
            client.close()
        if not isinstance(token, Mapping):
            raise ProviderUnavailable(
                "The sign-in provider answered something unexpected.",
                reason=f"provider {self.name!r}: {what} answer is not a JSON object",
            )
        return dict(token)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        """Trade an authorization code for tokens."""
        endpoint = self.metadata()["token_endpoint"]
        extra = {"code_verifier": code_verifier} if self.config.code_challenge_method else {}
        return self._token_call(
            "code exchange",
            lambda c: c.fetch_token(endpoint, grant_type="authorization_code", code=code,
                                    redirect_uri=redirect_uri, **extra),
            redirect_uri,
        )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New tokens for a refresh token (the answer may lack an ID token).

        No ``scope`` is sent: RFC 6749 §6 reads that as "the scope originally
        granted". Providers grant a part of what was asked for (``offline_access``
        only with ``prompt=consent``, say) and refuse a refresh that asks for more
        than the grant (``invalid_scope``), which would end the login at the
        first access-token expiry.
        """
        endpoint = self.metadata()["token_endpoint"]
        return self._token_call(
            "token refresh", lambda c: c.refresh_token(endpoint, refresh_token=refresh_token), None
        )

    def revoke(self, refresh_token: str) -> bool:
        """Revoke a refresh token (RFC 7009); ``False`` if the provider advertises no ``revocation_endpoint``."""
        endpoint = self._advertised("revocation_endpoint")
        if endpoint is None:
            return False
        client = self._client(None)
        try:
            response = client.revoke_token(endpoint, token=refresh_token, token_type_hint="refresh_token")
            response.raise_for_status()
        except (OAuthError, OAuth2Error, requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(
                "The sign-in provider cannot be reached.",
                reason=f"provider {self.name!r}: token revocation failed: {exc}",
            ) from exc
        finally:
            client.close()
        return True

    def _advertised(self, name: str) -> str | None:
        """An optional endpoint from the discovery document (``None`` if absent, or the provider is down)."""
        try:
            endpoint = self.metadata().get(name)
        except ProviderUnavailable:
            return None
        return endpoint if _http_url(endpoint) else None

    def userinfo(self, token: Mapping[str, Any]) -> dict[str, Any] | None:
        """Claims from the userinfo endpoint, or ``None`` if the provider has none."""
        endpoint = self.metadata().get("userinfo_endpoint")
        if not self.config.fetch_userinfo or not _http_url(endpoint):
            return None
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            return None
        try:
            response = requests.get(
                endpoint, timeout=self._timeout,
                headers={"Authorization": f"Bearer {access}", "Accept": "application/json"},
                **{k: v for k, v in self.config.request_kwargs.items() if k != "timeout"},
            )
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError, RecursionError) as exc:
            raise ProviderUnavailable(
                "The sign-in provider cannot be reached. Try again in a moment.",
                reason=f"provider {self.name!r}: userinfo failed: {exc}",
            ) from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable(
                "The sign-in provider answered something unexpected.",
                reason=f"provider {self.name!r}: userinfo is not a JSON object (signed userinfo is not supported)",
            )
        return data

    # -- validation -------------------------------------------------------

    def validate_id_token(
        self, id_token: Any, *, nonce: str | None, access_token: str | None = None
    ) -> dict[str, Any]:
        """The verified claims of an ID token from this provider's token endpoint."""
        if not isinstance(id_token, str) or not id_token:
            raise TokenValidationError(
                "The sign-in provider returned no ID token.",
                reason=f"provider {self.name!r}: token answer has no id_token (is 'openid' in the scope?)",
            )
        return validate_jwt(
            id_token,
            self.keys,
            issuer=self.issuer,
            audience=self.config.client_id,
            algorithms=self.algorithms(),
            now=self.clock(),
            leeway=self.config.leeway,
            client_id=self.config.client_id,
            nonce=nonce,
            access_token=access_token,
        )

    @property
    def bearer_audiences(self) -> frozenset[str]:
        """The audiences a bearer token for this registration names (``bearer_audience``, else the client id)."""
        audience = self.config.bearer_audience or self.config.client_id
        return frozenset((audience,) if isinstance(audience, str) else audience)

    def validate_bearer(self, token: str) -> dict[str, Any]:
        """The verified claims of a bearer access token issued by this provider for this app.

        A browser sign-in's ID token is refused: it carries that sign-in's ``nonce``, and
        lands in logout URLs and browser history. (An access token's ``azp`` names the
        client that asked for it, normally a script's, so it is not checked.)
        """
        claims = validate_jwt(
            token,
            self.keys,
            issuer=self.issuer,
            audience=self.bearer_audiences,
            algorithms=self.algorithms(),
            now=self.clock(),
            leeway=self.config.leeway,
            client_id=None,
            require_iat=False,
            kind="bearer token",
        )
        if "nonce" in claims:
            raise TokenValidationError("An ID token is not an access token.", reason="bearer token is an ID token (nonce)")
        return claims

    # -- logout -----------------------------------------------------------

    def end_session_url(self, *, id_token_hint: str | None, post_logout_redirect_uri: str | None) -> str | None:
        """The RP-initiated logout URL, or ``None`` when the provider advertises no ``end_session_endpoint``."""
        if not self.config.rp_initiated_logout:
            return None
        endpoint = self._advertised("end_session_endpoint")
        if endpoint is None:
            return None
        params = {"client_id": self.config.client_id}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        if post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
        parts = urlsplit(endpoint)
        query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
