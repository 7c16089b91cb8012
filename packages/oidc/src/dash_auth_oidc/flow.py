"""The parts of the authorization-code flow that live in the session (framework-neutral).

A login in progress is a *pending state*: the ``state`` sent to the provider,
with the nonce, the PKCE verifier, the provider's name, when it started and
where to go afterwards. Pending states are bounded (the oldest is dropped
when a session has too many) and expire, so a browser that keeps hitting
protected pages never grows its cookie; a state is removed on first use, so
a replayed callback is refused.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .errors import BadCallback

PENDING_KEY = "_oidc_pending"
#: Where the page asked for is remembered while the user is on an app-made selection page.
NEXT_KEY = "_oidc_next"
#: The longest ``next`` kept in the session (longer ones fall back to the app root), and the
#: most characters the pending logins' ``next`` values take together: however many logins a
#: page (or another site) starts, the session cookie stays well under the 4 KB browsers keep.
MAX_NEXT_LENGTH = 1024

Session = MutableMapping[str, Any]


@dataclass(frozen=True)
class Pending:
    """One login in progress."""

    state: str
    idp: str
    started: float
    nonce: str
    code_verifier: str
    next_url: str


class PendingLogins:
    """Pending states in the session: at most ``max_pending``, each valid for ``ttl`` seconds."""

    def __init__(self, max_pending: int = 5, ttl: float = 600.0, clock: Callable[[], float] = time.time) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.max_pending = max_pending
        self.ttl = ttl
        self.clock = clock

    def _entries(self, session: Session) -> list[list[Any]]:
        """The session's pending logins that have not expired, oldest first.

        A list, not a dict: the session serializer sorts dict keys, and the
        order of the list is what tells the oldest entry.
        """
        raw = session.get(PENDING_KEY)
        if not isinstance(raw, list):
            return []
        now = self.clock()
        return [
            entry for entry in raw
            if isinstance(entry, list) and len(entry) == 6 and isinstance(entry[0], str)
            and isinstance(entry[2], (int, float)) and now - entry[2] <= self.ttl and entry[2] <= now + 60
        ]

    def start(self, session: Session, idp: str, next_url: str) -> Pending:
        """Record a new login for provider ``idp``; returns its state, nonce and verifier.

        ``next_url`` is at most :data:`MAX_NEXT_LENGTH` characters (the caller
        falls back to the app root). The oldest logins are dropped beyond
        ``max_pending``, and while the ``next`` values would take more than
        :data:`MAX_NEXT_LENGTH` together.
        """
        if len(next_url) > MAX_NEXT_LENGTH:
            raise ValueError(f"next_url is longer than {MAX_NEXT_LENGTH} characters")
        entries = self._entries(session)
        del entries[: max(0, len(entries) - self.max_pending + 1)]  # drop the oldest beyond the bound
        budget = MAX_NEXT_LENGTH - len(next_url)
        while entries and sum(len(entry[5]) for entry in entries if isinstance(entry[5], str)) > budget:
            del entries[0]
        pending = Pending(
            state=secrets.token_urlsafe(24),
            idp=idp,
            started=int(self.clock()),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),  # 64 characters (RFC 7636: 43 to 128)
            next_url=next_url,
        )
        entries.append(
            [pending.state, pending.idp, pending.started, pending.nonce, pending.code_verifier, pending.next_url]
        )
        session[PENDING_KEY] = entries  # a new list, so the session knows it changed
        return pending

    def finish(self, session: Session, state: Any, idp: str) -> Pending:
        """Remove and return the pending login for ``state``; raises :class:`BadCallback`."""
        if not isinstance(state, str) or not state or len(state) > 256:
            raise BadCallback("The sign-in answer is incomplete. Sign in again.", reason="callback without a state")
        raw = session.get(PENDING_KEY)
        known = [e for e in raw if isinstance(e, list) and e and isinstance(e[0], str)] if isinstance(raw, list) else []
        matched = any(hmac.compare_digest(e[0].encode(), state.encode()) for e in known)
        if not matched:
            raise BadCallback(
                "This sign-in link is unknown, was already used, or belongs to another browser. Sign in again.",
                reason="unknown or replayed state (or no session cookie)",
            )
        entries = self._entries(session)
        entry = next((e for e in entries if hmac.compare_digest(e[0].encode(), state.encode())), None)
        remaining = [e for e in entries if e is not entry]
        if remaining:
            session[PENDING_KEY] = remaining
        else:
            session.pop(PENDING_KEY, None)
        if entry is None:
            raise BadCallback("This sign-in took too long. Sign in again.", reason="expired state")
        if entry[1] != idp:
            raise BadCallback(
                "This sign-in answer came back for another provider. Sign in again.",
                reason=f"state was issued for provider {entry[1]!r}, callback is for {idp!r}",
            )
        return Pending(entry[0], entry[1], float(entry[2]), entry[3], entry[4], entry[5])

    def drop_oldest(self, session: Session, keep: str) -> bool:
        """Drop the oldest pending login other than ``keep``; ``False`` if there is none."""
        entries = self._entries(session)
        for index, entry in enumerate(entries):
            if entry[0] != keep:
                del entries[index]
                session[PENDING_KEY] = entries
                return True
        return False

    def count(self, session: Session) -> int:
        return len(self._entries(session))


def check_issuer(values: list[str], issuer: str, required: bool, idp: str) -> None:
    """RFC 9207: the ``iss`` of an authorization response must be the issuer the login started with.

    ``values`` are the response's ``iss`` parameters (normally none or one). A
    response from another issuer is a mix-up attack (OAuth 2.0 Security BCP 4.4):
    an answer from a provider the user was not sent to, replayed against this
    one. Compared as strings, exactly (RFC 9207 §2.4). Without ``iss`` the answer
    is accepted unless the provider advertises
    ``authorization_response_iss_parameter_supported`` (``required``): then it
    always sends one, and an answer without it did not come from it. Raises
    :class:`BadCallback`.
    """
    if not values:
        if required:
            raise BadCallback(
                "The sign-in answer does not say which provider sent it. Sign in again.",
                reason=f"authorization response without 'iss', which provider {idp!r} always sends "
                       "(authorization_response_iss_parameter_supported, RFC 9207)",
            )
        return
    if len(values) > 1 or not hmac.compare_digest(values[0].encode(), issuer.encode()):
        shown = values[0][:200] if len(values) == 1 else f"{len(values)} values"
        raise BadCallback(
            "This sign-in answer comes from another sign-in provider than the one the sign-in "
            "started with. Sign in again.",
            reason=f"authorization response from issuer {shown!r}, not {issuer!r} of provider {idp!r} "
                   "(RFC 9207 mix-up defence)",
        )


def path_segment(idp: str) -> str:
    """A provider name as one URL path segment."""
    return quote(idp, safe="")


def origin(scheme: str, host: str, force_https: bool) -> str:
    """``scheme://host`` of the request itself (``https`` when forced); never from forwarded headers."""
    return f"{'https' if force_https else scheme}://{host}"
