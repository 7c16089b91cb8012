"""``current_user()``: who is making the request being handled right now.

The guard stores the request's identity on the request's own context key
(Flask's request context, Quart's request, FastAPI's ``Handling``), and a
context variable remembers how to find the current key. Dash copies the
context into callbacks, layout functions and routes. A worker thread that
serves the next request (or another app in the same process) finds another
key, which carries that request's identity or none, so nothing has to be
cleaned up after each request, and nothing outlives the request it belongs
to.

A background callback runs in another process (a Celery worker, a
``DiskcacheManager`` job) that has no request: there ``current_user()`` reads
``callback_context.custom_data["dash_auth"]``, which Dash ships with the job.
Our ``custom_data`` hook fills it, and only for apps that have background
callbacks: the guard installs the hook when its snapshot of the callback
registry finds one (:func:`install_custom_data_hook`). Dash's hooks are
process-wide and its hook machinery costs about 60 bytecode steps per
callback, with ours as many again, which an app without background callbacks
would pay on every callback for nothing. Once installed, the hook fills the
user in for background callbacks only.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import dash

from .identity import Identity
from .process import PROCESS

CUSTOM_DATA_NAMESPACE = "dash_auth"

#: The attribute of a context key that holds its request's identity.
IDENTITY_ATTRIBUTE = "_dash_auth_identity"

#: What a context knows about its request: the function giving the current
#: request's context key, whose attribute holds the identity; or, for a key that
#: takes no attributes, (that function, the key, its identity).
_Entry = Callable[[], Any] | tuple[Callable[[], Any], Any, "Identity | None"]
_current: ContextVar[_Entry | None] = ContextVar("dash_auth_identity", default=None)


def set_current_user(identity: Identity | None, request: Any = None) -> None:
    """Set the identity for ``request``, the request being handled (the guard calls this)."""
    key = None if request is None else request.context_key
    if key is None:
        _current.set(None)
        return
    if getattr(request, "identity_per_context", False):  # a duck-typed request (tests) has none
        set_in_context(identity, request)
        return
    try:
        key._dash_auth_identity = identity  # IDENTITY_ATTRIBUTE, set without a look-up
    except (AttributeError, TypeError):
        # A custom adapter's key that takes no attributes (a dict, a slotted
        # object): held in the context variable until the next request.
        set_in_context(identity, request)
        return
    current_key = request.current_context_key
    if _current.get() is not current_key:
        _current.set(current_key)  # and unchanged for this thread's later requests


def key_setter(current_context_key: Callable[[], Any]) -> Callable[[Any, Identity | None], None]:
    """A fast :func:`set_current_user` for one adapter's request class, as its ``remember_user`` method.

    For requests whose ``context_key`` always takes attributes and belongs to
    this request alone (not shared by several tasks, as a WebSocket's is), and
    whose ``current_context_key`` is ``current_context_key``: what
    :func:`set_current_user` does for them, in the fewest steps (the guard
    calls it on every request).
    """
    get, set_ = _current.get, _current.set

    def remember_user(request: Any, identity: Identity | None) -> None:
        try:
            request.context_key._dash_auth_identity = identity  # IDENTITY_ATTRIBUTE
        except AttributeError:  # no key after all (a request made outside the adapter's handling)
            set_current_user(identity, request)
            return
        if get() is not current_context_key:
            set_(current_context_key)  # and unchanged for this thread's later requests

    return remember_user


def set_in_context(identity: Identity | None, request: Any) -> None:
    """Set the identity for ``request`` in this context only, not on its key.

    For keys that take no attributes, and for keys that several tasks share
    (a WebSocket's, which the callbacks, the frame pump and the re-checks all
    see): each task keeps the identity it was given.
    """
    _current.set((request.current_context_key, request.context_key, identity))


def _own(entry: _Entry) -> Identity | None:
    """The identity of the request this context is handling, if the guard set one."""
    if type(entry) is tuple:
        current_key, key, identity = entry
        return identity if current_key() is key else None
    now = entry()  # type: ignore[operator]  # a callable: mypy narrows ``type(x) is tuple`` in its branch only
    return None if now is None else getattr(now, IDENTITY_ATTRIBUTE, None)


def request_was_judged() -> bool:
    """Whether the request handled in this context went through a dash-auth guard (anonymous or not).

    For helpers that also serve apps no stack guards (the seed libraries read
    ``session["user"]`` there): a guarded request's only source is the guard.
    """
    entry = _current.get()
    if entry is None:
        return False
    if type(entry) is tuple:
        current_key, key, _identity = entry
        return bool(current_key() is key)
    now = entry()  # type: ignore[operator]  # a callable: mypy narrows ``type(x) is tuple`` in its branch only
    return now is not None and hasattr(now, IDENTITY_ATTRIBUTE)


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


def identity_in(context: Any) -> Identity | None:
    """The identity a queued job's callback context carries (see ``_custom_data``), if any."""
    try:
        data = (context or {}).get("custom_data", {}).get(CUSTOM_DATA_NAMESPACE)
    except AttributeError:
        return None
    if isinstance(data, Identity):
        return data
    return Identity.from_session(data)


def _custom_data(ctx: Any) -> dict[str, Any] | None:
    # Runs before every server callback of every app in the process, once installed.
    # Dash marks a background callback's context with its ``background`` spec under
    # ``ignore_register_page`` (``None``/``False`` for any other callback); a context
    # without the key (another Dash version) gets the user, to be safe.
    if not ctx.get("ignore_register_page", True):
        return None  # an ordinary callback: current_user() reads the request itself
    # The request's own identity only, as in current_user(), but never the
    # custom_data fallback this hook itself feeds.
    entry = _current.get()
    identity = None if entry is None else _own(entry)
    return None if identity is None else identity.to_session()


def install_custom_data_hook() -> None:
    """Register the process-wide ``custom_data`` hook once.

    The guard calls it when an app has background callbacks (see the module's
    docstring); calling it yourself ships the user with background callbacks
    of apps the guard has not seen yet.
    """
    if PROCESS.install_hook_once("custom_data"):
        dash.hooks.custom_data(CUSTOM_DATA_NAMESPACE)(_custom_data)
