"""The shared state of one process: what :class:`~.store.SharedState` is without a store.

Revocation marks and throttle counters live in this process only. With
several workers or instances, each has its own: a revocation made in one
worker is not seen by the others, and a password guesser's failures are
counted per worker. The README's sessions section says so; configure a
session store (``session_store="redis://..."``) to share them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from .store import SharedState

#: Counters and locks kept at most (the oldest are dropped first, counts before locks).
MAX_KEYS = 10_000


class LocalState(SharedState):
    """Marks and counters in this process's memory, bounded."""

    shared = False

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._max_keys = max_keys
        # key -> (value, expires at) for counters; key -> locked until for locks
        self._counters: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._locks: OrderedDict[str, float] = OrderedDict()
        self._mark_expiry: dict[str, float] = {}

    def revoke(self, user_id: str, at: float, keep: float) -> None:
        now = time.time()
        with self._lock:
            marks = dict(self.marks)  # readers see either the old dict or the new one
            marks[user_id] = max(at, marks.get(user_id, 0.0))
            self._mark_expiry[user_id] = now + keep
            for user, until in list(self._mark_expiry.items()):
                if until < now:
                    marks.pop(user, None)
                    del self._mark_expiry[user]
            self.marks = marks

    def incr(self, keys: Iterable[str], window: float) -> list[int]:
        now = time.monotonic()
        values = []
        with self._lock:
            for key in keys:
                value, expires = self._counters.pop(key, (0, 0.0))
                if expires <= now:
                    value, expires = 0, now + window
                self._counters[key] = (value + 1, expires)
                values.append(value + 1)
            while len(self._counters) > self._max_keys:
                self._counters.popitem(last=False)
        return values

    def decr(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                found = self._counters.get(key)
                if found is not None and found[0] > 0:
                    self._counters[key] = (found[0] - 1, found[1])

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._counters.pop(key, None)

    def lock(self, key: str, seconds: float) -> None:
        with self._lock:
            self._locks.pop(key, None)
            self._locks[key] = time.monotonic() + seconds
            while len(self._locks) > self._max_keys:
                self._locks.popitem(last=False)

    def locked_for(self, keys: Iterable[str]) -> float:
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                until = self._locks.get(key)
                if until is not None:
                    if until > now:
                        wait = max(wait, until - now)
                    else:
                        del self._locks[key]
        return wait
