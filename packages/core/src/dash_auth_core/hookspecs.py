"""The hooks a dash-auth plugin can implement.

Every hook receives framework-neutral objects: ``request`` is a
:class:`dash_auth_core.backends.Request`, ``resource`` a
:class:`dash_auth_core.resources.Resource`, answers are
:class:`dash_auth_core.responses.Response`. Implementations may accept any
subset of a hook's arguments, by name.

Ordering follows pluggy: ``tryfirst``/``trylast`` move an implementation in
the chain; otherwise the plugin registered last runs first. Plugins that call
the network should be ``trylast`` so cheap local checks answer first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .backends import Request
    from .identity import Identity
    from .resources import Resource
    from .responses import Response
    from .stack import AuthStack

PROJECT_NAME = "dash_auth"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def authenticate(request: Request) -> Identity | None:
    """Turn the request into an :class:`Identity`, or ``None`` if not yours.

    First result wins: return ``None`` to let the next plugin try. Return an
    identity only for credentials you verified. Return
    :data:`dash_auth_core.REJECT` when the request carries credentials of
    yours that are wrong: the chain stops and the request is anonymous, so a
    later plugin (such as the session) cannot let it in. Called for every
    request that is not a static Dash file, public or not, so keep it cheap.
    """


@hookspec
def authorize(identity: Identity | None, resource: Resource, request: Request) -> bool | None:
    """Vote on whether ``identity`` may use ``resource``.

    Return ``False`` to deny (any deny wins, whatever other plugins say),
    ``True`` to allow even without an identity, or ``None`` to abstain. When
    everyone abstains, public resources are allowed and everything else needs
    an identity.
    """


@hookspec(firstresult=True)
def challenge(request: Request, resource: Resource, reason: str) -> Response | None:
    """Return the response that asks the user to log in or explains a refusal.

    ``reason`` is ``"unauthenticated"`` (no identity) or ``"forbidden"`` (an
    identity that was denied). First result wins; the core's fallback answers
    401/403. Not called for callback requests: those always get a JSON error.
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
def setup(app: Any, auth: AuthStack) -> None:
    """Called once when the plugin joins an app's stack: add routes and settings here.

    Historic: a plugin registered after the stack was created is still called.
    """
