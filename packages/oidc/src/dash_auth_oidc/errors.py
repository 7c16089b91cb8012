"""What can go wrong in an OpenID Connect login, each with the answer it gets.

Every failure of the protocol (a bad state, a provider error, an ID token
that does not validate, an unreachable provider) is a :class:`LoginError`
carrying the HTTP status of the page the user sees and the reason that is
logged. The views turn them into small HTML pages; nothing here is ever a 500.
"""

from __future__ import annotations

from collections.abc import Mapping


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for translation, translate later"
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


class OIDCError(Exception):
    """Base class of this package's errors."""


class LoginError(OIDCError):
    """A login that must not go ahead.

    ``status`` is the HTTP status of the page shown, ``title`` and
    ``message`` are shown to the user (escaped, in their language when the
    catalogue has the English text), ``reason`` is logged (and defaults to
    ``message``). ``retry`` offers a "sign in again" link. ``params`` fill
    ``%(name)s`` places of ``message`` after it is translated (values from a
    provider's answer stay out of the catalogue's keys this way).
    """

    status = 400
    title = N_("Sign-in failed")

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        status: int | None = None,
        title: str | None = None,
        retry: bool = True,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.template = message
        self.params = dict(params or {})
        if self.params:
            message = message % self.params
        super().__init__(message)
        self.message = message
        self.reason = reason or message
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.retry = retry


class BadCallback(LoginError):
    """The request to the callback route is malformed, replayed or expired (400)."""

    status = 400
    title = N_("Sign-in could not be completed")


class ProviderRefused(LoginError):
    """The provider answered the login with an error (``error=access_denied``, ``invalid_grant``)."""

    status = 401
    title = N_("Sign-in was not completed")


class TokenValidationError(LoginError):
    """A token from the provider (or a bearer token) failed validation (401)."""

    status = 401
    title = "Sign-in failed"


class ProviderUnavailable(LoginError):
    """The provider could not be reached or answered garbage (424, retry later).

    424 Failed Dependency: the user's request was acceptable, the sign-in it
    depends on could not be done. A 4xx, so an identity provider's outage
    never shows up as an error of this app; the page says to try again and
    carries ``Retry-After``.
    """

    status = 424
    title = N_("Sign-in service unavailable")


class UnknownProvider(LoginError):
    """A provider name that is not registered (404)."""

    status = 404
    title = N_("Unknown sign-in provider")


class LoginRefused(LoginError):
    """Raised by an ``after_logged_in`` hook to refuse a user the provider accepted (403)."""

    status = 403
    title = N_("Sign-in refused")

    def __init__(self, message: str = N_("You may not sign in to this app."), **kwargs: object) -> None:
        kwargs.setdefault("retry", False)
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
