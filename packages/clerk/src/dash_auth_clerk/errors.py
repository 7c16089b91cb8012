"""What can go wrong in a Clerk sign-in, each with the status of the answer it gets.

A :class:`ClerkError` carries the HTTP status of the page or JSON the user
sees, a message shown to them and a reason that is logged. Views and hooks
turn them into 4xx/503 answers; nothing here is ever a 500.

Messages and titles are English source strings of the package's gettext
catalogue (``hatch run messages`` collects the messages from the exception
calls themselves): the pages show them in the user's language.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for translation, translate later"
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


class ClerkError(Exception):
    """Base class of this package's errors.

    ``status`` is the HTTP status of the answer, ``message`` is shown to the
    user (escaped, translated when the catalogue has it), ``reason`` is
    logged (it defaults to ``message``).
    """

    status = 400
    title = N_("Sign-in failed")

    def __init__(self, message: str, *, reason: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or message
        if status is not None:
            self.status = status


class TokenRejected(ClerkError):
    """A session token that does not verify: forged, expired, for another party, malformed (401)."""

    status = 401


class BadCallback(ClerkError):
    """A call of the callback route that is malformed, cross-site or replayed (400/403)."""

    status = 400
    title = N_("Sign-in could not be completed")


class ClerkUnavailable(ClerkError):
    """Clerk's Backend API could not be reached in time or answered garbage.

    424 (Failed Dependency) at sign-in, as for the OpenID providers: the
    request was fine, the service it depends on was not. A signed-in request
    whose session check cannot reach Clerk gets a 503 instead.
    """

    status = 424
    title = N_("Sign-in service unavailable")


class ClerkRefused(ClerkError):
    """Clerk's Backend API answered that the user or session does not exist, or refused our key (401)."""

    status = 401


class LoginRefused(ClerkError):
    """Raised by a ``login_user_callback`` to refuse a user Clerk accepted (403)."""

    status = 403
    title = N_("Sign-in refused")

    def __init__(self, message: str = N_("You may not sign in to this app."), **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
