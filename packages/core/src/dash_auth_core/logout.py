"""Logout: a confirmation page on GET, the real thing on a same-origin POST.

Logging out by GET would let any page log users out with an ``<img>`` tag, so
the GET only shows a form; the POST checks the CSRF token, calls
``on_logout``, clears the session and shows the signed-out page (plus any
snippets plugins add, such as Basic's credential-forgetting script). Its
second button signs out everywhere: every other login of the user ends too
(:func:`~dash_auth_core.revoke_user`).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from . import csrf
from .backends import Request
from .errors import BadRequest
from .responses import Response, html_page

if TYPE_CHECKING:
    from .stack import AuthStack


def install(stack: AuthStack) -> None:
    """Add the logout route to the app."""
    url = stack.url_for(stack.logout_route)
    home = stack.url_for("/")

    def view(request: Request) -> Response:
        if request.method == "POST":
            try:
                submitted = request.form.get(csrf.FIELD)
            except BadRequest:
                submitted = None
            if not csrf.check(request, submitted):
                return html_page(
                    403,
                    "Sign-out not confirmed",
                    "<p>This sign-out request did not come from this site's form.</p>"
                    f'<p><a href="{html.escape(url)}">Try again</a></p>',
                )
            try:
                everywhere = request.form.get("everywhere") == "1"
            except BadRequest:
                everywhere = False
            stack.logout(request, everywhere=everywhere)
            snippets = "".join(stack.logout_snippets)
            return html_page(
                200,
                "Signed out",
                f'<p>You are signed out.</p><p><a href="{html.escape(home)}">Back to the app</a></p>{snippets}',
                headers={"Clear-Site-Data": '"cache"'},
            )
        token = csrf.token(request)
        return html_page(
            200,
            "Sign out?",
            f'<form method="post" action="{html.escape(url)}">'
            f'<input type="hidden" name="{csrf.FIELD}" value="{html.escape(token)}">'
            '<button type="submit" id="sign-out">Sign out</button> '
            '<button type="submit" name="everywhere" value="1" id="sign-out-everywhere">'
            "Sign out on every device</button></form>",
        )

    stack.add_route(stack.logout_route, view, methods=("GET", "POST"), public=True, endpoint="dash_auth_logout")
