"""Reverse proxies: ``X-Forwarded-*`` is not trusted unless a proxy-fix for the backend says so.

What depends on the scheme and host: the ``Secure`` flag of the session cookie
and the same-origin check of the stack's forms (logout, login). The set-ups
tested here are the ones the README documents:

* Flask: ``werkzeug.middleware.proxy_fix.ProxyFix`` on ``app.server.wsgi_app``;
* Quart: ``hypercorn.middleware.ProxyFixMiddleware`` on ``app.server.asgi_app``;
* FastAPI: uvicorn's proxy headers (``ProxyHeadersMiddleware``, i.e.
  ``--proxy-headers --forwarded-allow-ips``) for the scheme and client, and
  Starlette's ``TrustedHostMiddleware`` pinning the public host the proxy sets.
"""

from __future__ import annotations

import re

import pytest
import requests
from dash import html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core.testing import AsgiClient, backend_of, basic_header, client_for, make_dash

ALICE = basic_header("alice", "wonderland")
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PUBLIC = "public.example"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC, "X-Forwarded-For": "203.0.113.7"}


def make_app():
    app = make_dash(__name__)
    app.layout = html.Div("the app")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
    return app


def with_proxy_fix(app):
    """``app`` behind the documented proxy-fix for its backend: a client that talks to it."""
    kind = backend_of(app)
    if kind == "flask":
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=1, x_proto=1, x_host=1)
        return client_for(app), "http://localhost"
    if kind == "quart":
        from hypercorn.middleware import ProxyFixMiddleware

        app.server.asgi_app = ProxyFixMiddleware(app.server.asgi_app, mode="legacy", trusted_hops=1)
        return client_for(app), "http://localhost"
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    # The proxy forwards the public host in Host; only that host is served.
    trusted = TrustedHostMiddleware(app.server, allowed_hosts=[PUBLIC])
    asgi = ProxyHeadersMiddleware(trusted, trusted_hosts=["127.0.0.1"])
    return AsgiClient(app, asgi=asgi), f"http://{PUBLIC}"


def cookie_flags(response):
    header = response.headers.get("Set-Cookie", "")
    return [part.strip().lower() for part in header.split(";")[1:]]


def logout_from_public_origin(client, base_url):
    page = client.get("/logout", headers=FORWARDED, base_url=base_url)
    assert page.status_code == 200
    token = TOKEN_RE.search(page.get_data(as_text=True)).group(1)
    headers = {**FORWARDED, "Origin": f"https://{PUBLIC}"}
    return client.post("/logout", data={"csrf_token": token}, headers=headers, base_url=base_url)


def test_forwarded_headers_are_ignored_by_default(backend):
    app = make_app()
    client = client_for(app)
    response = client.get("/", headers={**ALICE, **FORWARDED})
    assert response.status_code == 200
    assert "secure" not in cookie_flags(response)  # X-Forwarded-Proto did not make it HTTPS
    # The form's origin check still sees the real host and scheme: a forged public origin fails.
    assert logout_from_public_origin(client, "http://localhost").status_code == 403


def test_the_documented_proxy_fix_restores_scheme_and_host(backend):
    app = make_app()
    client, base_url = with_proxy_fix(app)
    response = client.get("/", headers={**ALICE, **FORWARDED}, base_url=base_url)
    assert response.status_code == 200
    assert "secure" in cookie_flags(response)
    assert logout_from_public_origin(client, base_url).status_code == 200


@pytest.mark.backends("fastapi", reason="uvicorn's proxy headers and Starlette's trusted hosts")
def test_uvicorn_proxy_headers_only_from_trusted_addresses(backend):
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    app = make_app()
    untrusted = AsgiClient(app, asgi=ProxyHeadersMiddleware(app.server, trusted_hosts=["10.1.2.3"]))
    response = untrusted.get("/", headers={**ALICE, **FORWARDED})
    assert "secure" not in cookie_flags(response)


@pytest.mark.backends("fastapi", reason="Starlette's trusted hosts")
def test_trusted_host_middleware_refuses_other_hosts(backend):
    _app = make_app()
    client, _base = with_proxy_fix(_app)
    assert client.get("/", headers=ALICE, base_url="http://evil.example").status_code == 400


def pin_host(app, host):
    """The documented way to serve one public host only, per backend."""
    kind = backend_of(app)
    if kind == "flask":
        app.server.config["TRUSTED_HOSTS"] = [host]
        return client_for(app)
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    if kind == "quart":
        app.server.asgi_app = TrustedHostMiddleware(app.server.asgi_app, allowed_hosts=[host])
        return client_for(app)
    app.server.add_middleware(TrustedHostMiddleware, allowed_hosts=[host])  # as docs/backends.md shows
    return client_for(app)


def test_a_pinned_host_is_the_only_one_served(backend):
    """What builds absolute URLs from the Host header (OIDC redirect URIs) then sees only the real host."""
    app = make_app()
    client = pin_host(app, PUBLIC)
    for path in ("/", "/_dash-layout", "/logout"):
        # Refused before the guard: not even a login challenge for a forged host.
        response = client.get(path, base_url="http://evil.example")
        assert response.status_code == 400, path
        assert "WWW-Authenticate" not in response.headers
    assert client.get("/", headers=ALICE, base_url=f"http://{PUBLIC}").status_code == 200
    assert client.get("/_dash-layout", base_url="http://evil.example").status_code == 400


@pytest.mark.backends("quart", "fastapi", reason="real ASGI servers")
def test_real_servers_do_not_trust_forwarded_headers_unless_told(backend, live):
    app = make_app()
    options = {"config": {"proxy_headers": False}} if backend == "fastapi" else {}
    server = live(app, **options)
    response = requests.get(server.url("/"), headers={**ALICE, **FORWARDED}, timeout=10)
    assert response.status_code == 200
    assert "secure" not in [p.strip().lower() for p in response.headers["Set-Cookie"].split(";")[1:]]


@pytest.mark.backends("fastapi", reason="uvicorn's --proxy-headers --forwarded-allow-ips")
def test_uvicorn_with_proxy_headers_for_the_proxy_address(backend, live):
    app = make_app()
    server = live(app, config={"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1"})
    response = requests.get(server.url("/"), headers={**ALICE, **FORWARDED}, timeout=10)
    assert "secure" in [p.strip().lower() for p in response.headers["Set-Cookie"].split(";")[1:]]
