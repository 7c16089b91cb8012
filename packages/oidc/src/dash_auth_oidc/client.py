"""The calls to one provider's endpoints, and what their failures mean.

JSON documents (discovery, keys, userinfo) come through ``requests``; the
token endpoint (code exchange and refresh, with whatever client
authentication the provider wants) and revocation through authlib's
:class:`~authlib.integrations.requests_client.OAuth2Session`. Nothing here
knows which endpoint a call is for: :class:`~dash_auth_oidc.provider.Provider`
finds them in the discovery document and hands them over.

Every failure is one of :mod:`dash_auth_oidc.errors`: a provider that cannot be
reached, or answers what is not a JSON object, is :class:`ProviderUnavailable`
(made by :meth:`ProviderClient.unreachable` and :meth:`ProviderClient.unexpected`,
the one place that words it); an error answer from the token endpoint is
:class:`ProviderRefused`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error

from .config import ProviderConfig
from .errors import ProviderRefused, ProviderUnavailable

#: What a call that did not get through raises: the network, an HTTP error status, a body
#: that is not JSON (ValueError), or JSON nested too deep to read (RecursionError).
NETWORK_ERRORS = (requests.RequestException, ValueError, RecursionError)


class ProviderClient:
    """The HTTP side of one provider registration (its client id, secret and request settings)."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.name = config.name
        self.timeout = config.request_kwargs.get("timeout", 10.0)
        self._request_kwargs = {k: v for k, v in config.request_kwargs.items() if k != "timeout"}

    # -- failures -----------------------------------------------------------

    def unreachable(self, what: str, exc: BaseException) -> ProviderUnavailable:
        """The error of a call to the provider that did not get through (logged with ``exc``)."""
        return ProviderUnavailable(
            "The sign-in provider cannot be reached. Try again in a moment.",
            reason=f"provider {self.name!r}: {what} failed: {exc}",
        )

    def unexpected(self, what: str, detail: str) -> ProviderUnavailable:
        """The error of an answer that came, but is not what the protocol promises."""
        return ProviderUnavailable(
            "The sign-in provider answered something unexpected.",
            reason=f"provider {self.name!r}: {what} {detail}",
        )

    @contextmanager
    def answering(self, what: str) -> Iterator[None]:
        """Turn a failed call inside the block into :meth:`unreachable`'s error."""
        try:
            yield
        except NETWORK_ERRORS as exc:
            raise self.unreachable(what, exc) from exc

    def json_object(self, value: Any, what: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.unexpected(what, "is not a JSON object")
        return dict(value)

    # -- JSON documents -----------------------------------------------------

    def get_json(self, url: str, what: str, *, bearer: str | None = None) -> dict[str, Any]:
        """The JSON object at ``url`` (``bearer``: an access token to send, for userinfo)."""
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        what = f"{what} at {url}"
        with self.answering(what):
            response = requests.get(url, timeout=self.timeout, headers=headers, **self._request_kwargs)
            response.raise_for_status()
            data = response.json()
        return self.json_object(data, what)

    # -- authorization and token endpoints ----------------------------------

    def _session(self, redirect_uri: str | None = None, scope: str | None = None) -> OAuth2Session:
        cfg = self.config
        return OAuth2Session(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            token_endpoint_auth_method=cfg.token_endpoint_auth_method,
            scope=scope,
            redirect_uri=redirect_uri,
            code_challenge_method=cfg.code_challenge_method,
            default_timeout=self.timeout,
            **cfg.session_kwargs,
        )

    def authorization_url(self, endpoint: str, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser to sign in (authorization-code flow, PKCE S256 by default)."""
        client = self._session(redirect_uri, self.config.scope)
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
        client = self._session(redirect_uri)
        try:
            with self.answering(what):
                token = call(client)
        except (OAuthError, OAuth2Error) as exc:
            error = getattr(exc, "error", None) or "error"
            description = getattr(exc, "description", None) or ""
            raise ProviderRefused(
                "The sign-in provider did not accept this sign-in. Try again.",
                reason=f"provider {self.name!r}: {what} refused: {error} {description}".strip(),
            ) from exc
        except (TypeError, OverflowError, AttributeError) as exc:
            # authlib computing expires_at from an answer such as {"expires_in": [1]} or 1e999
            raise self.unexpected(what, f"answer is malformed: {exc!r}") from exc
        finally:
            client.close()
        return self.json_object(token, f"{what} answer")

    def exchange_code(self, endpoint: str, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        """Trade an authorization code for tokens."""
        extra = {"code_verifier": code_verifier} if self.config.code_challenge_method else {}
        return self._token_call(
            "code exchange",
            lambda c: c.fetch_token(endpoint, grant_type="authorization_code", code=code,
                                    redirect_uri=redirect_uri, **extra),
            redirect_uri,
        )

    def refresh(self, endpoint: str, refresh_token: str) -> dict[str, Any]:
        """New tokens for a refresh token (the answer may lack an ID token).

        No ``scope`` is sent: RFC 6749 §6 reads that as "the scope originally
        granted". Providers grant a part of what was asked for (``offline_access``
        only with ``prompt=consent``, say) and refuse a refresh that asks for more
        than the grant (``invalid_scope``), which would end the login at the
        first access-token expiry.
        """
        return self._token_call(
            "token refresh", lambda c: c.refresh_token(endpoint, refresh_token=refresh_token), None
        )

    def revoke(self, endpoint: str, refresh_token: str) -> None:
        """Revoke a refresh token (RFC 7009)."""
        what = "token revocation"
        client = self._session(None)
        try:
            with self.answering(what):
                response = client.revoke_token(endpoint, token=refresh_token, token_type_hint="refresh_token")
                response.raise_for_status()
        except (OAuthError, OAuth2Error) as exc:
            raise self.unreachable(what, exc) from exc
        finally:
            client.close()

    # -- logout -------------------------------------------------------------

    def end_session_url(self, endpoint: str, *, id_token_hint: str | None, post_logout_redirect_uri: str | None) -> str:
        """The RP-initiated logout URL at ``endpoint`` (the provider's ``end_session_endpoint``)."""
        params = {"client_id": self.config.client_id}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        if post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
        parts = urlsplit(endpoint)
        query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
