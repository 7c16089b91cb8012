"""Signed tokens over the app's secret, for plugins: ``auth.sign`` and ``auth.unsign``.

A plugin that hands the browser a value it must get back unchanged (an
invitation, a one-time link, a "remember this device" mark) signs it here
instead of writing its own HMAC. Tokens carry a timestamp (``max_age``) and
a purpose (``salt``); the key is derived from the app's ``secret_key`` and
the purpose, so the session cookie's signature is never reused.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

_PREFIX = "dash_auth.plugin:"


def _serializer(secret: str | bytes, salt: str) -> URLSafeTimedSerializer:
    if not isinstance(salt, str) or not salt:
        raise ValueError("sign/unsign need a salt naming the purpose, e.g. 'my-plugin.invite'")
    return URLSafeTimedSerializer(secret, salt=_PREFIX + salt)


def sign(secret: str | bytes, value: Any, salt: str) -> str:
    """``value`` (JSON-serialisable) signed with ``secret`` for the purpose ``salt``."""
    return _serializer(secret, salt).dumps(value)


def unsign(secret: str | bytes, token: Any, salt: str, max_age: float | None = None) -> Any:
    """The value signed into ``token``; ``None`` if forged, malformed, of another purpose or too old."""
    serializer = _serializer(secret, salt)
    if not isinstance(token, (str, bytes)) or not token or len(token) > 65536:
        return None
    try:
        return serializer.loads(token, max_age=None if max_age is None else int(max_age))
    except (BadData, ValueError, TypeError):
        return None


def derive_key(secret: str | bytes, purpose: str, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) of ``secret``, with ``purpose`` as the info: one key per purpose."""
    if not isinstance(purpose, str) or not purpose:
        raise ValueError("derive_key needs a purpose, e.g. 'my-plugin.tokens'")
    if not 16 <= length <= 255 * 32:
        raise ValueError("derive_key makes keys of 16 to 8160 bytes")
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    prk = hmac.new(b"dash_auth.derive_key", raw, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + (_PREFIX + purpose).encode() + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]
