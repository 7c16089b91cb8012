"""Login throttling: slow down password guessing on the login form.

Failures are counted per username and per client address in a bounded
in-memory table (one process). After ``max_failures`` within ``window``
seconds further attempts for that key are refused for ``lockout`` seconds,
without checking the password, so a guesser learns nothing and burns no
hashing time. Successful logins clear the username's count.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class LoginThrottle:
    def __init__(self, max_failures: int = 5, window: float = 300.0, lockout: float = 60.0,
                 max_keys: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_keys = max_keys
        self._entries: OrderedDict[str, tuple[int, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, *keys: str, now: float | None = None) -> float:
        """Seconds to wait before another attempt for any of ``keys`` (0 if allowed)."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None and entry[2] > now:
                    wait = max(wait, entry[2] - now)
        return wait

    def failure(self, *keys: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                count, first, locked_until = self._entries.pop(key, (0, now, 0.0))
                if now - first > self.window:
                    count, first = 0, now
                count += 1
                if count >= self.max_failures:
                    locked_until = now + self.lockout
                    count, first = 0, now
                self._entries[key] = (count, first, locked_until)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)

    def success(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
