"""What one provider registration holds (:meth:`OIDCAuth.register_provider`'s options, checked)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import urlsplit

DEFAULT_SCOPE = "openid email profile"
#: ``client_kwargs`` that configure the requests made (not the OAuth client).
REQUEST_KWARGS = ("timeout", "verify", "cert", "proxies")


def http_url(value: Any) -> TypeGuard[str]:
    """Whether ``value`` is an absolute http(s) URL (as every endpoint a provider names must be)."""
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
