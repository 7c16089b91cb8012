"""Clerk's Backend API through the real SDK, with timeouts and without retries.

``clerk-backend-api`` retries connection errors with backoff for up to an
hour by default: a Clerk outage would hang every sign-in. Every call here
passes a timeout and no retries, and turns the SDK's errors into this
package's: :class:`ClerkRefused` (Clerk said no: unknown user or session,
a wrong secret key) and :class:`ClerkUnavailable` (no answer in time, a 5xx,
or JSON the SDK could not parse).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from clerk_backend_api import Clerk, models
from clerk_backend_api.utils import BackoffStrategy, RetryConfig

from .errors import ClerkRefused, ClerkUnavailable

log = logging.getLogger("dash_auth.clerk")
T = TypeVar("T")

#: The SDK's own default is exponential backoff for an hour.
NO_RETRIES = RetryConfig("none", BackoffStrategy(1, 1, 1, 1), False)
#: Session statuses under which a login holds (``pending``: signed in, tasks left to do).
LIVE_STATUSES = frozenset({"active", "pending"})


class BackendAPI:
    """The few Backend API calls a sign-in needs: users, sessions, the instance's keys."""

    def __init__(self, secret_key: str, api_url: str, timeout: float = 5.0) -> None:
        self.timeout_ms = max(1, int(timeout * 1000))
        self.server_url = api_url.rstrip("/") + "/v1"
        self.sdk = Clerk(
            bearer_auth=secret_key,
            server_url=self.server_url,
            retry_config=NO_RETRIES,
            timeout_ms=self.timeout_ms,
        )

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except models.ResponseValidationError as exc:
            raise ClerkUnavailable(
                "Clerk answered in a way this app does not understand. Try again later.",
                reason=f"{what}: unreadable answer ({exc.message[:200]})",
            ) from None
        except models.ClerkBaseError as exc:
            status = exc.status_code
            if status >= 500 or status == 429:
                raise ClerkUnavailable(
                    "Clerk is not available right now. Try again in a moment.",
                    reason=f"{what}: Clerk answered {status}",
                ) from None
            raise ClerkRefused(
                "Clerk does not know this sign-in.",
                reason=f"{what}: Clerk answered {status} {_error_code(exc)}",
            ) from None
        except (httpx.HTTPError, models.NoResponseError, OSError) as exc:
            raise ClerkUnavailable(
                "Clerk could not be reached. Try again in a moment.",
                reason=f"{what}: {type(exc).__name__}: {exc}"[:300],
            ) from None

    def user(self, user_id: str) -> models.User:
        """The user record (``users.get``)."""
        return self._call(
            f"users.get({user_id!r})",
            lambda: self.sdk.users.get(user_id=user_id, retries=NO_RETRIES, timeout_ms=self.timeout_ms),
        )

    def session_status(self, session_id: str) -> str:
        """The session's status at Clerk (``active``, ``revoked``, ``ended``, ...; ``sessions.get``)."""
        session = self._call(
            f"sessions.get({session_id!r})",
            lambda: self.sdk.sessions.get(session_id=session_id, retries=NO_RETRIES, timeout_ms=self.timeout_ms),
        )
        status = session.status
        return str(getattr(status, "value", status))

    def revoke(self, session_id: str) -> None:
        """End the session at Clerk (``sessions.revoke``): every device holding it is signed out."""
        self._call(
            f"sessions.revoke({session_id!r})",
            lambda: self.sdk.sessions.revoke(session_id=session_id, retries=NO_RETRIES, timeout_ms=self.timeout_ms),
        )

    def jwks(self) -> list[dict[str, Any]]:
        """The instance's signing keys (``jwks.get_jwks``), as JWK dicts."""
        answer = self._call("jwks.get_jwks", lambda: self.sdk.jwks.get_jwks(retries=NO_RETRIES, timeout_ms=self.timeout_ms))
        return [key.model_dump(exclude_none=True) for key in (answer.keys or [])]


def _error_code(exc: models.ClerkBaseError) -> str:
    data = getattr(exc, "data", None)
    errors = getattr(data, "errors", None) or []
    codes = [str(getattr(e, "code", "")) for e in errors[:3]]
    return ",".join(c for c in codes if c) or "-"
