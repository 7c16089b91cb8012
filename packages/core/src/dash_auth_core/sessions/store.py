"""The two interfaces a session store provides: sessions, and the security state shared by every worker.

:class:`SessionStore` keeps server-side sessions. Subclasses implement five
small operations on raw records (bytes) under opaque keys; this base class
turns session ids into keys (see :mod:`.ids`) and records into session data
(JSON, see :mod:`.records`). The async variants default to running the sync
ones in a worker thread; a store with an asyncio client overrides them (the
Redis store does), so Quart and FastAPI never block their event loop on it.

:class:`SharedState` is the security state that must be the same on every
worker and instance: revocation marks ("this user's logins from before T are
void") and counters with an expiry (the login throttle). Without a store the
stack uses :class:`~.local.LocalState`, which is per process.

Every operation that cannot reach the store raises :class:`StoreUnavailable`
(a 503 refusal): the request fails closed, and nothing is deleted because of
an outage.

Adding a store: subclass :class:`SessionStore`, implement ``get``, ``put``,
``remove``, ``remove_user`` and ``shared_state`` (and the ``a...`` variants if
the backend has an asyncio client), and pass an instance as
``session_store=``. ``docs/deployment.md`` shows a complete one (its tests
run the session flows against it).
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import RequestRefused
from . import ids, records


class StoreUnavailable(RequestRefused):
    """The session store cannot be reached or answered too slowly: a 503, and the request is refused."""

    default_status = 503

    def __init__(self, message: str = "the session store is unavailable; try again shortly") -> None:
        super().__init__(message, 503, retry_after=2)


class SharedState(abc.ABC):
    """Security state shared by every worker and instance that use the same store.

    ``marks`` is this process's view of the revocation marks (user id ->
    seconds since the epoch): a login of that user that started at or before
    the mark is void. :meth:`refresh` brings the view up to date (the adapters
    call it once per request that carries credentials, in the same round trip
    as the session's record where they can).
    """

    #: Whether other processes see the same state (``False``: per process).
    shared: bool = False

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def revoked(self, user_id: str, auth_time: float) -> bool:
        """Whether a login of ``user_id`` made at ``auth_time`` was revoked since."""
        marks = self.marks
        if not marks:
            return False
        mark = marks.get(user_id)
        return mark is not None and auth_time <= mark

    @abc.abstractmethod
    def revoke(self, user_id: str, at: float, keep: float) -> None:
        """Void ``user_id``'s logins made at or before ``at``; the mark is kept ``keep`` seconds."""

    def refresh(self) -> None:  # noqa: B027 - optional: nothing to do in one process
        """Bring ``marks`` up to date with changes made elsewhere (nothing to do in one process)."""

    async def arefresh(self) -> None:
        self.refresh()

    # -- counters with an expiry (the login throttle) -------------------------

    @abc.abstractmethod
    def incr(self, keys: Iterable[str], window: float) -> list[int]:
        """Add one to each counter and return the new values; a new counter expires after ``window`` s."""

    @abc.abstractmethod
    def decr(self, keys: Iterable[str]) -> None:
        """Take one from each counter that exists and is above zero."""

    @abc.abstractmethod
    def delete(self, keys: Iterable[str]) -> None:
        """Drop these counters (their locks, if any, run out by themselves)."""

    @abc.abstractmethod
    def lock(self, key: str, seconds: float) -> None:
        """Mark ``key`` locked for ``seconds``."""

    @abc.abstractmethod
    def locked_for(self, keys: Iterable[str]) -> float:
        """The longest time any of ``keys`` stays locked (0 if none is)."""


class SessionStore(abc.ABC):
    """Server-side sessions: records under opaque keys, with an expiry.

    Implement the raw operations; callers use :meth:`load`, :meth:`save`,
    :meth:`delete` and :meth:`delete_user` (and their ``a...`` variants).
    """

    #: Largest record written or accepted, in bytes of JSON.
    max_record_bytes: int = records.MAX_RECORD_BYTES

    # -- what a backend implements ---------------------------------------------

    @abc.abstractmethod
    def get(self, key: str) -> bytes | None:
        """The record under ``key`` (``None`` if none). A read only: expiries are renewed by :meth:`put`."""

    @abc.abstractmethod
    def put(self, key: str, record: bytes, ttl: float, *, new: bool, user: str | None,
            drop: str | None = None, drop_after: float = 0.0) -> bool:
        """Store ``record`` under ``key`` for ``ttl`` seconds; ``False`` if it was not stored.

        ``new=True``: only if no record has that key (a fresh id). ``new=False``:
        only if one still has (a session revoked or signed out elsewhere meanwhile
        is not brought back). ``user`` adds the key to that user's index;
        ``drop`` is the key of the record this one replaces (a rotated id), removed
        too, at once or, with ``drop_after``, that many seconds later (a store that
        cannot delay may remove it at once).
        """

    @abc.abstractmethod
    def remove(self, key: str, user: str | None) -> None:
        """Delete the record under ``key`` (and its entry in ``user``'s index)."""

    @abc.abstractmethod
    def remove_user(self, user: str) -> int:
        """Delete every record in ``user``'s index; the number deleted."""

    @abc.abstractmethod
    def shared_state(self) -> SharedState:
        """The :class:`SharedState` kept in this store (one object per store)."""

    async def aget(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self.get, key)

    async def aput(self, key: str, record: bytes, ttl: float, *, new: bool, user: str | None,
                   drop: str | None = None, drop_after: float = 0.0) -> bool:
        return await asyncio.to_thread(
            lambda: self.put(key, record, ttl, new=new, user=user, drop=drop, drop_after=drop_after))

    async def aremove(self, key: str, user: str | None) -> None:
        await asyncio.to_thread(self.remove, key, user)

    def begin(self, session_id: str | None) -> bytes | None:
        """A request starts: refresh the shared state and read the session's record.

        Stores that can (Redis) do both in one round trip, and one command.
        """
        self.shared_state().refresh()
        return None if session_id is None else self.get(ids.record_key(session_id))

    async def abegin(self, session_id: str | None) -> bytes | None:
        await self.shared_state().arefresh()
        return None if session_id is None else await self.aget(ids.record_key(session_id))

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections (tests; a server just exits)."""

    # -- what callers use ------------------------------------------------------

    def load(self, session_id: str) -> dict[str, Any] | None:
        """The data of session ``session_id``; ``None`` if unknown, expired, oversized or corrupted."""
        if not ids.well_formed(session_id):
            return None
        return records.decode(self.get(ids.record_key(session_id)), self.max_record_bytes)

    def save(self, session_id: str, data: Mapping[str, Any], ttl: float, *, new: bool = False,
             replaces: str | None = None) -> bool:
        """Write session ``session_id`` (see :meth:`put`); ``replaces`` is the id it rotates out."""
        record = records.encode(data, records.user_of(data), self.max_record_bytes)
        drop = ids.record_key(replaces) if replaces else None
        return self.put(ids.record_key(session_id), record, ttl, new=new, user=records.user_of(data), drop=drop)

    def delete(self, session_id: str, user: str | None = None) -> None:
        self.remove(ids.record_key(session_id), user)

    def delete_user(self, user_id: str) -> int:
        """End every session of ``user_id`` kept here."""
        return self.remove_user(user_id)


def expiry_in(seconds: float | None, default: float) -> int:
    """A whole, positive number of seconds for a store's expiry."""
    value = seconds or default
    return max(1, int(value + 0.999))


def now() -> float:
    return time.time()
