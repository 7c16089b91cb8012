"""The app's secret: checked, generated with a warning when missing, and what plugins sign with.

:class:`AppSecret` is one part of :class:`~dash_auth_core.AuthStack`: it
keeps the ``secret_key`` (or the server's own), has the adapter set up
sessions with it, and gives plugins :meth:`~AppSecret.sign`,
:meth:`~AppSecret.unsign` and :meth:`~AppSecret.derive_key`.
"""

from __future__ import annotations

import secrets
import warnings
from typing import TYPE_CHECKING, Any

from . import signing
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .backends import BackendAdapter

MIN_SECRET_LENGTH = 16


def check_secret(secret: Any) -> str | bytes:
    if not isinstance(secret, (str, bytes)):
        raise ConfigurationError("secret_key must be a string or bytes")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"secret_key is too short ({len(secret)} characters); use at least "
            f"{MIN_SECRET_LENGTH} random characters, e.g. secrets.token_urlsafe(32)"
        )
    return secret


class AppSecret:
    """The stack's part that holds the app's secret and signs with it."""

    adapter: BackendAdapter

    def __init__(self) -> None:
        self._secret: str | bytes | None = None
        self._secret_generated = False
        super().__init__()

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
