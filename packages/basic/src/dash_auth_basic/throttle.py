"""Login throttling: slow down password guessing through the header and the form.

Failures are counted in a bounded in-memory table (one process), or, when the
app has a session store, in the store (every worker and instance counts
together; see ``_check_shared``), under two keys per attempt:

* the username at the client's address: after ``max_failures`` within
  ``window`` seconds, that username is refused from that address for
  ``lockout`` seconds, without checking the password, so a guesser learns
  nothing and burns no hashing time. Nobody can lock a user out from another
  address, and a success clears this count;
* the address alone, with the larger ``max_address_failures``: one client
  cannot try many usernames either. Successes do not clear it.

IPv6 addresses count by their /64 network (one host usually holds a whole
one). Checks of one username at one address run one at a time, so parallel
guesses cannot all slip in before the first failure is counted. The address
behind a proxy is only the client's when a proxy-fix is set up (see
docs/backends.md); without one, every client shares the proxy's address and
its larger limit.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from .credentials import nfc

T = TypeVar("T")

#: How many locked entries one eviction may move aside to drop an unlocked one instead.
_EVICTION_SCAN = 1024


class SharedCounters(Protocol):
    """Counters with an expiry and locks kept by a session store (``auth.shared_state``)."""

    def incr(self, keys: Iterable[str], window: float) -> list[int]: ...
    def decr(self, keys: Iterable[str]) -> None: ...
    def delete(self, keys: Iterable[str]) -> None: ...
    def lock(self, key: str, seconds: float) -> None: ...
    def locked_for(self, keys: Iterable[str]) -> float: ...


class Throttled(Exception):
    """Too many failures: try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed sign-ins; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


def address_bucket(address: str | None) -> str:
    """The unit failures are counted by: an IPv4 address, or an IPv6 address's /64."""
    if not address:
        return "-"
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginThrottle:
    def __init__(self, max_failures: int = 5, window: float = 300.0, lockout: float = 60.0,
                 max_keys: int = 10_000, max_address_failures: int = 50) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_keys = max_keys
        self.max_address_failures = max_address_failures
        # key -> (failures in the window, window start, locked until)
        self._entries: OrderedDict[str, tuple[int, float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._checking: dict[str, _Slot] = {}

    @staticmethod
    def keys(username: str, address: str | None) -> tuple[str, str]:
        """The two keys of an attempt: the username at the address, and the address."""
        where = address_bucket(address)
        return f"user:{nfc(username).casefold()[:256]}@{where}", f"addr:{where}"

    def check(
        self, username: str, address: str | None, verify: Callable[[], T | None], *, count_address: bool = True,
        shared: SharedCounters | None = None,
    ) -> T | None:
        """``verify()`` unless throttled (then :class:`Throttled`); its ``None`` counts as a failure.

        ``count_address=False`` leaves the address's count alone (a browser signed in
        as ``username`` proving its password again): others' failures at a shared
        address do not lock out a user who already signed in there. ``shared``
        (the session store's shared state) counts in the store instead of in
        this process, so every worker and instance shares the limits.
        """
        if shared is not None:
            return self._check_shared(shared, username, address, verify, count_address)
        user_key, address_key = self.keys(username, address)
        counted = address_key if count_address else None
        with self._one_at_a_time(user_key):
            wait = self._reserve(user_key, counted, time.monotonic())
            if wait:
                raise Throttled(wait)
            try:
                result = verify()
            except BaseException:
                self._give_back(counted)
                raise
            now = time.monotonic()
            if result is None:
                self._count(user_key, self.max_failures, now)
                self._settle(counted, now)
            else:
                self._give_back(counted)
                self.success(user_key)
            return result

    def _check_shared(
        self, shared: SharedCounters, username: str, address: str | None, verify: Callable[[], T | None],
        count_address: bool,
    ) -> T | None:
        """:meth:`check` with counts and locks in the store, shared by every worker.

        Each attempt is counted before the check, for the username at the address
        and for the address, so parallel guesses on several workers cannot pass
        the limits either: an attempt beyond them waits a second (429). A failure
        at a limit locks that key for ``lockout`` seconds; a success clears the
        username's count and gives the address's back.
        """
        user_key, address_key = self.keys(username, address)
        keys = [user_key, address_key] if count_address else [user_key]
        limits = [self.max_failures, self.max_address_failures]
        with self._one_at_a_time(user_key):  # this process's checks of one key take turns
            wait = shared.locked_for(keys)
            if wait:
                raise Throttled(wait)
            counts = shared.incr(keys, self.window)
            if any(count > limit for count, limit in zip(counts, limits, strict=False)):
                shared.decr(keys)  # attempts under way elsewhere fill the allowance
                raise Throttled(1.0)
            try:
                result = verify()
            except BaseException:
                shared.decr(keys)
                raise
            if result is None:
                for key, count, limit in zip(keys, counts, limits, strict=False):
                    if count >= limit:
                        shared.lock(key, self.lockout)
                        shared.delete([key])
            else:
                shared.delete([user_key])
                if count_address:
                    shared.decr([address_key])
            return result

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
        """Count a failure for each of ``keys`` (each against ``max_failures``)."""
        now = time.monotonic() if now is None else now
        for key in keys:
            self._count(key, self.max_failures, now)

    def success(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    # -- internals ----------------------------------------------------------

    def _reserve(self, user_key: str, address_key: str | None, now: float) -> float:
        """The wait for an attempt, or 0 after counting it against the address.

        Counted before the check, in one step with the look at the lockouts,
        so parallel guesses under many usernames cannot pass the address's
        limit either. Only a failure can lock the address (see ``_settle``); a
        success gives its count back, and while attempts under way fill the
        allowance, more wait a second.
        """
        with self._lock:
            wait = 0.0
            for key in (user_key, address_key):
                entry = self._entries.get(key) if key is not None else None
                if entry is not None and entry[2] > now:
                    wait = max(wait, entry[2] - now)
            if wait or address_key is None:
                return wait
            count, first, locked_until = self._entries.pop(address_key, (0, now, 0.0))
            if now - first > self.window:
                count, first = 0, now
            if count >= self.max_address_failures:
                self._entries[address_key] = (count, first, locked_until)
                return 1.0
            self._entries[address_key] = (count + 1, first, locked_until)
            self._evict(now)
            return 0.0

    def _settle(self, address_key: str | None, now: float) -> None:
        """A failed attempt stays counted against the address; at the limit, the address waits."""
        if address_key is None:
            return
        with self._lock:
            entry = self._entries.get(address_key)
            if entry is not None and entry[0] >= self.max_address_failures:
                self._entries[address_key] = (0, now, now + self.lockout)

    def _count(self, key: str, limit: int, now: float) -> None:
        with self._lock:
            self._count_locked(key, limit, now)

    def _count_locked(self, key: str, limit: int, now: float) -> None:
        count, first, locked_until = self._entries.pop(key, (0, now, 0.0))
        if now - first > self.window:
            count, first = 0, now
        count += 1
        if count >= limit:
            locked_until = now + self.lockout
            count, first = 0, now
        self._entries[key] = (count, first, locked_until)
        self._evict(now)

    def _give_back(self, key: str | None) -> None:
        if key is None:
            return
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > 0:
                self._entries[key] = (entry[0] - 1, entry[1], entry[2])

    def _evict(self, now: float) -> None:
        """Keep the table bounded, dropping counts before lockouts (held: ``self._lock``)."""
        entries = self._entries
        moved = 0
        while len(entries) > self.max_keys:
            key, entry = next(iter(entries.items()))
            if entry[2] > now and moved < _EVICTION_SCAN:
                entries.move_to_end(key)  # a lockout outlives counts that flood the table
                moved += 1
                continue
            del entries[key]

    @contextlib.contextmanager
    def _one_at_a_time(self, key: str) -> Iterator[None]:
        with self._lock:
            slot = self._checking.get(key)
            if slot is None:
                slot = self._checking[key] = _Slot()
            slot.users += 1
        try:
            with slot.lock:
                yield
        finally:
            with self._lock:
                slot.users -= 1
                if not slot.users:
                    self._checking.pop(key, None)


class _Slot:
    """The lock one key's checks take turns on, and how many want it (dropped at none)."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
