"""Exceptions raised by the stack.

Configuration mistakes fail at start-up with :class:`ConfigurationError`; a
request the guard cannot make sense of raises :class:`BadRequest`, which the
guard turns into a 4xx answer, never a 500.
"""

from __future__ import annotations


class DashAuthError(Exception):
    """Base class for every error this project raises on purpose."""


class ConfigurationError(DashAuthError, ValueError):
    """The stack was set up wrongly; raised at start-up, not per request."""


class BadRequest(DashAuthError):
    """A request is malformed; ``status`` is the 4xx code to answer with."""

    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
