"""The Quart adapter (``Dash(backend="quart")``): ``before_request`` and ``before_websocket``.

* The guard runs as the first ``before_request`` function after Dash's own
  set-up, so it short-circuits before any user function or view; it runs
  inline on the event loop unless a hook is about to block (see
  :mod:`dash_auth_core.backends._aio`).
* The callback body is read once, ahead of the guard, with the stack's size
  limit; the parsed JSON is handed to Quart's cache so Dash reads the same
  object.
* Sessions are Quart's signed cookies, decoded only when used and ``Secure``
  on HTTPS requests.
* WebSockets: every websocket route is judged in ``before_websocket``;
  Dash's callback socket is handled by :mod:`dash_auth_core.websocket`.

The package: :mod:`.request` (a request, and Quart's sessions) and :mod:`.adapter`.
"""

from __future__ import annotations

from .._sessions import LazySession
from .adapter import QuartAdapter, to_quart
from .request import QuartRequest, _ServerSessionInterface, _SessionInterface

__all__ = ["LazySession", "QuartAdapter", "QuartRequest", "_ServerSessionInterface", "_SessionInterface", "to_quart"]
