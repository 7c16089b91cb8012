"""A response that depends on the session says so (``Vary: Cookie``) wherever a cache may store it,
whether or not the session reader remembered its login (sessions/logins.py) instead of reading the
session.

Caches store responses to GET and HEAD, and a response to POST only if it names a
``Content-Location`` (RFC 9110, section 9.3.3); to other methods none. So a stored session's page
varies by cookie, and so does a POST answer that names its location; Dash's callback answers (POSTs
that name none) carry no ``Vary``, which no cache could use.

On a remembered login nothing loads the session. With a server-side store the record was read (its
bytes are the login's key), and the save step runs for it, adding ``Vary: Cookie``. With signed
cookies the session reader reads the session of a page (GET, HEAD) it remembered, so that the save
step runs for it too. Every backend.
"""

from __future__ import annotations

import pytest
from flask import Response as FlaskResponse
from session_support import call, form_app, new_client, sign_in

from dash_auth_core.backends._server_sessions import vary_on_cookie
from dash_auth_core.testing import server_route


def _varies_by_cookie(response) -> bool:
    return any(
        token.strip().lower() == "cookie"
        for value in response.headers.getlist("Vary")
        for token in value.split(",")
    )


def test_a_remembered_login_from_a_store_varies_by_cookie_where_a_cache_may_store_the_answer(redis_url):
    app, _ = form_app(session_store=redis_url)
    browser = new_client(app)
    sign_in(browser)
    for _ in range(3):  # the first reads the session; the next ones use the remembered login
        page = browser.get("/")
        assert page.status_code == 200 and _varies_by_cookie(page)
        head = browser.head("/")  # (FastAPI's Dash answers HEAD with a 405)
        assert head.status_code == 200 and _varies_by_cookie(head) or head.status_code == 405
        answer = call(browser, app)
        assert answer.status_code == 200 and "hello alice" in answer.get_data(as_text=True)
        assert not _varies_by_cookie(answer)  # a callback POST names no location: no cache reuses it


def test_a_post_answer_that_names_its_location_varies_by_cookie(redis_url, backend):
    app, _ = form_app(session_store=redis_url)
    # A cache may store this answer and give it to a later GET of /export (RFC 9110, 9.3.3).
    located = {"Content-Location": "/export", "Cache-Control": "max-age=60"}

    @server_route(app, "/export", methods=("POST",))
    def export():
        if backend == "fastapi":
            from starlette.responses import PlainTextResponse

            return PlainTextResponse("exported", headers=located)
        return "exported", 200, located

    browser = new_client(app)
    sign_in(browser)
    for _ in range(2):
        response = browser.post("/export")
        assert response.status_code == 200 and response.get_data(as_text=True) == "exported"
        assert _varies_by_cookie(response)


@pytest.mark.parametrize(
    ("method", "before", "after"),
    [
        ("GET", [], ["Cookie"]),
        ("HEAD", [], ["Cookie"]),
        ("GET", ["Accept-Encoding"], ["Accept-Encoding, Cookie"]),
        ("GET", ["Accept-Encoding", "Origin"], ["Accept-Encoding, Origin, Cookie"]),  # one line for all
        ("GET", ["cookie"], ["cookie"]),  # already there (any case)
        ("GET", ["Origin, Cookie"], ["Origin, Cookie"]),
        ("GET", ["X-Cookie-Flavour"], ["X-Cookie-Flavour, Cookie"]),  # a token, not a substring
        ("POST", [], []),  # names no location: no cache stores it
        ("POST", ["Accept-Encoding"], ["Accept-Encoding"]),
        ("PUT", [], []),
        ("DELETE", [], []),
        ("PATCH", [], []),
    ],
)
def test_vary_on_cookie_adds_the_token_once_where_a_cache_may_store_the_answer(method, before, after):
    response = FlaskResponse("x")
    for value in before:
        response.headers.add("Vary", value)
    vary_on_cookie(response, method)
    assert response.headers.getlist("Vary") == after


def test_a_post_answer_that_names_a_location_gets_vary_too():
    response = FlaskResponse("x", headers={"Content-Location": "/export"})
    vary_on_cookie(response, "POST")
    assert response.headers.getlist("Vary") == ["Cookie"]


def test_a_remembered_login_from_a_signed_cookie_varies_by_cookie_where_a_cache_may_store_the_answer():
    app, _ = form_app()
    browser = new_client(app)
    sign_in(browser)
    for _ in range(3):  # the first reads the session; the next ones use the remembered login
        page = browser.get("/")
        assert page.status_code == 200 and _varies_by_cookie(page)
        answer = call(browser, app)
        assert answer.status_code == 200 and "hello alice" in answer.get_data(as_text=True)
