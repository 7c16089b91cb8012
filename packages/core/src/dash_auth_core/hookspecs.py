"""The hooks a dash-auth plugin can implement: the whole contract in one screen.

Every hook receives framework-neutral objects: ``request`` is a
:class:`dash_auth_core.Request`, ``resource`` a :class:`dash_auth_core.Resource`,
answers are :class:`dash_auth_core.Response`. Implementations may accept any
subset of a hook's arguments, by name.

Hooks are plain functions on every backend: an ``async def`` implementation
is refused when the plugin joins (:class:`~dash_auth_core.ConfigurationError`).
Before blocking work (hashing a password, calling the network) call
``request.allow_blocking()``: on Quart and FastAPI the stack then runs the
hooks again in a worker thread, so the event loop never waits.

Results are held to the contract (see :mod:`dash_auth_core.chain`): an answer
outside it never lets a request in, and is logged naming the plugin.

Order: pluggy's. ``tryfirst``/``trylast`` move an implementation; otherwise the
plugin that joined last is asked first (see :mod:`dash_auth_core.plugins`).
Plugins that call the network should be ``trylast`` so cheap local checks
answer first. Whatever the order, wrong credentials refuse the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .backends import Request
    from .identity import AuthResult, Identity
    from .resources import Resource
    from .responses import Response
    from .stack_view import StackView

PROJECT_NAME = "dash_auth"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def authenticate(request: Request) -> AuthResult:
    """Say who the request comes from, judging only credentials that are yours.

    Four outcomes:

    * an :class:`Identity`: credentials of yours that you verified;
    * ``None``: nothing of yours in the request ("not mine"), ask the others;
    * :data:`~dash_auth_core.REJECT`: credentials of yours that are wrong. The
      request is refused whatever any other plugin vouches for (a valid
      session, another provider's header) and whatever the order; your
      ``challenge`` is asked first to answer it;
    * raise :class:`~dash_auth_core.RequestRefused` to answer at once with its
      status (429 while a login is throttled, 503 while a store is down).

    Every plugin is asked; the first identity wins unless someone rejects.
    The core's session reader is asked last, only when nobody vouched for
    anyone. Called for every request that is not a static Dash file, public
    or not, so keep it cheap. Anything else returned (a dict, a coroutine)
    or raised refuses the request and is logged.
    """


@hookspec
def authorize(identity: Identity | None, resource: Resource, request: Request) -> bool | None:
    """Vote on whether ``identity`` may use ``resource``.

    Return ``False`` to deny (any deny wins, whatever other plugins say),
    ``True`` to allow even without an identity, or ``None`` to abstain. When
    everyone abstains, public resources are allowed and everything else needs
    an identity. Anything else returned, or raised, denies.
    """


@hookspec
def challenge(request: Request, resource: Resource, reason: str, refused_by: Any) -> Response | None:
    """Return the response that asks the user to log in or explains a refusal.

    ``reason`` is ``"unauthenticated"`` (no identity) or ``"forbidden"`` (an
    identity that was denied). ``refused_by`` is the plugin whose
    ``authenticate`` rejected the request's credentials (``None`` when nobody
    did): that plugin is asked first, so a provider answers its own refusals.
    For ``resource.wants_json`` (callbacks and Dash's JSON endpoints) answer
    with JSON and a 4xx status, or return ``None``: anything else is ignored
    there. First valid answer wins; the core's fallback answers 401/403.
    """


@hookspec
def on_login(identity: Identity, request: Request) -> None:
    """Called after a successful login, once the session holds ``identity``."""


@hookspec
def on_logout(identity: Identity | None, request: Request) -> None:
    """Called before the session is cleared on logout.

    Also called for the login a session held when a new login replaces it
    (another user signing in in the same browser): that login ends too.
    If an implementation raises, the error is logged, the implementations
    after it are not called, and the session is cleared all the same.
    """


@hookspec(historic=True)
def setup(app: Any, auth: StackView) -> None:
    """Called once when the plugin joins an app's stack: add routes, read and check settings.

    ``auth`` is the app's :class:`~dash_auth_core.AuthStack`;
    ``auth.plugin_config(name)`` gives the settings the app passed for the
    plugin; raise :class:`~dash_auth_core.ConfigurationError` when they are
    wrong, and the app fails at start-up. Historic: a plugin registered after
    the stack was created is still called.
    """
