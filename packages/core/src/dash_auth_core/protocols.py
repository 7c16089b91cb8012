"""Typing protocols for plugin authors: what each hook looks like on a plugin object.

A plugin implements any subset of the hooks; these describe one hook each,
so a type checker can hold a plugin class to the contract::

    from dash_auth_core import AuthResult, Request, hookimpl
    from dash_auth_core.protocols import Authenticator

    class ApiKeys:
        @hookimpl
        def authenticate(self, request: Request) -> AuthResult: ...

    provider: Authenticator = ApiKeys()   # checked by mypy or pyright

The hooks themselves (and what each answer means) are in
:mod:`dash_auth_core.hookspecs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .backends import Request
    from .identity import AuthResult, Identity
    from .resources import Resource
    from .responses import Response
    from .stack import AuthStack


@runtime_checkable
class Authenticator(Protocol):
    """Turns requests into identities (``None``: not mine; ``REJECT``: mine and wrong)."""

    def authenticate(self, request: Request) -> AuthResult: ...


@runtime_checkable
class Authorizer(Protocol):
    """Votes ``True`` (allow), ``False`` (deny) or ``None`` (abstain) on each request."""

    def authorize(self, identity: Identity | None, resource: Resource, request: Request) -> bool | None: ...


@runtime_checkable
class Challenger(Protocol):
    """Answers refusals: a login page, a 401 with ``WWW-Authenticate``, a JSON error."""

    def challenge(self, request: Request, resource: Resource, reason: str, refused_by: Any) -> Response | None: ...


@runtime_checkable
class LoginListener(Protocol):
    """Hears of logins and logouts (audit, user stores, token revocation)."""

    def on_login(self, identity: Identity, request: Request) -> None: ...

    def on_logout(self, identity: Identity | None, request: Request) -> None: ...


@runtime_checkable
class SetUp(Protocol):
    """Adds routes and reads its settings when it joins an app's stack."""

    def setup(self, app: Any, auth: AuthStack) -> None: ...


@runtime_checkable
class Provider(Authenticator, Challenger, SetUp, Protocol):
    """A credential provider: authenticates its own credentials, answers its own refusals, sets up routes."""
