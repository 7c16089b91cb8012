"""Clerk's keys and URLs: read from arguments or the environment, checked at start-up.

Clerk's own SDKs read ``CLERK_SECRET_KEY``, ``CLERK_PUBLISHABLE_KEY``,
``CLERK_JWT_KEY`` and ``CLERK_API_URL``; the seed library added
``CLERK_DOMAIN`` and ``CLERK_ALLOWED_PARTIES``. A key that is missing or
malformed is a :class:`~dash_auth_core.ConfigurationError` naming the
variable, so an app never starts half-configured and fails at the first
sign-in instead.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from dash_auth_core import ConfigurationError

DEFAULT_API_URL = "https://api.clerk.com"
#: clerk-js from the instance's own Frontend API (what Clerk's quick-starts load).
CLERK_JS_PATH = "/npm/@clerk/clerk-js@5/dist/clerk.browser.js"

_KEY_BODY = re.compile(r"^[A-Za-z0-9_\-+/=]+$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _text(value: object, variable: str, argument: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{argument} ({variable}) must be a string")
    value = value.strip()
    return value or None


def check_secret_key(value: str | None, argument: str = "clerk_secret_key") -> str:
    """A Clerk secret key (``sk_test_...``/``sk_live_...``)."""
    if value is None:
        raise ConfigurationError(
            f"CLERK_SECRET_KEY is not set: pass {argument}=... or set the environment variable "
            "(Clerk dashboard > API keys > Secret keys)"
        )
    if not value.startswith(("sk_test_", "sk_live_")) or len(value) < 16 or not _KEY_BODY.match(value):
        raise ConfigurationError(
            "CLERK_SECRET_KEY is malformed: a Clerk secret key starts with sk_test_ or sk_live_ "
            "(did you pass the app's session secret as the Clerk key?)"
        )
    return value


def frontend_api_host(publishable_key: str | None) -> str:
    """The Frontend API host a publishable key names: ``pk_test_``/``pk_live_`` + base64(host + ``$``)."""
    if publishable_key is None:
        raise ConfigurationError(
            "CLERK_PUBLISHABLE_KEY is not set: pass publishable_key=... or set the environment variable "
            "(Clerk dashboard > API keys > Publishable key)"
        )
    prefix = "pk_test_" if publishable_key.startswith("pk_test_") else "pk_live_"
    body = publishable_key[len(prefix):]
    if not publishable_key.startswith(prefix) or not body:
        raise ConfigurationError("CLERK_PUBLISHABLE_KEY is malformed: it must start with pk_test_ or pk_live_")
    try:
        decoded = base64.b64decode(body + "=" * (-len(body) % 4), validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ConfigurationError(
            "CLERK_PUBLISHABLE_KEY is malformed: after pk_test_/pk_live_ it must be base64 of the "
            "Frontend API host followed by '$'"
        ) from None
    if not decoded.endswith("$") or not _HOST.match(decoded[:-1]):
        raise ConfigurationError(
            "CLERK_PUBLISHABLE_KEY is malformed: it does not encode a Frontend API host followed by '$'"
        )
    return decoded[:-1]


def check_jwt_key(value: str | None) -> str | None:
    """Clerk's PEM public key (dashboard > API keys > JWT public key), loadable as an RSA key."""
    if value is None:
        return None
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    pem = value.replace("\\n", "\n")  # an environment variable written on one line
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise ConfigurationError(
            "CLERK_JWT_KEY is malformed: it must be the PEM public key from Clerk's dashboard "
            "(-----BEGIN PUBLIC KEY----- ...)"
        ) from None
    if not isinstance(key, RSAPublicKey):
        raise ConfigurationError("CLERK_JWT_KEY must be an RSA public key (Clerk signs session tokens with RS256)")
    return pem


def _check_url(value: str, variable: str, *, path_allowed: bool, query_allowed: bool = False) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment or (parts.query and not query_allowed):
        raise ConfigurationError(f"{variable} must be an http(s) URL (got {value!r})")
    if not path_allowed and parts.path not in ("", "/"):
        raise ConfigurationError(f"{variable} must be an origin without a path (got {value!r})")
    return value.rstrip("/")


def check_parties(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """The origins whose tokens are accepted (the ``azp`` claim); ``None``: not checked."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    parties = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigurationError("CLERK_ALLOWED_PARTIES must be origins (strings)")
        item = item.strip()
        if item:
            parties.append(_check_url(item, "CLERK_ALLOWED_PARTIES", path_allowed=False))
    if not parties:
        raise ConfigurationError("CLERK_ALLOWED_PARTIES is set but names no origin")
    return tuple(parties)


def _portal_host(frontend_host: str) -> str:
    """The Account Portal host Clerk pairs with a Frontend API host.

    Development: ``name.clerk.accounts.dev`` -> ``name.accounts.dev``;
    production: ``clerk.example.com`` -> ``accounts.example.com``.
    """
    if frontend_host.endswith(".clerk.accounts.dev"):
        return frontend_host[: -len(".clerk.accounts.dev")] + ".accounts.dev"
    if frontend_host.startswith("clerk."):
        return "accounts." + frontend_host[len("clerk."):]
    return "accounts." + frontend_host


def sign_in_url_for(domain: str | None, frontend_host: str) -> str:
    """The hosted sign-in page (Account Portal) from ``CLERK_DOMAIN``, else from the Frontend API host.

    ``CLERK_DOMAIN`` may be an URL (``https://accounts.example.com``, used as it
    is) or a bare domain (``example.com`` -> ``https://accounts.example.com``).
    """
    if domain:
        if "://" in domain:
            base = _check_url(domain, "CLERK_DOMAIN", path_allowed=True)
        elif _HOST.match(domain):
            base = "https://" + (domain if domain.startswith("accounts.") else "accounts." + domain)
        else:
            raise ConfigurationError(f"CLERK_DOMAIN must be a domain or an URL (got {domain!r})")
        return base if base.endswith("/sign-in") else base + "/sign-in"
    return f"https://{_portal_host(frontend_host)}/sign-in"


@dataclass(frozen=True)
class ClerkConfig:
    """The checked Clerk settings of one app."""

    secret_key: str
    publishable_key: str
    frontend_host: str
    api_url: str
    jwt_key: str | None
    allowed_parties: tuple[str, ...] | None
    sign_in_url: str
    clerk_js_url: str

    @property
    def issuer(self) -> str:
        """The ``iss`` of the instance's session tokens (its Frontend API origin)."""
        return "https://" + self.frontend_host


def load(
    *,
    secret_key: str | None = None,
    publishable_key: str | None = None,
    domain: str | None = None,
    allowed_parties: str | Iterable[str] | None = None,
    jwt_key: str | None = None,
    api_url: str | None = None,
    clerk_js_url: str | None = None,
    sign_in_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClerkConfig:
    """Arguments first, then the ``CLERK_*`` environment variables; everything checked."""
    env = os.environ if environ is None else environ

    def pick(value: object, variable: str, argument: str) -> str | None:
        given = _text(value, variable, argument)
        return given if given is not None else _text(env.get(variable), variable, argument)

    secret = check_secret_key(pick(secret_key, "CLERK_SECRET_KEY", "clerk_secret_key"))
    publishable = pick(publishable_key, "CLERK_PUBLISHABLE_KEY", "publishable_key")
    host = frontend_api_host(publishable)
    assert publishable is not None
    if secret.startswith("sk_live_") != publishable.startswith("pk_live_"):
        raise ConfigurationError(
            "CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY belong to different instances "
            "(one is a test key, the other a live key)"
        )
    parties_value = allowed_parties if allowed_parties is not None else env.get("CLERK_ALLOWED_PARTIES")
    api = pick(api_url, "CLERK_API_URL", "api_url") or DEFAULT_API_URL
    js = pick(clerk_js_url, "CLERK_JS_URL", "clerk_js_url")
    page = sign_in_url
    if page is not None:
        page = _check_url(page, "sign_in_url", path_allowed=True)
    return ClerkConfig(
        secret_key=secret,
        publishable_key=publishable,
        frontend_host=host,
        api_url=_check_url(api, "CLERK_API_URL", path_allowed=True),
        jwt_key=check_jwt_key(pick(jwt_key, "CLERK_JWT_KEY", "jwt_key")),
        allowed_parties=check_parties(parties_value or None),
        sign_in_url=page or sign_in_url_for(pick(domain, "CLERK_DOMAIN", "domain"), host),
        clerk_js_url=_check_url(js, "CLERK_JS_URL", path_allowed=True, query_allowed=True) if js else f"https://{host}{CLERK_JS_PATH}",
    )
