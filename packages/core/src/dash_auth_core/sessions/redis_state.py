"""The security state every worker and instance shares through the Redis store.

Revocation marks (a hash of user id -> "logins up to T are void") with an
epoch that takes a new random value at each revocation, so a request learns in its
one round trip whether the marks changed; and the login throttle's
counters and locks, each with its own expiry. See :mod:`.redis` for the
store these live in and the keys it uses.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

from .store import SharedState, expiry_in

log = logging.getLogger("dash_auth")


class RedisView(Protocol):
    """What the shared state uses of its :class:`~dash_auth_core.sessions.redis.RedisStore`."""

    client: Any
    prefix: str
    errors: tuple[type[BaseException], ...]
    outage: Any
    decr_script: Any

    def forget(self, *keys: str) -> None: ...

    def async_client(self) -> Any: ...


class RedisState(SharedState):
    """Revocation marks and throttle counters in Redis."""

    shared = True

    def __init__(self, store: RedisView) -> None:
        super().__init__()
        self._store = store
        #: The revocation epoch the marks are current with (a begin compares what it read).
        self.epoch: bytes | None = None
        self._lock = threading.Lock()

    @property
    def _client(self) -> Any:
        return self._store.client

    def _key(self, name: str) -> str:
        return self._store.prefix + name

    def revoke(self, user_id: str, at: float, keep: float) -> None:
        now = time.time()
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.hset(self._key("marks"), user_id, f"{at!r}:{now + keep!r}")
            # A value never used before, not a counter: a counter starts over when Redis loses its
            # data, and a worker that knew the old count would take the new marks for the old ones.
            pipe.set(self._key("epoch"), secrets.token_hex(16))
            pipe.execute()
        except self._store.errors as exc:
            raise self._store.outage("revoking a login", exc) from exc
        finally:
            self._store.forget(self._key("epoch"))
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        try:
            epoch = self._client.get(self._key("epoch"))
            if force or epoch != self.epoch:
                self._apply(epoch, self._client.hgetall(self._key("marks")))
        except self._store.errors as exc:
            raise self._store.outage("reading the revocation marks", exc) from exc

    async def arefresh(self) -> None:
        client = self._store.async_client()
        try:
            epoch = await client.get(self._key("epoch"))
            if epoch != self.epoch:
                self._apply(epoch, await client.hgetall(self._key("marks")))
        except self._store.errors as exc:
            raise self._store.outage("reading the revocation marks", exc) from exc

    def _apply(self, epoch: bytes | None, raw: dict[bytes, bytes]) -> None:
        now = time.time()
        marks: dict[str, float] = {}
        expired = []
        for user, value in raw.items():
            try:
                at, _, until = value.decode().partition(":")
                if float(until) < now:
                    expired.append(user)
                    continue
                marks[user.decode("utf-8", "surrogatepass")] = float(at)
            except (ValueError, UnicodeDecodeError):
                log.error("a malformed revocation mark in the session store was ignored")
        with self._lock:
            self.marks, self.epoch = marks, epoch
        if expired:
            with contextlib.suppress(*self._store.errors):  # pruned next time
                self._store.client.hdel(self._key("marks"), *expired)

    # -- counters ------------------------------------------------------------

    def incr(self, keys: Iterable[str], window: float) -> list[int]:
        keys = list(keys)
        try:
            pipe = self._client.pipeline(transaction=False)
            for key in keys:
                pipe.incr(self._key("c:" + key))
                pipe.expire(self._key("c:" + key), expiry_in(window, 1), nx=True)
            replies = pipe.execute()
        except self._store.errors as exc:
            raise self._store.outage("counting a sign-in attempt", exc) from exc
        return [int(replies[2 * i]) for i in range(len(keys))]

    def decr(self, keys: Iterable[str]) -> None:
        try:
            for key in keys:
                self._store.decr_script(keys=[self._key("c:" + key)])
        except self._store.errors as exc:
            raise self._store.outage("counting a sign-in attempt", exc) from exc

    def delete(self, keys: Iterable[str]) -> None:
        names = [self._key("c:" + key) for key in keys]
        if not names:
            return
        try:
            self._client.delete(*names)
        except self._store.errors as exc:
            raise self._store.outage("clearing a sign-in count", exc) from exc

    def lock(self, key: str, seconds: float) -> None:
        try:
            self._client.set(self._key("l:" + key), b"1", px=max(1, int(seconds * 1000)))
        except self._store.errors as exc:
            raise self._store.outage("locking a sign-in", exc) from exc

    def locked_for(self, keys: Iterable[str]) -> float:
        keys = list(keys)
        try:
            pipe = self._client.pipeline(transaction=False)
            for key in keys:
                pipe.pttl(self._key("l:" + key))
            replies = pipe.execute()
        except self._store.errors as exc:
            raise self._store.outage("checking a sign-in lock", exc) from exc
        return max([r / 1000 for r in replies if isinstance(r, int) and r > 0], default=0.0)
