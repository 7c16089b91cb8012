"""Session records remembered in this process until Redis says they changed (client-side caching).

Redis 6 and later tell a connection that asks for it (``CLIENT TRACKING`` in
broadcasting mode) about every change, expiry or deletion of a key under
given prefixes. The Redis store remembers the session records and the
revocation epoch it read, per process, and forgets an entry as soon as
Redis reports a change to its key: a signed-in browser's next request then
costs no round trip, and a logout, a revocation or a new session id on any
instance is seen as soon as Redis's message reaches this process.

Nothing remembered is used unless it is known to be current:

* only while the tracking connection is up and Redis has answered it within
  :data:`STALE_AFTER` seconds (it is pinged when quiet). A Redis that is
  down, restarted or frozen empties the map, and requests go to Redis (and
  get its 503) until tracking is back;
* never while a message from Redis waits unhandled: each hit polls the
  tracking socket without reading it;
* an entry read while a change was reported is not kept (a generation
  count), and an entry ends at its key's own expiry (read with it);
* only records that exist are kept (made-up ids fill nothing), at most
  :data:`SIZE` entries; writes this process makes forget their keys at once.

A Redis without tracking (older than 6, or an ACL that refuses ``CLIENT``)
is logged once and served with a round trip per request, as before.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# Imported here, not in the tracking thread: a thread that imports while another holds the
# import lock is what Python 3.10's importlib handles worst.
from redis.exceptions import ResponseError

from .._private.redis import socket_of

log = logging.getLogger("dash_auth")

CHANNEL = "__redis__:invalidate"
#: Seconds the tracking connection may be quiet before it is pinged (and as long again for the answer).
PING_EVERY = 1.0
#: Seconds without a word from Redis after which nothing remembered is used.
STALE_AFTER = 3.0
#: Seconds between attempts to track again after the connection failed.
RETRY_AFTER = 1.0
#: Entries remembered at most (the map starts over when full).
SIZE = 10_000

_FOREVER = float("inf")
_monotonic = time.monotonic
_select = select.select
_live_maps: weakref.WeakSet[TrackedReads] = weakref.WeakSet()


class TrackingRefused(Exception):
    """Redis does not offer key tracking to this client (too old, or not allowed)."""


class TrackedReads:
    """Values of keys under ``prefixes`` read from Redis, kept until Redis reports a change.

    ``connect`` returns a new, unconnected redis-py ``Connection`` speaking RESP2
    (the tracking connection: its own thread reads it).
    """

    def __init__(self, connect: Callable[[], Any], prefixes: Sequence[str], size: int = SIZE) -> None:
        self._connect = connect
        self._prefixes = tuple(prefixes)
        self._size = size
        self._entries: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()
        #: Counts the changes reported (and reconnections): a read that spans one is not kept.
        self.generation = 0
        self._live = False
        self._reading = False
        self._heard = 0.0
        self._fds = (-1,)  # the tracking socket's descriptor, as select() takes it
        self._thread: threading.Thread | None = None
        self._closed = False
        self._refused = False
        _live_maps.add(self)

    @property
    def live(self) -> bool:
        """Whether Redis is tracking for this process now (what is remembered may be used)."""
        return self._live

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    # -- request threads ---------------------------------------------------------

    def lookup(self, keys: Sequence[str]) -> list[Any] | None:
        """The remembered values of ``keys``, if every one is remembered and known to be current."""
        if not self._live:
            if self._thread is None and not self._refused:
                self._start()
            return None
        # The socket first, then the thread's flag, then the entries: a report on the socket when
        # the lookup began is either still there, or being handled (flagged), or handled (forgotten).
        try:
            if _select(self._fds, (), (), 0)[0]:
                return None  # Redis said something not handled yet (or hung up): ask Redis
        except ValueError:  # a descriptor past select()'s limit (a busy process): poll instead
            if _waiting(self._fds[0]):
                return None
        except OSError:
            return None
        now = _monotonic()
        if self._reading or now - self._heard > STALE_AFTER:
            return None
        entries = self._entries
        if len(keys) == 2:  # a session's begin (the epoch and its record): the usual look-up, unrolled
            first, second = entries.get(keys[0]), entries.get(keys[1])
            if first is None or second is None or first[1] <= now or second[1] <= now:
                return None
            return [first[0], second[0]]
        values = []
        for key in keys:
            entry = entries.get(key)
            if entry is None or entry[1] <= now:
                return None
            values.append(entry[0])
        return values

    def keep(self, generation: int, items: Iterable[tuple[str, Any, float | None]]) -> None:
        """Remember ``(key, value, seconds it lives or None)`` read since ``generation`` was current."""
        if not self._live or generation != self.generation:
            return
        now = _monotonic()
        with self._lock:
            if not self._live or generation != self.generation:
                return
            entries = self._entries
            if len(entries) >= self._size:
                entries.clear()
            for key, value, seconds in items:
                entries[key] = (value, _FOREVER if seconds is None else now + seconds)

    def forget(self, keys: Iterable[str]) -> None:
        """This process changed ``keys``: forget them now (Redis's report follows)."""
        with self._lock:
            self.generation += 1
            for key in keys:
                self._entries.pop(key, None)

    def close(self) -> None:
        self._closed = True
        self._drop()

    # -- the tracking thread -------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=_track_while_alive, args=(weakref.ref(self),),
                                            name="dash-auth-redis-tracking", daemon=True)
            self._thread.start()

    def _drop(self) -> None:
        with self._lock:
            self._live = False
            self._entries.clear()
            self.generation += 1

    def _subscribe(self, connection: Any) -> None:
        try:
            connection.send_command("CLIENT", "ID")
            client_id = connection.read_response()
            command: list[Any] = ["CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST"]
            for prefix in self._prefixes:
                command += ["PREFIX", prefix]
            connection.send_command(*command)
            connection.read_response()
        except ResponseError as exc:  # an answer, not an outage: tracking is not offered to us
            raise TrackingRefused(str(exc)) from exc
        connection.send_command("SUBSCRIBE", CHANNEL)
        connection.read_response()
        sock = socket_of(connection)
        if sock is None:
            raise ConnectionError("the tracking connection has no socket")
        self._fds = (sock.fileno(),)
        self._heard = _monotonic()
        with self._lock:
            self._entries.clear()
            self.generation += 1
            self._live = True

    def _handle(self, message: Any) -> None:
        if type(message) is not list or len(message) < 3 or message[0] not in (b"message", "message"):
            return  # a pong, or the subscription's confirmation
        keys = message[2]
        with self._lock:
            self.generation += 1
            if keys is None:  # FLUSHDB, FLUSHALL
                self._entries.clear()
                return
            for key in keys:
                self._entries.pop(key.decode("utf-8", "replace") if isinstance(key, bytes) else key, None)


def _track_while_alive(ref: weakref.ref[TrackedReads]) -> None:
    """The tracking thread: follows Redis's reports while the map it serves exists."""
    last_logged = 0.0
    while True:
        reads = ref()
        if reads is None or reads._closed:
            return
        connection = None
        try:
            connection = reads._connect()
            reads._subscribe(connection)
            poller = select.poll()
            poller.register(reads._fds[0], select.POLLIN)
            pinged = False
            del reads
            while True:
                reads = ref()
                if reads is None or reads._closed:
                    return
                if poller.poll(PING_EVERY * 1000):
                    reads._reading = True
                    reads._handle(connection.read_response())
                    while connection.can_read(timeout=0):  # reports read into the connection's buffer too
                        reads._handle(connection.read_response())
                    reads._heard = _monotonic()
                    reads._reading = False
                    pinged = False
                elif pinged:
                    raise TimeoutError(f"Redis did not answer a PING within {PING_EVERY:g} s")
                else:
                    connection.send_command("PING")
                    pinged = True
                del reads
        except TrackingRefused as exc:
            reads = ref()
            if reads is not None:
                reads._refused = True
                reads._drop()
            log.warning("the Redis session store cannot track keys (%s): each request reads its session "
                        "from Redis (Redis 6 or later, with CLIENT allowed, saves that round trip)", exc)
            return
        except Exception as exc:
            reads = ref()
            closed = reads is None or reads._closed  # (closed meanwhile: an orderly end, not a failure)
            del reads
            now = _monotonic()
            if not closed and now - last_logged >= 30.0:
                log.warning("the Redis session store's tracking connection failed (%s: %s); sessions are read "
                            "from Redis on every request until it is back", type(exc).__name__, exc)
                last_logged = now
        finally:
            reads = ref()
            if reads is not None:
                reads._drop()
                reads._reading = False
            del reads
            try:
                if connection is not None:
                    connection.disconnect()
            except Exception:  # noqa: S110 - the connection is dropped either way
                pass
        time.sleep(RETRY_AFTER)


def _waiting(fd: int) -> bool:
    """Whether descriptor ``fd`` has something to read (or is closed), without waiting."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def close_all() -> None:
    """Stop tracking for every store of this process (their requests then read Redis each time);
    for test suites that make many short-lived apps, and for an orderly shutdown."""
    for reads in list(_live_maps):
        reads.close()


def _after_fork() -> None:
    """A forked worker inherits the map but not its thread: it starts over with a thread of its own."""
    for reads in list(_live_maps):
        reads._live = False
        reads._entries = {}
        reads._lock = threading.Lock()
        reads._thread = None
        reads._fds = (-1,)
        reads.generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
