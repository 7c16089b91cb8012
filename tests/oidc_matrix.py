"""The OIDC test matrix: one face for both providers the tests sign in with.

The ``any_idp`` fixture (tests/oidc/conftest.py) runs a test once against each:

* ``mock``: ``oidc-provider-mock`` (lenient: no PKCE check, one form for sign-in),
  behind a :class:`~oidc_support.TamperingProxy` that adds RFC 7009 revocation;
* ``strict``: panva's ``oidc-provider`` (see :mod:`oidc_strict`).

Both serve the same users (``alice``: verified e-mail, groups ``staff`` and
``readers``; ``bob``: no groups) to the same client (``CLIENT_ID``), so a test
reads the same whichever provider it runs against.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from oidc_strict import API_AUDIENCE, StrictProvider, client_credentials, end_session, interact
from oidc_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    WAIT,
    Dance,
    TamperingProxy,
    ThreadProvider,
    authorize,
    sign_in,
)

#: The users both providers know.
USERS: dict[str, dict[str, Any]] = {
    "alice": {"email": "alice@example.org", "email_verified": True, "name": "Alice Liddell",
              "groups": ["staff", "readers"]},
    "bob": {"email": "bob@example.org", "name": "Bob", "groups": []},
}
SCRIPT_SECRET = "dash-script-secret"


class IdP:
    """What a test needs of a provider, whichever it is."""

    kind: str
    #: The issuer.
    url: str
    metadata_url: str
    #: ``register_provider`` arguments the app needs for this provider.
    register: dict[str, Any]
    #: ``register_provider`` arguments for bearer tokens of :meth:`script_token`.
    bearer_register: dict[str, Any]
    #: The identity id of :meth:`script_token`'s bearer.
    script_id: str

    def authorize(self, authorize_url: str, sub: str = "alice", deny: bool = False) -> str:
        """The user at the provider: signs in as ``sub`` (or refuses); returns the app's callback URL."""
        raise NotImplementedError

    def sign_in(self, client: Any, start: str = "/", sub: str = "alice") -> Dance:
        return sign_in(client, start, sub, via=self.authorize)

    def end_session(self, url: str) -> str:
        """The user confirms the sign-out at the provider; returns where it sends the browser."""
        raise NotImplementedError

    def set_user(self, sub: str, **claims: Any) -> None:
        raise NotImplementedError

    def revoke(self, sub: str, refresh_token: str) -> None:
        """The provider forgets the grant behind ``refresh_token`` (a session ended there, an admin)."""
        raise NotImplementedError

    def script_token(self) -> str:
        """A bearer token a script obtained without a browser, for this app."""
        raise NotImplementedError

    def refresh_works(self, refresh_token: str) -> bool:
        """Whether the provider still renews tokens for ``refresh_token`` (asked directly)."""
        endpoint = requests.get(self.metadata_url, timeout=WAIT).json()["token_endpoint"]
        response = requests.post(endpoint, auth=(CLIENT_ID, CLIENT_SECRET), timeout=WAIT,
                                 data={"grant_type": "refresh_token", "refresh_token": refresh_token})
        return response.status_code == 200


class MockIdP(IdP):
    kind = "mock"

    def __init__(self, idp: ThreadProvider, proxy: TamperingProxy) -> None:
        self.idp, self.proxy = idp, proxy
        self.url = idp.url
        self.metadata_url = proxy.metadata_url
        self.register = {"issuer": idp.url}
        self.bearer_register = {}
        self.script_id = "robot"

    def authorize(self, authorize_url: str, sub: str = "alice", deny: bool = False) -> str:
        return authorize(authorize_url, sub, deny)

    def end_session(self, url: str) -> str:
        assert requests.get(url, timeout=WAIT).status_code == 200  # the provider's confirmation page
        target = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}["post_logout_redirect_uri"]
        back = requests.post(self.url + "/oauth2/end_session/confirm", data={"redirect_uri": target},
                             allow_redirects=False, timeout=WAIT)
        assert back.status_code == 302, back.text[:300]
        return back.headers["Location"]

    def set_user(self, sub: str, **claims: Any) -> None:
        self.idp.set_user(sub, **claims)

    def revoke(self, sub: str, refresh_token: str) -> None:
        self.idp.revoke(sub)

    def script_token(self) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": CLIENT_ID, "sub": self.script_id, "iat": now, "exp": now + 600}
        return self.proxy._sign(claims, self.proxy.key, "proxy-key")


class StrictIdP(IdP):
    kind = "strict"

    def __init__(self, provider: StrictProvider) -> None:
        self.provider = provider
        self.url = provider.url
        self.metadata_url = provider.metadata_url
        self.register = {}
        self.bearer_register = {"bearer_audience": API_AUDIENCE}
        self.script_id = "dash-script"
        #: The last browser that went through the provider's pages (its cookies: the provider's session).
        self.browser = requests.Session()
        #: The pages the user went through at the last sign-in ("login", "consent", "abort").
        self.pages: list[str] = []

    def authorize(self, authorize_url: str, sub: str = "alice", deny: bool = False) -> str:
        self.browser = requests.Session()  # a new browser: sign-in and consent pages each time
        callback, self.pages = interact(authorize_url, self.url, self.browser, sub=sub, deny=deny)
        return callback

    def end_session(self, url: str) -> str:
        return end_session(url, self.url, self.browser)

    def set_user(self, sub: str, **claims: Any) -> None:
        self.provider.set_user(sub, **claims)

    def revoke(self, sub: str, refresh_token: str) -> None:
        endpoint = self.provider.metadata["revocation_endpoint"]
        response = requests.post(endpoint, auth=(CLIENT_ID, CLIENT_SECRET), timeout=WAIT,
                                 data={"token": refresh_token, "token_type_hint": "refresh_token"})
        assert response.status_code == 200, response.text

    def script_token(self) -> str:
        return client_credentials(self.provider, "dash-script", SCRIPT_SECRET)


def strict_config(callback_names: tuple[str, ...] = ("idp", "idp2", "strict"), prefixes: tuple[str, ...] = ("", "/app")
                  ) -> dict[str, Any]:
    """The strict provider's clients and users.

    ``dash-app`` (``client_secret_basic``) and ``dash-app-post`` (``client_secret_post``)
    get a refresh token whatever the granted scope, as many production providers issue
    them; ``dash-app-offline`` only with ``offline_access`` (oidc-provider's default);
    ``dash-app-quick``'s access tokens live 2 seconds; ``dash-script`` is a script's
    client (client credentials only).
    """
    redirects = [f"http://localhost{p}/oidc/{n}/callback" for p in prefixes for n in callback_names]
    logouts = [f"http://localhost{p}/oidc/logged-out" for p in prefixes]

    def browser_client(client_id: str, **extra: Any) -> dict[str, Any]:
        return {"client_id": client_id, "client_secret": CLIENT_SECRET, "redirect_uris": redirects,
                "post_logout_redirect_uris": logouts, "token_endpoint_auth_method": "client_secret_basic",
                "refresh": "always", **extra}

    return {
        "clients": [
            browser_client(CLIENT_ID),
            browser_client(CLIENT_ID + "-post", token_endpoint_auth_method="client_secret_post"),
            browser_client(CLIENT_ID + "-offline", refresh="offline_access"),
            browser_client(CLIENT_ID + "-quick", access_token_ttl=2),
            {"client_id": "dash-script", "client_secret": SCRIPT_SECRET, "redirect_uris": [],
             "response_types": [], "grant_types": ["client_credentials"]},
        ],
        "users": USERS,
        "accessTokenTTL": 30,
    }
