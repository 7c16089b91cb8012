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
from typing import Any

from . import ids, records
from .cookies import CookieChange, cookie_value
from .lifecycle import REMEMBER_KEY, SessionOptions, stamp
from .store import SessionStore, StoreUnavailable

log = logging.getLogger("dash_auth")
_time = time.time

#: A lazy session's loader: the session's data, ``None`` if there is none.
Loader = Callable[[], "dict[str, Any] | None"]
#: What a record read says: its user, when its expiry is due for renewal, when it ends whatever
#: renews it (or ``None``), and its session's loader (decodes the record again).
Seen = tuple[str | None, float, float | None, Loader]

#: The attribute of a framework session object that holds its :class:`Handle`.
HANDLE = "_dash_auth_handle"
#: Browser sessions without a login expire after this long unused when no idle timeout is set.
DEFAULT_TTL = 12 * 3600.0


class Handle:
    """What a request's session knows about its record.

    A plain class whose defaults are class attributes: every request with a
    stored session makes one, and only what differs is written (a dataclass's
    ``__init__`` would set all ten).
    """

    #: Whether begin ran (the record and the shared state were read).
    begun = False
    #: A login asked for a fresh id.
    rotate = False
    #: Seconds the rotated-out id keeps working (a change of privileges: requests the browser
    #: sent in parallel with the old cookie still find it); 0 for a login (never).
    grace = 0.0
    #: The outage that a begin run ahead of the guard met (the guard refuses with it).
    error: StoreUnavailable | None = None
    #: The record's expiry is due for renewal: it is written back even if unchanged.
    renew = False
    #: The record as read (bytes that decoded to a session; ``None``: the store had none): the same
    #: bytes always hold the same session, so readers may remember what they found in them (the
    #: core's session reader does).
    raw: bytes | None = None
    #: What the record says (see :meth:`ServerSessions._loaded`), ``None`` before it is read.
    seen: Seen | None = None

    def __init__(self, sid: str | None) -> None:
        #: The well-formed id the cookie carried (``None``: no cookie, or not one of ours).
        self.sid = sid

    @property
    def known(self) -> bool:
        """Whether the store had a record for ``sid``."""
        return self.raw is not None

    @property
    def user(self) -> str | None:
        """The user the record belonged to when read (for its index)."""
        return self.seen[0] if self.seen is not None else None

    @property
    def ends(self) -> float | None:
        """When the record ends whatever renews it (an id rotated out at a change of privileges)."""
        return self.seen[2] if self.seen is not None else None


def handle_of(session: Any) -> Handle | None:
    return getattr(session, HANDLE, None)


#: Seconds an id rotated out at a change of privileges keeps working.
PRIVILEGE_GRACE = 10.0
#: Records remembered as read before, per app (the memory starts over when full).
SEEN_RECORDS = 4096
#: ``Cookie`` headers whose session id is remembered, per app (the memory starts over when full),
#: and the longest such header (longer ones are read each time).
COOKIE_HEADERS = 4096
COOKIE_HEADER_BYTES = 2048
_UNSEEN: Any = object()


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
        #: Records read before (bytes) -> what they say: a record read again is decoded only when
        #: something uses the session (a remembered login does not).
        self._seen: dict[bytes, Seen] = {}
        #: ``Cookie`` headers -> the well-formed session id they carry, or ``None`` (see open_header).
        self._ids_in: dict[str, str | None] = {}
        self._ids_name: str | None = None

    # -- begin ---------------------------------------------------------------------

    def open_header(self, session_class: type, header: str | None, name: str) -> Any:
        """A lazy session of the adapter's ``session_class`` (see ``backends/_sessions.py``) for the
        session cookie ``name`` in a raw ``Cookie`` header, with its :class:`Handle`; it loads its
        record on first use.

        Every request opens one, and a browser sends the same header request
        after request: the id a header carries (well-formed, or ``None``) is
        remembered, for headers up to :data:`COOKIE_HEADER_BYTES`.
        """
        ids_in = self._ids_in
        if name is not self._ids_name:  # (the app's cookie name changed: start over)
            ids_in.clear()
            self._ids_name = name
        session_id = ids_in.get(header, _UNSEEN)  # type: ignore[arg-type]  # (None: no header)
        if session_id is _UNSEEN:
            value = cookie_value(header, name)
            session_id = value if ids.well_formed(value) else None
            if header is not None and len(header) <= COOKIE_HEADER_BYTES:
                if len(ids_in) >= COOKIE_HEADERS:
                    ids_in.clear()
                ids_in[header] = session_id
        session = session_class(None)
        # setattr(session, HANDLE, ...), without the call: every request with a stored session opens one.
        handle = session._dash_auth_handle = Handle(session_id)
        session._loader = functools.partial(self.load, handle)
        return session

    async def aopen_header(self, session_class: type, header: str | None, name: str,
                           credentials: Callable[[], object]) -> Any:
        """:meth:`open_header` on an event loop (Quart, FastAPI), with the record and the shared state
        read ahead (:meth:`abegin`) when the request carries a session cookie, even one not ours, or
        ``credentials()`` (its ``Authorization`` header; asked only without a cookie): the guard,
        which runs synchronously, then finds them read instead of reading the store itself."""
        session = self.open_header(session_class, header, name)
        if session._dash_auth_handle.sid is not None or cookie_value(header, name) or credentials():
            await self.abegin(session)
        return session

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
                handle.raw = handle.seen = None
                return _nothing
            # The record expires ``ttl`` after it was written: renew it once a twentieth has passed.
            seen = (records.user_of(data), written + self.ttl(handle.sid) / 20, ends,
                    functools.partial(records.decode, raw, self.store.max_record_bytes))
            if len(self._seen) >= SEEN_RECORDS:
                self._seen.clear()
            self._seen[raw] = seen  # type: ignore[index]  # (not None: it decoded)
            loader: Loader = lambda: data  # noqa: E731
        else:
            loader = seen[3]
        now = _time()
        if seen[2] is not None and now >= seen[2]:  # rotated out, and its grace is over
            handle.raw = handle.seen = None
            return _nothing
        handle.raw = raw
        handle.seen = seen
        handle.renew = now > seen[1]
        return loader

    def begin_request(self, request: Any) -> None:
        """The guard's stage 2 (sync): read the session's record and the shared state in one round
        trip, when the request carries a session cookie or credentials. Raises
        :class:`StoreUnavailable` (the guard answers 503), also for an outage that a read ahead of
        the guard met (Quart, FastAPI)."""
        session = request.session
        handle = getattr(session, HANDLE, None)
        if handle is None:
            return
        if handle.begun:
            if handle.error is not None:
                raise handle.error
            return
        if handle.sid is None and not (request.has_session_cookie or request.header("Authorization")):
            return  # nothing to read: no session, no credentials whose revocation marks matter
        loader = self._loaded(handle, self.store.begin(handle.sid))
        if session._loader is not None:  # not loaded yet (_feed, inline; a handle's session is lazy)
            session._loader = loader

    async def abegin(self, session: Any) -> None:
        """Read the record and the shared state ahead of the guard, on an event loop (Quart, FastAPI);
        an outage is kept on the handle, and the guard's :meth:`begin_request` refuses with it."""
        handle = getattr(session, HANDLE, None)
        if handle is None or handle.begun:
            return
        try:
            loader = self._loaded(handle, await self.store.abegin(handle.sid))
        except StoreUnavailable as exc:
            handle.error = exc
            handle.begun = True
            loader = _nothing
        if session._loader is not None:  # not loaded yet (_feed, inline; a handle's session is lazy)
            session._loader = loader

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

    @staticmethod
    def unused(session: Any) -> bool:
        """Whether saving ``session`` writes nothing: a record read ahead that nothing used and that
        is not due for renewal (the usual signed-in request; its answer still varies by cookie)."""
        handle = getattr(session, HANDLE, None)
        return handle is not None and session._loader is not None and not handle.renew

    def _plan(self, session: Any) -> tuple[str, Any] | None:
        """What to do with the store: (``"new"``/``"update"``/``"delete"``, details), or ``None``."""
        handle = handle_of(session)
        if handle is None or self.unused(session):
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
