"""Logout: a confirmation page on GET, the real thing on a same-origin POST.

Logging out by GET would let any page log users out with an ``<img>`` tag, so
the GET only shows a form; the POST checks the CSRF token, calls
``on_logout``, clears the session and shows the signed-out page (plus any
snippets plugins add, such as Basic's credential-forgetting script). Its
second button signs out everywhere: every other login of the user ends too
(:func:`~dash_auth_core.revoke_user`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import csrf
from .backends import Request
from .errors import BadRequest
from .responses import Response
from .ui.pages import confirmation_page, signed_out_page

if TYPE_CHECKING:
    from .stack_view import StackView


def install(stack: StackView) -> None:
    """Add the logout route to the app."""
    url = stack.url_for(stack.logout_route)

    def view(request: Request) -> Response:
        if request.method == "POST":
            try:
                submitted = request.form.get(csrf.FIELD)
            except BadRequest:
                submitted = None
            if not csrf.check(request, submitted):
                return confirmation_page(request, stack, url, status=403, error="csrf", everywhere=True)
            try:
                everywhere = request.form.get("everywhere") == "1"
            except BadRequest:
                everywhere = False
            stack.logout(request, everywhere=everywhere)
            return signed_out_page(request, stack)
        return confirmation_page(request, stack, url, everywhere=True)

    stack.add_route(stack.logout_route, view, methods=("GET", "POST"), public=True, endpoint="dash_auth_logout")
