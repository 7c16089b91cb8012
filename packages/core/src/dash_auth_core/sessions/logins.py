"""Logins already read from a signed session cookie, remembered by the cookie header that carried them.

A signed-in browser sends the same cookie request after request. Checking
its signature and decoding it is most of what a session login costs (a
``Basic`` header or an OIDC login already skip it), so the core's session
reader remembers, per stack, the login a verified cookie held and until when
that answer stays right without a second look (see
:func:`~.lifecycle.holds_until`): at most :data:`SECONDS`, never past the
login's end or the next rewrite of its idle-time stamp.

What can change without the cookie changing is checked again on every hit:
the revocation marks and the provider's login check (a user removed from
the table the app passed). The same cookie always decodes to the same
session, so a remembered answer is the one a fresh decoding would give;
with a server-side store the record can change under the same cookie, and
nothing is remembered here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..identity import Identity

#: How long a verified cookie's login is reused without decoding the cookie again (seconds).
SECONDS = 300.0
#: How many cookies are remembered per stack (the oldest are forgotten first).
SIZE = 2048


class LoginCache:
    """``Cookie`` header -> (the login it holds, until when that answer holds), bounded."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[Identity, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, raw: str) -> tuple[Identity, float] | None:
        """The login remembered for ``raw`` and until when it holds (no lock: one look-up)."""
        return self._entries.get(raw)

    def put(self, raw: str, identity: Identity, until: float) -> None:
        with self._lock:
            self._entries[raw] = (identity, until)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def discard(self, raw: str | None) -> None:
        if raw:
            with self._lock:
                self._entries.pop(raw, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
