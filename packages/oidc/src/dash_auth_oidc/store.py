"""Where a login's tokens live: never readable by page scripts, never in the clear.

The default, :class:`EncryptedSessionTokenStore`, keeps only what the app
needs later (the refresh token, the ID token for RP-initiated logout, and
the access token only when asked for) compressed and encrypted with
AES-GCM inside the signed, ``HttpOnly`` session cookie: it works with any
number of workers and needs no server. :class:`MemoryTokenStore` keeps them
in the process and puts only a random handle in the session (one process
only). Write your own :class:`TokenStore` for Redis or a database.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import json
import logging
import os
import secrets
import threading
import zlib
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger("dash_auth.oidc")

#: The session key holding the tokens (or the handle to them).
TOKENS_KEY = "_oidc_tokens"

Session = MutableMapping[str, Any]


class TokenStore(abc.ABC):
    """Keeps one login's tokens, given the session they belong to."""

    @abc.abstractmethod
    def save(self, session: Session, tokens: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def load(self, session: Session) -> dict[str, Any] | None:
        """The tokens saved for this session, or ``None`` (missing, tampered with, expired)."""

    @abc.abstractmethod
    def clear(self, session: Session) -> None: ...


class EncryptedSessionTokenStore(TokenStore):
    """Tokens encrypted (AES-256-GCM, key derived from ``secret``) inside the session cookie."""

    _VERSION = b"\x01"

    def __init__(self, secret: str | bytes, context: str = "dash-auth-oidc tokens") -> None:
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"dash-auth-oidc", info=context.encode()).derive(raw)
        self._aead = AESGCM(key)

    def save(self, session: Session, tokens: dict[str, Any]) -> None:
        plain = zlib.compress(json.dumps(tokens, separators=(",", ":")).encode(), 9)
        nonce = os.urandom(12)
        sealed = self._VERSION + nonce + self._aead.encrypt(nonce, plain, self._VERSION)
        session[TOKENS_KEY] = base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def load(self, session: Session) -> dict[str, Any] | None:
        value = session.get(TOKENS_KEY)
        if not isinstance(value, str) or not value:
            return None
        try:
            sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            if sealed[:1] != self._VERSION or len(sealed) < 30:
                raise ValueError("unknown token blob version")
            plain = self._aead.decrypt(sealed[1:13], sealed[13:], self._VERSION)
            tokens = json.loads(zlib.decompress(plain))
        except (InvalidTag, ValueError, zlib.error, UnicodeError, RecursionError) as exc:
            log.warning("stored OIDC tokens could not be decrypted (%s); treating them as absent", type(exc).__name__)
            return None
        return tokens if isinstance(tokens, dict) else None

    def clear(self, session: Session) -> None:
        session.pop(TOKENS_KEY, None)


class MemoryTokenStore(TokenStore):
    """Tokens in this process's memory; the session holds a random handle. One process only."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(handle: str) -> str:
        return hashlib.sha256(handle.encode()).hexdigest()

    def save(self, session: Session, tokens: dict[str, Any]) -> None:
        handle = session.get(TOKENS_KEY)
        if not isinstance(handle, str) or len(handle) < 32:
            handle = secrets.token_urlsafe(32)
            session[TOKENS_KEY] = handle
        with self._lock:
            self._data[self._key(handle)] = dict(tokens)
            self._data.move_to_end(self._key(handle))
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def load(self, session: Session) -> dict[str, Any] | None:
        handle = session.get(TOKENS_KEY)
        if not isinstance(handle, str):
            return None
        with self._lock:
            tokens = self._data.get(self._key(handle))
        return dict(tokens) if tokens is not None else None

    def clear(self, session: Session) -> None:
        handle = session.pop(TOKENS_KEY, None)
        if isinstance(handle, str):
            with self._lock:
                self._data.pop(self._key(handle), None)
