"""The core's pages, one function each, for hooks and views to answer with.

Plugins call these (or :func:`~dash_auth_core.ui.render_page` with a
template of their own) instead of writing HTML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from .. import csrf
from ..responses import Response, safe_next
from .render import render_page, translate

if TYPE_CHECKING:
    from ..backends import Request
    from ..resources import Resource
    from ..stack_view import StackView


def _retry_url(request: Request, stack: StackView | None) -> str:
    """This page again (GET), as the browser sees it."""
    if stack is None:
        return "/"
    path = request.path
    prefix = stack.routes_prefix
    target = stack.url_for(path[len(prefix) - 1:]) if path.startswith(prefix) else path
    from urllib.parse import urlencode

    query = urlencode(request.query_pairs)
    # A path a browser reads as another host (``/\\evil.example``, ``//evil.example``) is no retry link.
    return safe_next(f"{target}?{query}" if query else target, prefix="/", default=stack.requests_prefix)


def sign_in_required_page(request: Request, *, basic: bool = False, headers: dict[str, str] | None = None) -> Response:
    """401 (``sign_in_required.html``): the Basic prompt was cancelled, or no provider offers a login page."""
    stack = request.auth
    return render_page(request, "sign_in_required.html", 401, headers=headers,
                       basic=basic, retry_url=_retry_url(request, stack))


def forbidden_page(request: Request, resource: Resource | None = None) -> Response:
    """403 (``forbidden.html``): signed in, not allowed; offers to sign out (to switch users)."""
    stack = request.auth
    context: dict[str, Any] = {"resource_name": resource.name if resource is not None else None}
    identity = request.state.get("identity")
    if stack is not None and identity is not None:
        from .routes import logout_url

        context["logout_url"] = logout_url(stack, request, identity)
        context["csrf_token"] = csrf.token(request)
    return render_page(request, "forbidden.html", 403, **context)


def too_many_attempts_page(request: Request, retry_after: float, headers: dict[str, str] | None = None) -> Response:
    """429 (``too_many_attempts.html``) with the time to wait, and ``Retry-After``."""
    seconds = str(max(1, int(retry_after + 0.999)))
    merged = {"Retry-After": seconds, **(headers or {})}
    return render_page(request, "too_many_attempts.html", 429, headers=merged,
                       retry_after=int(seconds), retry_url=_retry_url(request, request.auth))


def unavailable_page(
    request: Request, status: int = 503, *, message: str | None = None, heading: str | None = None,
    retry_after: float | None = 30, retry_url: str | None = None, headers: dict[str, str] | None = None,
) -> Response:
    """424 or 503 (``unavailable.html``): a provider or store cannot be reached; ``Retry-After``."""
    merged = dict(headers or {})
    if retry_after is not None:
        merged.setdefault("Retry-After", str(max(1, int(retry_after + 0.999))))
    return render_page(request, "unavailable.html", status, headers=merged, message=message, heading=heading,
                       retry_after=retry_after, retry_url=retry_url or _retry_url(request, request.auth))


def error_page(
    request: Request, status: int, message: str, *, heading: str | None = None, retry_url: str | None = None,
    retry_id: str | None = None, headers: dict[str, str] | None = None, stack: StackView | None = None,
) -> Response:
    """Any other refusal (``error.html``): ``message`` (already in the user's language) is escaped."""
    return render_page(request, "error.html", status, stack=stack, headers=headers, heading=heading,
                       message=message, retry_url=retry_url, retry_id=retry_id)


def refusal_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The page for a request refused with ``status`` before any provider challenged it.

    The guard's answer to a browser's page request that an ``authenticate``
    refused (``RequestRefused``/``BadRequest`` with 429, 503, ...): 429 and
    503/424 get their own pages, the rest ``error.html`` with ``message``.
    """
    headers = dict(headers or {})
    wait = _seconds(headers.get("Retry-After"))
    if status == 429:
        return too_many_attempts_page(request, 60.0 if wait is None else wait, headers)
    if status in (424, 503):
        return unavailable_page(request, status, headers=headers, retry_after=wait)

    return error_page(request, status, translate(request, "This request could not be handled."), headers=headers)


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (``None`` for an HTTP date or junk)."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def confirmation_page(
    request: Request, stack: StackView, action: str, *, status: int = 200, error: str | None = None,
    button_id: str = "dash-auth-logout", everywhere: bool = False,
) -> Response:
    """The GET page (``logout_confirm.html``): a form that signs out with a POST to ``action``.

    ``everywhere`` adds a second button that ends every session of the user (``everywhere=1``).
    """
    return render_page(
        request, "logout_confirm.html", status, stack=stack,
        action=action, csrf_token=csrf.token(request), error=error, button_id=button_id, everywhere=everywhere,
    )


def signed_out_page(request: Request, stack: StackView, message_id: str = "dash-auth-signed-out") -> Response:
    """The page after signing out (``signed_out.html``), with the snippets plugins add."""
    return render_page(
        request, "signed_out.html", 200, stack=stack,
        headers={"Clear-Site-Data": '"cache"'},
        snippets=Markup("".join(stack.logout_snippets)), message_id=message_id, user=None,
    )
