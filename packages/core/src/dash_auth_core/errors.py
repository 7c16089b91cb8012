"""Exceptions raised by the stack.

Configuration mistakes fail at start-up with :class:`ConfigurationError`. A
request that must be answered with a refusal right away raises
:class:`RequestRefused` (a plugin's ``authenticate`` may raise it too: a 429
while a login is throttled, a 503 while a store is down); the guard turns it
into that answer, never a 500. :class:`BadRequest` is the refusal of a
request the stack cannot make sense of.
"""

from __future__ import annotations

_ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}


class DashAuthError(Exception):
    """Base class for every error this project raises on purpose."""


class ConfigurationError(DashAuthError, ValueError):
    """The stack was set up wrongly; raised at start-up, not per request."""


class RequestRefused(DashAuthError):
    """Refuse the request now with ``status`` (a 4xx or 5xx), ``message`` and ``headers``.

    Raise it from a hook (``authenticate`` above all) when the answer is
    neither "this user" nor "not mine" nor "wrong credentials" (``REJECT``)::

        raise RequestRefused("too many failed sign-ins", 429, retry_after=60)
        raise RequestRefused("the session store is unreachable", 503)

    The chain stops, nothing else is asked, and the client gets a JSON
    answer ``{"error": error, "message": message}`` with ``headers``.
    ``error`` defaults to a name for the status (``too_many_requests``).
    """

    default_status = 403

    def __init__(
        self,
        message: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        *,
        error: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        code = self.default_status if status is None else status
        if not isinstance(code, int) or not 400 <= code <= 599:
            raise ValueError(f"a refusal's status is a 4xx or 5xx code, not {code!r}")
        self.status = code
        self.message = message
        self.error = error or _ERROR_CODES.get(code, "refused")
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))


class BadRequest(RequestRefused):
    """A request is malformed; ``status`` is the 4xx code to answer with (400 by default)."""

    default_status = 400

    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, status, headers, error="bad_request")
