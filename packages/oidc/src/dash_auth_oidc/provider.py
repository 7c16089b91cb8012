"""One OpenID provider: its discovery document, its keys, and the tokens it signs.

Framework-neutral: nothing here knows about a web request. The calls to the
provider's endpoints are :mod:`.client`'s (:class:`ProviderClient`); this
module finds the endpoints, caches what the provider publishes, and
validates its tokens (with :mod:`.tokens`).

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
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .client import ProviderClient
from .config import ProviderConfig, http_url
from .errors import ProviderUnavailable, TokenValidationError
from .tokens import SAFE_ALGORITHMS, validate_jwt

log = logging.getLogger("dash_auth.oidc")

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
        self.client = ProviderClient(config)

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
        missing = [key for key in REQUIRED_METADATA if not http_url(meta.get(key))]
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
        """The discovery document or key set at ``url`` (the one door they come through)."""
        return self.client.get_json(url, what)

    # -- the endpoints ----------------------------------------------------

    def authorization_url(self, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser to sign in (authorization-code flow, PKCE S256 by default)."""
        endpoint = self.metadata()["authorization_endpoint"]
        return self.client.authorization_url(endpoint, redirect_uri, state, nonce, code_verifier)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        """Trade an authorization code for tokens."""
        return self.client.exchange_code(self.metadata()["token_endpoint"], code, redirect_uri, code_verifier)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New tokens for a refresh token (the answer may lack an ID token; see :meth:`ProviderClient.refresh`)."""
        return self.client.refresh(self.metadata()["token_endpoint"], refresh_token)

    def revoke(self, refresh_token: str) -> bool:
        """Revoke a refresh token (RFC 7009); ``False`` if the provider advertises no ``revocation_endpoint``."""
        endpoint = self._advertised("revocation_endpoint")
        if endpoint is None:
            return False
        self.client.revoke(endpoint, refresh_token)
        return True

    def _advertised(self, name: str) -> str | None:
        """An optional endpoint from the discovery document (``None`` if absent, or the provider is down)."""
        try:
            endpoint = self.metadata().get(name)
        except ProviderUnavailable:
            return None
        return endpoint if http_url(endpoint) else None

    def userinfo(self, token: Mapping[str, Any]) -> dict[str, Any] | None:
        """Claims from the userinfo endpoint, or ``None`` if the provider has none."""
        endpoint = self.metadata().get("userinfo_endpoint")
        if not self.config.fetch_userinfo or not http_url(endpoint):
            return None
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            return None
        return self.client.get_json(endpoint, "userinfo", bearer=access)

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
        return self.client.end_session_url(
            endpoint, id_token_hint=id_token_hint, post_logout_redirect_uri=post_logout_redirect_uri
        )
