"""Session ids: what the cookie carries when sessions live in a server-side store.

A session id is 32 random bytes (256 bits) from :mod:`secrets`, URL-safe
base64 without padding, after a one-letter kind: ``s`` for a session that ends
with the browser, ``r`` for a remembered one (remember-me). The kind is part of
the id, so a client that changes it names another, unknown session.

The id is **not signed**: 256 random bits cannot be guessed, and a signature
would tie every session to the current ``secret_key`` (a key rotation would
sign everybody out). Its shape is checked before any look-up, so garbage and
forged ids never reach the store. The store keys each record by the id's
SHA-256, not by the id: a copy of the store's data names no usable cookie.
"""

from __future__ import annotations

import hashlib
import re
import secrets

#: The id of a session that ends with the browser (a plain login, an anonymous visitor).
BROWSER = "s"
#: The id of a remembered session (remember-me: a persistent cookie).
REMEMBERED = "r"
_RANDOM_LENGTH = 43  # token_urlsafe(32)
ID_LENGTH = 1 + _RANDOM_LENGTH
#: The whole shape: the kind, then the random part's URL-safe base64 (``fullmatch``: nothing around it).
_SHAPE = re.compile(f"[{BROWSER}{REMEMBERED}][A-Za-z0-9_-]{{{_RANDOM_LENGTH}}}")


def new_id(remembered: bool = False) -> str:
    """A fresh random session id (256 bits)."""
    return (REMEMBERED if remembered else BROWSER) + secrets.token_urlsafe(32)


def well_formed(value: object) -> bool:
    """Whether ``value`` has the shape of an id this module makes (nothing is looked up)."""
    # (One C call: every request with a session cookie asks.)
    return isinstance(value, str) and _SHAPE.fullmatch(value) is not None


def is_remembered(session_id: str) -> bool:
    return session_id[:1] == REMEMBERED


def record_key(session_id: str) -> str:
    """The store's key for a session's record: the id's SHA-256, never the id itself."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def user_key(user_id: str) -> str:
    """The store's key for one user's index of sessions (user ids may be long or odd)."""
    return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()
