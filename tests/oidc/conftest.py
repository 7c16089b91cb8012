"""Fixtures for the OIDC tests: real providers on 127.0.0.1 and apps that use them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dash import Dash
from oidc_matrix import USERS, IdP, MockIdP, StrictIdP, strict_config
from oidc_strict import StrictProvider, require_strict
from oidc_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET,
    Clock,
    ProcessProvider,
    TamperingProxy,
    ThreadProvider,
    build_app,
)

from dash_auth_oidc import OIDCAuth


@pytest.fixture(scope="session")
def idp() -> Iterator[ThreadProvider]:
    """A real provider (oidc-provider-mock, nonce required, refresh tokens) in a thread."""
    provider = ThreadProvider()
    for sub, claims in USERS.items():  # alice and bob, as the strict provider has them
        provider.set_user(sub, **claims)
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def idp2() -> Iterator[ThreadProvider]:
    """A second, independent provider (own keys, own issuer)."""
    provider = ThreadProvider()
    provider.set_user("carol", email="carol@example.com", name="Carol", groups=["admins"])
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def idp_no_refresh() -> Iterator[ThreadProvider]:
    """A provider that issues no refresh tokens."""
    provider = ThreadProvider(refresh=False)
    provider.set_user("alice", email="alice@example.org", name="Alice Liddell")
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def idp_quick() -> Iterator[ThreadProvider]:
    """oidc-provider-mock whose access tokens live 2 seconds."""
    provider = ThreadProvider(token_max_age=2)
    for sub, claims in USERS.items():
        provider.set_user(sub, **claims)
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def idp_process() -> Iterator[ProcessProvider]:
    """The provider as its own process: ``python -m oidc_provider_mock -n true``."""
    provider = ProcessProvider("-n", "true", "--user-claims",
                               '{"sub": "dora", "email": "dora@example.org", "name": "Dora", "groups": ["ops"]}')
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def strict_idp() -> Iterator[StrictProvider]:
    """panva's oidc-provider (npm, OpenID Certified) as its own Node process: the strict provider."""
    require_strict()
    provider = StrictProvider(strict_config())
    yield provider
    provider.stop()


@pytest.fixture(params=["mock", "strict"])
def any_idp(request: pytest.FixtureRequest) -> IdP:
    """The test runs once against oidc-provider-mock (behind a revoking proxy) and once against
    the strict oidc-provider (see tests/oidc_matrix.py)."""
    if request.param == "mock":
        return MockIdP(request.getfixturevalue("idp"), request.getfixturevalue("proxy"))
    return StrictIdP(request.getfixturevalue("strict_idp"))


@pytest.fixture
def proxy(idp: ThreadProvider) -> Iterator[TamperingProxy]:
    front = TamperingProxy(idp)
    yield front
    front.stop()


@pytest.fixture
def make_app() -> Callable[..., tuple[Dash, OIDCAuth]]:
    """``make_app(provider, **oidc_options)``: an app with one provider called ``idp``.

    ``provider`` may be an :class:`oidc_matrix.IdP` (``any_idp``), whose ``register``
    arguments come first (``register=`` overrides them).

    The client authenticates with ``client_secret_basic`` (authlib's default):
    oidc-provider-mock accepts ``client_secret_post`` for the code exchange
    but only Basic for refresh.
    """

    def make(provider: Any, name: str = "idp", dash_kwargs: dict[str, Any] | None = None,
             register: dict[str, Any] | None = None, **options: Any) -> tuple[Dash, OIDCAuth]:
        app = build_app(**(dash_kwargs or {}))
        options.setdefault("secret_key", SECRET)
        auth = OIDCAuth(app, **options)
        if provider is not None:
            settings = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                        **getattr(provider, "register", {}), **(register or {})}
            auth.register_provider(name, server_metadata_url=provider.metadata_url, **settings)
        return app, auth

    return make


@pytest.fixture
def clock() -> Clock:
    return Clock()
