"""How long a login in a session lasts: absolute lifetime, idle timeout, remember-me, revocation.

The options live on the stack (``session_lifetime``, ``session_idle_timeout``,
``remember_lifetime``); this module holds the checks every reader of a login
in a session applies (the core's session reader, the OIDC plugin), so they
agree:

* a login without a login time (``auth_time``: a hand-written
  ``session["user"]``) is expired whenever a lifetime is set;
* a login older than its lifetime is expired: ``session_lifetime``, or
  ``remember_lifetime`` for a remembered one (remember-me);
* with signed cookies, a login idle for longer than ``session_idle_timeout``
  is expired. The last request is noted in the session (``_dash_auth_seen``),
  rewritten at most every twentieth of the timeout, so an active user's
  cookie is re-sent every few minutes, not on every request. With a
  server-side store the record's own expiry is the idle timeout (renewed by
  every read), so nothing is written for it;
* a login made at or before its user's revocation mark is void.
"""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..identity import Identity
    from .store import SessionStore, SharedState

log = logging.getLogger("dash_auth")
_time = time.time

#: Session key: ``True`` when the login asked to be remembered (a persistent cookie).
REMEMBER_KEY = "_dash_auth_remember"
#: Session key: when the login was last used (signed cookies; for the idle timeout).
SEEN_KEY = "_dash_auth_seen"


class SessionOptions(Protocol):
    """The stack's session options and state that these checks read."""

    session_lifetime: float | None
    session_idle_timeout: float | None
    remember_lifetime: float | None
    session_store: SessionStore | None
    shared_state: SharedState
    login_checks: dict[str, Any]


def lifetime_of(stack: SessionOptions, session: MutableMapping[str, Any]) -> float | None:
    """The absolute lifetime that applies to the login in ``session``."""
    if session.get(REMEMBER_KEY) is True:
        return stack.remember_lifetime
    return stack.session_lifetime


def login_holds(stack: SessionOptions, identity: Identity, session: MutableMapping[str, Any],
                now: float | None = None) -> bool:
    """Whether the login ``identity`` read from ``session`` still holds (and note this use of it).

    ``session`` has been read already (it holds ``identity``): a framework's lazy
    session is then a loaded dict, read here without its per-access wrapper.
    Runs on every request a session signs in: kept to plain look-ups.
    """
    if issubclass(type(session), dict):  # (a proxy to one is not)
        remembered = dict.get(session, REMEMBER_KEY)  # type: ignore[call-overload]  # a dict (checked above)
        seen = dict.get(session, SEEN_KEY)  # type: ignore[call-overload]  # a dict (checked above)
    else:
        remembered = session.get(REMEMBER_KEY)
        seen = session.get(SEEN_KEY)
    if now is None:
        now = _time()
    auth_time = identity.auth_time
    lifetime = stack.remember_lifetime if remembered is True else stack.session_lifetime
    if lifetime and (not auth_time or now - auth_time > lifetime):
        return False
    idle = stack.session_idle_timeout
    stamp_now = False
    if idle and remembered is not True and stack.session_store is None:
        if seen is None or seen.__class__ not in (float, int):
            seen = auth_time  # a session from before the idle timeout was set: since its login
        if not seen or now - seen > idle:
            return False
        stamp_now = now - seen > idle / 20
    if not still_holds(stack, identity):
        return False
    if stamp_now:
        session[SEEN_KEY] = now
    return True


def still_holds(stack: SessionOptions, identity: Identity) -> bool:
    """What can end a login without its session changing: a revocation mark, its provider's check."""
    marks = stack.shared_state.marks
    if marks and identity.auth_time <= marks.get(identity.id, -1.0):
        return False
    checks = stack.login_checks
    if checks:
        check = checks.get(identity.provider)
        if check is not None:
            try:
                return check(identity) is True
            except Exception:
                log.exception("the login check of provider %r failed; the login is refused", identity.provider)
                return False
    return True


def holds_until(stack: SessionOptions, identity: Identity, session: MutableMapping[str, Any]) -> float | None:
    """Until when :func:`login_holds` gives the same answer for ``session`` without writing to it
    (for caches of that answer); ``None``: no time limit.

    That is the login's end (its lifetime, its idle timeout), or earlier, with
    signed cookies and an idle timeout, the next rewrite of its idle-time stamp.
    Call it before :func:`login_holds`, which may rewrite the stamp.
    """
    auth_time = identity.auth_time
    lifetime = lifetime_of(stack, session)
    until = auth_time + lifetime if lifetime and auth_time else None
    idle = stack.session_idle_timeout
    if idle and stack.session_store is None and session.get(REMEMBER_KEY) is not True:
        seen = session.get(SEEN_KEY)
        base = seen if isinstance(seen, (int, float)) else auth_time
        if base:
            stamp_due = base + idle / 20
            until = stamp_due if until is None else min(until, stamp_due)
    return until


def stamp(session: Any) -> None:
    """Give a login written into ``session`` by hand (seed-style ``session["user"] = {...}``,
    without ``auth_time``) the time it was written: sessions are stamped as they are saved,
    so such a login expires like any other, and one read without a time is expired."""
    user = dict.get(session, "user")
    if type(user) is dict and not isinstance(user.get("auth_time"), (int, float)):
        user["auth_time"] = time.time()


def start(stack: SessionOptions, session: MutableMapping[str, Any], remember: bool, now: float) -> None:
    """Mark a new login in ``session``: remembered or not, and used now."""
    if remember:
        session[REMEMBER_KEY] = True
    if stack.session_idle_timeout and stack.session_store is None:
        session[SEEN_KEY] = now
