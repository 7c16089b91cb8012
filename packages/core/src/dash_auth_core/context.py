"""``current_user()``: who is making the request being handled right now.

The guard puts the request's identity in a context variable, tagged with a
weak reference to the request it belongs to. Dash copies the context into
callbacks, layout functions and routes. A worker thread that serves the next
request (or another app in the same process) finds a tag that does not match
its request and sees no user, so nothing has to be cleaned up after each
request; and since the tag is weak, a finished request is freed at once
instead of living on in an idle thread's context until the next one. Our
``custom_data`` hook copies the identity into
``callback_context.custom_data["dash_auth"]``, which Dash ships to background
callbacks in other processes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any
from weakref import ref

import dash

from .identity import Identity

CUSTOM_DATA_NAMESPACE = "dash_auth"

#: (function giving the current request's key, weak reference to that request's key
#: (or a strong stand-in, for keys that take none), identity)
_Entry = tuple[Callable[[], Any], Callable[[], Any], "Identity | None"]
_current: ContextVar[_Entry | None] = ContextVar("dash_auth_identity", default=None)


def set_current_user(identity: Identity | None, request: Any = None) -> None:
    """Set the identity for ``request``, the request being handled (the guard calls this)."""
    key = None if request is None else request.context_key
    if key is None:
        _current.set(None)
        return
    try:
        tag: Callable[[], Any] = ref(key)
    except TypeError:  # a custom adapter's key that takes no weak references: held until the next request
        tag = _Held(key)
    _current.set((request.current_context_key, tag, identity))


class _Held:
    """A strong stand-in for a weak reference."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __call__(self) -> Any:
        return self.key


def _own(entry: _Entry) -> Identity | None:
    """The entry's identity if this context is handling the request it was set for."""
    current_key, key, identity = entry
    now = current_key()
    return identity if now is not None and now is key() else None


def current_user() -> Identity | None:
    """The :class:`Identity` of the current request, or ``None`` when anonymous.

    Works in server callbacks (HTTP and background), layout functions and
    plugin routes. Outside a request it returns ``None``.
    """
    entry = _current.get()
    if entry is not None:
        # This context served a request: only that request's own identity counts,
        # and outside it (the thread moved on) there is no user.
        return _own(entry)
    # A context that never served a request here (a background callback's
    # worker process): Dash ships our custom_data along with the job.
    try:
        data = dash.callback_context.custom_data.get(CUSTOM_DATA_NAMESPACE)
    except Exception:  # no callback context here
        return None
    if isinstance(data, Identity):
        return data
    return Identity.from_session(data)


def _custom_data(_ctx: Any) -> dict[str, Any] | None:
    # Runs before every server callback. The request's own identity only, as in
    # current_user(), but never the custom_data fallback this hook itself feeds.
    entry = _current.get()
    identity = None if entry is None else _own(entry)
    return None if identity is None else identity.to_session()


_installed = False


def install_custom_data_hook() -> None:
    """Register the process-wide ``custom_data`` hook once."""
    global _installed
    if not _installed:
        dash.hooks.custom_data(CUSTOM_DATA_NAMESPACE)(_custom_data)
        _installed = True
