"""Session records: JSON, size-limited, checked on the way in and out.

A record is what the store holds for one session id: the session's data (a
JSON object) plus the user it belongs to, so that a revocation can find every
session of a user. Records are JSON, never pickle: a record someone wrote into
the store by hand is data, not code. A record that is not valid JSON, not the
expected shape, or larger than ``max_bytes`` is refused (logged, and the
session is treated as unknown), never half-read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("dash_auth")

#: Largest record accepted (and written), in bytes of JSON.
MAX_RECORD_BYTES = 64 * 1024
_VERSION = 1


class RecordTooLarge(ValueError):
    """A session grew past the store's record size limit."""


def encode(data: Mapping[str, Any], user: str | None, max_bytes: int = MAX_RECORD_BYTES,
           ends: float | None = None) -> bytes:
    """The record for ``data`` (the session) of ``user``; raises :class:`RecordTooLarge` or ``TypeError``.

    It notes when it was written (``w``): its expiry was renewed then; and, for an id rotated
    out at a change of privileges, when it ends whatever renews it (``x``, seconds since the epoch).
    """
    record: dict[str, Any] = {"v": _VERSION, "u": user, "w": time.time(), "d": dict(data)}
    if ends is not None:
        record["x"] = ends
    raw = json.dumps(record, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(raw) > max_bytes:
        raise RecordTooLarge(f"the session is {len(raw)} bytes of JSON; the store takes at most {max_bytes}")
    return raw


def decode(raw: bytes | str | None, max_bytes: int = MAX_RECORD_BYTES) -> dict[str, Any] | None:
    """The session data in a record; ``None`` if absent, oversized or malformed (logged)."""
    return decode_full(raw, max_bytes)[0]


def decode_full(raw: bytes | str | None,
                max_bytes: int = MAX_RECORD_BYTES) -> tuple[dict[str, Any] | None, float, float | None]:
    """The session data in a record, when it was written (0 if unknown), and when it ends
    whatever renews it (``None``: when its expiry says)."""
    if raw is None:
        return None, 0.0, None
    if len(raw) > max_bytes:
        log.error("a session record of %d bytes was refused (the limit is %d)", len(raw), max_bytes)
        return None, 0.0, None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        log.error("a session record that is not valid JSON was refused")
        return None, 0.0, None
    data = record.get("d") if type(record) is dict and record.get("v") == _VERSION else None
    if type(data) is not dict:
        log.error("a session record of an unknown shape was refused")
        return None, 0.0, None
    written, ends = record.get("w"), record.get("x")
    return (data, float(written) if _is_number(written) else 0.0, float(ends) if _is_number(ends) else None)


def with_end(raw: bytes, ends: float, max_bytes: int = MAX_RECORD_BYTES) -> bytes | None:
    """Record ``raw`` again, ending at ``ends`` whatever renews it (``None`` if ``raw`` is no record)."""
    data, _written, _ends = decode_full(raw, max_bytes)
    if data is None:
        return None
    return encode(data, user_of(data), max_bytes, ends)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def user_of(data: Mapping[str, Any]) -> str | None:
    """The id of the user a session's data is signed in as (``session["user"]["id"]``), if any."""
    user = data.get("user")
    if isinstance(user, Mapping):
        ident = user.get("id")
        if isinstance(ident, str) and ident:
            return ident
    return None
