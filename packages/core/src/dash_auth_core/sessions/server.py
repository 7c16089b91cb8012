"""Server-side sessions for the adapters: the cookie carries an id, the store the data.

Each adapter keeps its framework's own session class (decoded on first use,
see ``backends/_sessions.py``) and attaches a :class:`Handle` to it; this
module decides what is read and written:

* **begin** (once per request that carries credentials, before the guard
  decides): the record of the cookie's id and the shared state, in one round
  trip. On Quart and FastAPI it runs asynchronously before the guard; on
  Flask the guard runs it. A store outage is kept on the handle and the guard
  refuses the request with a 503.
* **finish** (as the response goes out): nothing if nothing read or changed
  the session. A session that is new, or whose id the client made up (an id
  the store does not know), or that a login rotated, gets a fresh id: the old
  record is deleted in the same round trip, so an id planted before a login
  is never signed in. A changed session is written back only if its record
  still exists (a session revoked or signed out elsewhere meanwhile stays
  gone). An emptied session (logout) is deleted with its cookie.

The cookie is ``HttpOnly``, ``SameSite=Lax`` (unless the app set another),
``Secure`` on HTTPS requests, and a browser-session cookie, except for a
remembered login (remember-me), whose cookie lasts as long as the login may.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from . import ids, records
from .lifecycle import REMEMBER_KEY, SessionOptions, stamp
from .store import SessionStore, StoreUnavailable

log = logging.getLogger("dash_auth")
_time = time.time

#: The attribute of a framework session object that holds its :class:`Handle`.
HANDLE = "_dash_auth_handle"
#: Browser sessions without a login expire after this long unused when no idle timeout is set.
DEFAULT_TTL = 12 * 3600.0


@dataclass
class Handle:
    """What a request's session knows about its record."""

    #: The well-formed id the cookie carried (``None``: no cookie, or not one of ours).
    sid: str | None
    #: Whether the store had a record for ``sid``.
    known: bool = False
    #: The user the record belonged to when read (for its index).
    user: str | None = None
    #: Whether begin ran (the record and the shared state were read).
    begun: bool = False
    #: A login asked for a fresh id.
    rotate: bool = False
    #: Seconds the rotated-out id keeps working (a change of privileges: requests the browser
    #: sent in parallel with the old cookie still find it); 0 for a login (never).
    grace: float = 0.0
    #: The outage that a begin run ahead of the guard met (the guard refuses with it).
    error: StoreUnavailable | None = None
    #: The record's expiry is due for renewal: it is written back even if unchanged.
    renew: bool = False
    #: The record as read (bytes that decoded to a session): the same bytes always hold the same
    #: session, so readers may remember what they found in them (the core's session reader does).
    raw: bytes | None = None
    #: When the record ends whatever renews it (an id rotated out at a change of privileges).
    ends: float | None = None


@dataclass
class CookieChange:
    """What the response's ``Set-Cookie`` does: set ``value`` (for ``max_age`` seconds, or for the
    browser session when ``None``), or delete the cookie when ``value`` is ``None``."""

    value: str | None
    max_age: int | None = None


def handle_of(session: Any) -> Handle | None:
    return getattr(session, HANDLE, None)


#: Seconds an id rotated out at a change of privileges keeps working.
PRIVILEGE_GRACE = 10.0
#: Records remembered as read before, per app (the memory starts over when full).
SEEN_RECORDS = 4096

Loader = Callable[[], "dict[str, Any] | None"]


def rotate(session: MutableMapping[str, Any], grace: float = 0.0) -> None:
    """Give the session a new id when the response goes out: at a login (the old id ends at once),
    or at a change of privileges (``grace``: the old id ends a few seconds later, so the callbacks a
    page sent in parallel with the old cookie are not refused)."""
    handle = handle_of(session)
    if handle is not None:
        handle.grace = grace if not handle.rotate else min(handle.grace, grace)
        handle.rotate = True


class ServerSessions:
    """One app's server-side sessions over ``store``."""

    def __init__(self, stack: SessionOptions, store: SessionStore) -> None:
        self.stack = stack
        self.store = store
        #: Records read before (bytes) -> (their user, when their expiry is due for renewal): a
        #: record read again is decoded only when something uses the session (a remembered login
        #: does not).
        self._seen: dict[bytes, tuple[str | None, float, float | None]] = {}

    # -- begin ---------------------------------------------------------------------

    def attach(self, session: Any, cookie_value: str | None) -> Handle:
        handle = Handle(cookie_value if ids.well_formed(cookie_value) else None)
        setattr(session, HANDLE, handle)
        return handle

    def ttl(self, session_id: str | None) -> float:
        """How long a record lives unused: the idle timeout, or a remembered login's lifetime."""
        stack = self.stack
        if session_id is not None and ids.is_remembered(session_id):
            return stack.remember_lifetime or DEFAULT_TTL
        return stack.session_idle_timeout or stack.session_lifetime or DEFAULT_TTL

    def _loaded(self, handle: Handle, raw: bytes | None) -> Loader:
        """Note what the record ``raw`` says on ``handle``; the session's loader (decodes on first use)."""
        handle.begun = True
        seen = self._seen.get(raw) if raw is not None else None
        if seen is None:
            data, written, ends = records.decode_full(raw, self.store.max_record_bytes)
            if data is None:  # (a socket's session read again may have lost its record)
                handle.known, handle.raw = False, None
                return _nothing
            # The record expires ``ttl`` after it was written: renew it once a twentieth has passed.
            seen = (records.user_of(data), written + self.ttl(handle.sid) / 20, ends)
            if len(self._seen) >= SEEN_RECORDS:
                self._seen.clear()
            self._seen[raw] = seen  # type: ignore[index]  # (not None: it decoded)
            loader: Loader = lambda: data  # noqa: E731
        else:
            loader = functools.partial(records.decode, raw, self.store.max_record_bytes)
        now = _time()
        if seen[2] is not None and now >= seen[2]:  # rotated out, and its grace is over
            handle.known, handle.raw = False, None
            return _nothing
        handle.known = True
        handle.raw = raw
        handle.user = seen[0]
        handle.ends = seen[2]
        handle.renew = now > seen[1]
        return loader

    def begin(self, session: Any) -> None:
        """Read the record and the shared state (sync: Flask, worker threads); raises :class:`StoreUnavailable`."""
        handle = handle_of(session)
        if handle is None or handle.begun:
            if handle is not None and handle.error is not None:
                raise handle.error
            return
        _feed(session, self._loaded(handle, self.store.begin(handle.sid)))

    async def abegin(self, session: Any) -> None:
        """:meth:`begin` on an event loop; an outage is kept on the handle for the guard."""
        handle = handle_of(session)
        if handle is None or handle.begun:
            return
        try:
            loader = self._loaded(handle, await self.store.abegin(handle.sid))
        except StoreUnavailable as exc:
            handle.error = exc
            handle.begun = True
            _feed(session, _nothing)
            return
        _feed(session, loader)

    async def areload(self, session: Any) -> None:
        """Read a long-lived request's session again (a WebSocket's, judged per message); raises
        :class:`StoreUnavailable`."""
        handle = handle_of(session)
        if handle is None or handle.sid is None:
            return
        loader = self._loaded(handle, await self.store.abegin(handle.sid))
        if not _loaded(session):
            _feed(session, loader)
            return
        data = loader()
        dict.clear(session)
        if data:
            dict.update(session, data)

    def load(self, handle: Handle) -> dict[str, Any] | None:
        """A lazy session's loader when begin did not run (a route the guard let through unread)."""
        if handle.sid is None:
            return None
        return self._loaded(handle, self.store.get(ids.record_key(handle.sid)))()

    # -- finish --------------------------------------------------------------------

    def _plan(self, session: Any) -> tuple[str, Any] | None:
        """What to do with the store: (``"new"``/``"update"``/``"delete"``, details), or ``None``."""
        handle = handle_of(session)
        if handle is None or not (_loaded(session) or handle.renew):
            return None
        load = getattr(session, "_load", None)
        if load is not None:
            load()  # a record read ahead but not used: loaded to be written back (renewed)
        if getattr(session, "modified", True):
            stamp(session)
        data = dict(session)
        if not data:
            if handle.sid is None:
                return None
            return "delete", handle
        if handle.rotate or not handle.known:
            remembered = data.get(REMEMBER_KEY) is True
            new = ids.new_id(remembered)
            return "new", (handle, new, data, self.ttl(new))
        if getattr(session, "modified", True) or handle.renew:
            ttl = self.ttl(handle.sid)
            if handle.ends is not None:  # rotated out: written back, it still ends with its grace
                ttl = min(ttl, handle.ends - _time())
                if ttl <= 0:
                    return None
            return "update", (handle, handle.sid, data, ttl)
        return None

    def _rotated_out(self, handle: Handle) -> tuple[str, bytes, float] | None:
        """The id a change of privileges rotated out, kept for its grace: its key, its record marked
        to end with the grace (so a parallel request cannot renew it past), and the grace."""
        if not handle.grace or handle.sid is None or handle.raw is None:
            return None
        record = records.with_end(handle.raw, _time() + handle.grace, self.store.max_record_bytes)
        return None if record is None else (ids.record_key(handle.sid), record, handle.grace)

    def _cookie(self, session_id: str, data: dict[str, Any]) -> CookieChange:
        if not ids.is_remembered(session_id):
            return CookieChange(session_id)
        user = data.get("user")
        auth_time = user.get("auth_time") if isinstance(user, dict) else None
        lifetime = self.stack.remember_lifetime
        if not isinstance(auth_time, (int, float)) or not lifetime:
            return CookieChange(session_id)
        return CookieChange(session_id, max(0, int(auth_time + lifetime - time.time())))

    def finish(self, session: Any) -> CookieChange | None:
        """Write what changed (sync); the cookie to send, if it changes. Raises :class:`StoreUnavailable`."""
        plan = self._plan(session)
        if plan is None:
            return None
        kind, details = plan
        store = self.store
        if kind == "delete":
            store.remove(ids.record_key(details.sid), details.user)
            return CookieChange(None)
        handle, sid, data, ttl = details
        record = records.encode(data, records.user_of(data), store.max_record_bytes,
                                handle.ends if kind == "update" else None)
        if kind == "new":
            drop = ids.record_key(handle.sid) if handle.sid is not None else None
            store.put(ids.record_key(sid), record, ttl, new=True, user=records.user_of(data), drop=drop,
                      drop_after=handle.grace)
            kept = self._rotated_out(handle)
            if kept is not None:
                store.put(kept[0], kept[1], kept[2], new=False, user=handle.user)
            return self._cookie(sid, data)
        if not store.put(ids.record_key(sid), record, ttl, new=False, user=records.user_of(data)):
            return CookieChange(None)  # ended elsewhere meanwhile: stays ended
        return None

    async def afinish(self, session: Any) -> CookieChange | None:
        plan = self._plan(session)
        if plan is None:
            return None
        kind, details = plan
        store = self.store
        if kind == "delete":
            await store.aremove(ids.record_key(details.sid), details.user)
            return CookieChange(None)
        handle, sid, data, ttl = details
        record = records.encode(data, records.user_of(data), store.max_record_bytes,
                                handle.ends if kind == "update" else None)
        if kind == "new":
            drop = ids.record_key(handle.sid) if handle.sid is not None else None
            await store.aput(ids.record_key(sid), record, ttl, new=True, user=records.user_of(data), drop=drop,
                             drop_after=handle.grace)
            kept = self._rotated_out(handle)
            if kept is not None:
                await store.aput(kept[0], kept[1], kept[2], new=False, user=handle.user)
            return self._cookie(sid, data)
        if not await store.aput(ids.record_key(sid), record, ttl, new=False, user=records.user_of(data)):
            return CookieChange(None)
        return None


def _loaded(session: Any) -> bool:
    return bool(getattr(session, "loaded", True))


def _feed(session: Any, loader: Loader) -> None:
    """Hand a record read ahead to a lazy session that has not loaded yet (it loads it on first use)."""
    if not _loaded(session):
        session._loader = loader


def _nothing() -> None:
    return None


def cookie_header(name: str, change: CookieChange, *, path: str = "/", secure: bool = False,
                  samesite: str | None = "Lax", domain: str | None = None) -> str:
    """The ``Set-Cookie`` value for ``change``."""
    parts = [f"{name}={change.value if change.value is not None else ''}", f"Path={path}"]
    if domain:
        parts.append(f"Domain={domain}")
    if change.value is None:
        parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        parts.append("Max-Age=0")
    elif change.max_age is not None:
        parts.append(f"Max-Age={change.max_age}")
        parts.append("Expires=" + time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                time.gmtime(time.time() + change.max_age)))
    parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    if samesite:
        parts.append(f"SameSite={samesite}")
    return "; ".join(parts)


def refused_body(exc: StoreUnavailable) -> bytes:
    """The JSON body of a 503 for a store outage met while writing a session."""
    import json

    return json.dumps({"error": exc.error, "message": exc.message}).encode()
