"""Sessions and shared security state in Redis, through redis-py.

``session_store="redis://127.0.0.1:6379/0"`` (or ``RedisStore(url)``, or
``RedisStore(client=...)``) keeps sessions in Redis and shares the security
state of every worker and instance that use the same Redis database: session
records, each user's index of sessions, the revocation marks, and the login
throttle's counters and locks.

* Flask and worker threads use redis-py's sync client; Quart and FastAPI use
  its asyncio client (one per event loop), so their event loop never waits on
  a socket.
* Every connection has a ``socket_timeout`` and a ``socket_connect_timeout``
  (1 s unless the URL says otherwise): a Redis that is down or frozen costs a
  request at most that, and the request is refused with a 503
  (:class:`~.store.StoreUnavailable`) and a log line. A connection error is
  retried once on a fresh connection (a restarted Redis), a timeout never.
* A request that carries credentials costs at most one round trip, a read
  (``MGET`` of the session's record and the revocation epoch, with their
  expiry). On Redis 6 and later what was read is remembered in the process
  until Redis reports a change to it (``CLIENT TRACKING``, see
  ``sessions/tracking.py``), so a signed-in browser's next requests cost none;
  ``RedisStore(..., track=False)`` reads every time. The revocation marks
  themselves are read only when the epoch moved (someone revoked a login
  somewhere). A record's idle expiry is renewed by rewriting it, at most every
  twentieth of the idle timeout while it is used (see ``sessions/server.py``),
  so the store (its append-only file, its replicas) sees no write per request.

Keys (under ``prefix``, default ``dash_auth:``): ``s:<sha256 of the id>``
records, ``u:<sha256 of the user id>`` each user's set of record keys,
``epoch`` and ``marks`` the revocation marks, ``c:<key>``/``l:<key>`` the
throttle's counters and locks (the shared state is in :mod:`.redis_state`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigurationError
from . import ids
from .redis_state import RedisState
from .store import SessionStore, StoreUnavailable, expiry_in
from .tracking import TrackedReads

log = logging.getLogger("dash_auth")

DEFAULT_TIMEOUT = 1.0
#: Seconds a user's index of sessions is kept at least (longer than a remembered login, by default).
INDEX_TTL = 32 * 24 * 3600
#: Session ids whose keys are remembered (the memory starts over when full).
KEYS_REMEMBERED = 4096
_DECR = "local v = tonumber(redis.call('GET', KEYS[1]) or '0') if v > 0 then return redis.call('DECR', KEYS[1]) end return 0"


def _redis() -> Any:
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - an install without the extra
        raise ConfigurationError(
            "session_store='redis://...' needs redis-py: pip install 'dash-auth-core[redis]'"
        ) from exc
    return redis


class _Outage:
    """Logs a store outage clearly, once per few seconds rather than once per request."""

    def __init__(self) -> None:
        self._last = 0.0
        self._hidden = 0

    def __call__(self, what: str, exc: BaseException) -> StoreUnavailable:
        now = time.monotonic()
        if now - self._last >= 5.0:
            more = f" ({self._hidden} more since)" if self._hidden else ""
            log.error("session store unavailable while %s: %s: %s; requests that need it get a 503%s",
                      what, type(exc).__name__, exc, more)
            self._last, self._hidden = now, 0
        else:
            self._hidden += 1
        return StoreUnavailable()


class RedisStore(SessionStore):
    """Sessions in Redis. ``url`` is a redis-py URL; ``client`` a ready ``redis.Redis`` (then
    ``async_client`` may give the asyncio one, else one is built from ``url``)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        prefix: str = "dash_auth:",
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_TIMEOUT,
        max_record_bytes: int | None = None,
        track: bool = True,
    ) -> None:
        redis = _redis()
        if url is None and client is None:
            raise ConfigurationError("RedisStore needs a redis:// URL or a redis.Redis client")
        if url is not None and (not isinstance(url, str) or urlsplit(url).scheme not in ("redis", "rediss", "unix")):
            raise ConfigurationError(f"session_store: {url!r} is not a redis://, rediss:// or unix:// URL")
        self.url = url
        self.prefix = prefix
        if max_record_bytes is not None:
            self.max_record_bytes = max_record_bytes
        self._options = self._connection_options(url, timeout, connect_timeout)
        self.client = client if client is not None else redis.Redis.from_url(url, **self._options)
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.outage = _Outage()
        self.decr_script = self.client.register_script(_DECR)
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._state = RedisState(self)
        #: Session id -> the keys a begin reads (an id's key is a hash: worked out once).
        self._keys_of: dict[str | None, tuple[str, ...]] = {}
        #: What this process read, kept until Redis reports a change (``None``: read every time).
        self.tracked: TrackedReads | None = (
            TrackedReads(self._tracking_connection, (prefix + "s:", prefix + "epoch")) if track else None
        )

    def _tracking_connection(self) -> Any:
        """A new connection like the client's, in RESP2 (its pub/sub replies are plain lists)."""
        if self.url is not None:
            return _redis().Redis.from_url(self.url, protocol=2, **self._options).connection_pool.make_connection()
        pool = self.client.connection_pool
        kwargs = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith("maint_notifications")}
        return pool.connection_class(**dict(kwargs, protocol=2))

    def forget(self, *keys: str) -> None:
        """This process changed ``keys``: nothing remembered of them is used again."""
        if self.tracked is not None:
            self.tracked.forget(keys)

    @staticmethod
    def _connection_options(url: str | None, timeout: float, connect_timeout: float) -> dict[str, Any]:
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.retry import Retry

        given = parse_qs(urlsplit(url).query) if url else {}
        options: dict[str, Any] = {"retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))}
        if "socket_timeout" not in given:
            options["socket_timeout"] = timeout
        if "socket_connect_timeout" not in given:
            options["socket_connect_timeout"] = connect_timeout
        return options

    def async_client(self) -> Any:
        """redis-py's asyncio client for the running event loop (connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            if self.url is None:
                raise ConfigurationError("RedisStore(client=...) on an async backend needs a url too")
            import redis.asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError as RedisConnectionError

            options = dict(self._options, retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)))
            client = self._async[loop] = redis.asyncio.Redis.from_url(self.url, **options)
        return client

    def shared_state(self) -> RedisState:
        return self._state

    def _k(self, key: str) -> str:
        return self.prefix + "s:" + key

    def _u(self, user: str) -> str:
        return self.prefix + "u:" + ids.user_key(user)

    # -- records -----------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        try:
            value: bytes | None = self.client.get(self._k(key))
            return value
        except self.errors as exc:
            raise self.outage("reading a session", exc) from exc

    async def aget(self, key: str) -> bytes | None:
        try:
            value: bytes | None = await self.async_client().get(self._k(key))
            return value
        except self.errors as exc:
            raise self.outage("reading a session", exc) from exc

    def _begin_keys(self, session_id: str | None) -> tuple[str, ...]:
        """The keys a begin reads for ``session_id``: the revocation epoch, and its record (remembered)."""
        keys = self._keys_of.get(session_id)
        if keys is None:
            epoch = self.prefix + "epoch"
            keys = (epoch,) if session_id is None else (epoch, self._k(ids.record_key(session_id)))
            if len(self._keys_of) >= KEYS_REMEMBERED:
                self._keys_of.clear()
            self._keys_of[session_id] = keys
        return keys

    def begin(self, session_id: str | None) -> bytes | None:
        # Reads only, in one round trip; none for what this process remembers.
        keys = self._keys_of.get(session_id) or self._begin_keys(session_id)
        tracked = self.tracked
        replies = tracked.lookup(keys) if tracked is not None else None
        if replies is None:
            generation = tracked.generation if tracked is not None else 0
            try:
                replies = self._remember(keys, generation, _read_ahead(self.client, keys).execute())
            except self.errors as exc:
                raise self.outage("reading a session", exc) from exc
        if replies[0] != self._state.epoch:  # someone revoked a login somewhere: read the marks
            self._state.refresh()
        return replies[1] if session_id is not None else None

    async def abegin(self, session_id: str | None) -> bytes | None:
        keys = self._keys_of.get(session_id) or self._begin_keys(session_id)
        tracked = self.tracked
        replies = tracked.lookup(keys) if tracked is not None else None
        if replies is None:
            generation = tracked.generation if tracked is not None else 0
            try:
                replies = self._remember(keys, generation, await _read_ahead(self.async_client(), keys).execute())
            except self.errors as exc:
                raise self.outage("reading a session", exc) from exc
        if replies[0] != self._state.epoch:  # someone revoked a login somewhere: read the marks
            await self._state.arefresh()
        return replies[1] if session_id is not None else None

    def _remember(self, keys: tuple[str, ...], generation: int, results: list[Any]) -> list[Any]:
        """The replies of a begin's read (``MGET``, then ``PTTL`` of the record); kept when tracking."""
        replies: list[Any] = results[0]
        if self.tracked is not None:
            self.tracked.keep(generation, _keepable(keys, replies, results[1]))
        return replies

    def _queue_put(self, pipe: Any, key: str, record: bytes, ttl: float, new: bool, user: str | None,
                   drop: str | None, drop_after: float = 0.0) -> None:
        seconds = expiry_in(ttl, 1)
        pipe.set(self._k(key), record, ex=seconds, nx=new, xx=not new)
        if user is not None:
            index = self._u(user)
            pipe.sadd(index, key)
            # (Plain EXPIRE, for Redis 6 too: an index that expires before a long-lived record
            # of its user leaves that record to the revocation mark, which voids it as well.)
            pipe.expire(index, max(seconds, INDEX_TTL))
        if drop is not None:
            if drop_after:
                pipe.expire(self._k(drop), expiry_in(drop_after, 1))
            else:
                pipe.delete(self._k(drop))

    def put(self, key: str, record: bytes, ttl: float, *, new: bool, user: str | None,
            drop: str | None = None, drop_after: float = 0.0) -> bool:
        try:
            pipe = self.client.pipeline(transaction=False)
            self._queue_put(pipe, key, record, ttl, new, user, drop, drop_after)
            return bool(pipe.execute()[0])
        except self.errors as exc:
            raise self.outage("writing a session", exc) from exc
        finally:
            self.forget(self._k(key), self._k(drop or key))

    async def aput(self, key: str, record: bytes, ttl: float, *, new: bool, user: str | None,
                   drop: str | None = None, drop_after: float = 0.0) -> bool:
        try:
            pipe = self.async_client().pipeline(transaction=False)
            self._queue_put(pipe, key, record, ttl, new, user, drop, drop_after)
            return bool((await pipe.execute())[0])
        except self.errors as exc:
            raise self.outage("writing a session", exc) from exc
        finally:
            self.forget(self._k(key), self._k(drop or key))

    def remove(self, key: str, user: str | None) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.delete(self._k(key))
            if user is not None:
                pipe.srem(self._u(user), key)
            pipe.execute()
        except self.errors as exc:
            raise self.outage("deleting a session", exc) from exc
        finally:
            self.forget(self._k(key))

    async def aremove(self, key: str, user: str | None) -> None:
        try:
            pipe = self.async_client().pipeline(transaction=False)
            pipe.delete(self._k(key))
            if user is not None:
                pipe.srem(self._u(user), key)
            await pipe.execute()
        except self.errors as exc:
            raise self.outage("deleting a session", exc) from exc
        finally:
            self.forget(self._k(key))

    def remove_user(self, user: str) -> int:
        index = self._u(user)
        try:
            members = self.client.smembers(index)
            names = [self._k(m.decode("ascii", "replace")) for m in members]
            deleted = int(self.client.delete(*names)) if names else 0
            self.client.delete(index)
            self.forget(*names)
            return deleted
        except self.errors as exc:
            raise self.outage("ending a user's sessions", exc) from exc

    def close(self) -> None:
        if self.tracked is not None:
            self.tracked.close()
        self.client.close()


def _read_ahead(client: Any, keys: tuple[str, ...]) -> Any:
    """A begin's read when tracking: the keys, and the expiry of the last (the record), one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.mget(keys)
    pipe.pttl(keys[-1])
    return pipe


def _keepable(keys: tuple[str, ...], replies: list[Any], pttl: Any) -> list[tuple[str, Any, float | None]]:
    """What of a begin's read may be remembered: the epoch (even absent), the record if it exists."""
    items: list[tuple[str, Any, float | None]] = [(keys[0], replies[0], None)]
    if len(keys) > 1 and replies[1] is not None and isinstance(pttl, int) and pttl > 0:
        items.append((keys[1], replies[1], pttl / 1000))
    return items
