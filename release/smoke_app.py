"""Smoke apps for the release check: a real server, real requests, in an environment made from the built wheels.

    python smoke_app.py basic            # dash-auth-basic on Flask
    python smoke_app.py basic-quart      # ... on Quart (hypercorn), dash-auth-core[quart]
    python smoke_app.py basic-fastapi    # ... on FastAPI (uvicorn), dash-auth-core[fastapi]
    python smoke_app.py basic-async      # an async callback on Flask, dash-auth-core[async]
    python smoke_app.py groups           # dash-auth-groups' page rules, users from dash-auth-basic
    python smoke_app.py oidc             # dash-auth-oidc against a local stand-in provider (bearer tokens)
    python smoke_app.py clerk            # dash-auth-clerk: tokens verified with CLERK_JWT_KEY, users from a stand-in

Each scenario builds a small app, serves it on 127.0.0.1 (a free port) with
the server its backend uses, and checks over HTTP that an anonymous request
is refused (401) and a signed-in one served (200). It uses only what the
installed distributions bring (and the standard library): nothing of the
repository is importable from where ``release/check.py`` runs it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "smoke-secret-key-0123456789abcdef0123456789"
ALICE = ("alice", "alice-smoke-password")
BOB = ("bob", "bob-smoke-password")
checks: list[str] = []


# -- HTTP --------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def request(base: str, path: str, headers: dict[str, str] | None = None,
            body: Any = None) -> tuple[int, Any, str]:
    """Status, headers (case-insensitive) and text of one request; redirects are not followed."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, headers=dict(headers or {}),
                                 method="GET" if body is None else "POST")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with _opener.open(req, timeout=30) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


def expect(what: str, got: int, wanted: int, text: str = "") -> None:
    if got != wanted:
        raise SystemExit(f"smoke: {what}: HTTP {got}, expected {wanted}\n{text[:500]}")
    checks.append(f"{what}: {got}")


def basic(user: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(":".join(user).encode()).decode()}


# -- servers ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"smoke: nothing listens on port {port} after {seconds} s")


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a Dash app on 127.0.0.1 with its backend's server; yields the base URL."""
    backend = getattr(getattr(app, "backend", None), "server_type", "flask")
    port = free_port()
    if backend == "flask":
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

        server = make_server("127.0.0.1", port, app.server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stop: Callable[[], None] = server.shutdown
    elif backend == "quart":
        from hypercorn.asyncio import serve as hypercorn_serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = None
        config.loglevel = "WARNING"
        done = threading.Event()

        async def run() -> None:
            loop = asyncio.get_running_loop()
            await hypercorn_serve(app.server, config, shutdown_trigger=lambda: loop.run_in_executor(None, done.wait))

        thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
        thread.start()
        stop = done.set
    elif backend == "fastapi":
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(app.server, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()

        def stop() -> None:
            server.should_exit = True
    else:
        raise SystemExit(f"smoke: no server for the {backend!r} backend")
    try:
        wait_for(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop()
        thread.join(15)


# -- scenarios ------------------------------------------------------------------


def scenario_basic(backend: str = "flask") -> None:
    from dash import Dash, html

    from dash_auth_basic import BasicAuth

    app = Dash(__name__, backend=backend) if backend != "flask" else Dash(__name__)
    app.layout = html.Div("the private layout")
    BasicAuth(app, dict([ALICE]), secret_key=SECRET)
    with serve(app) as base:
        status, headers, _ = request(base, "/")
        expect(f"{backend}: anonymous page", status, 401)
        if not headers.get("WWW-Authenticate", "").startswith("Basic"):
            raise SystemExit(f"smoke: {backend}: no Basic challenge: {dict(headers)}")
        expect(f"{backend}: anonymous layout", request(base, "/_dash-layout")[0], 401)
        expect(f"{backend}: wrong password", request(base, "/_dash-layout", basic((ALICE[0], "nope")))[0], 401)
        status, _, text = request(base, "/_dash-layout", basic(ALICE))
        expect(f"{backend}: signed-in layout", status, 200, text)
        if "the private layout" not in text:
            raise SystemExit(f"smoke: {backend}: the layout is not the app's: {text[:200]}")
        expect(f"{backend}: signed-in page", request(base, "/", basic(ALICE))[0], 200)


def scenario_basic_async() -> None:
    from dash import Dash, Input, Output, html

    from dash_auth_basic import BasicAuth

    app = Dash(__name__)
    app.layout = html.Div([html.Button(id="go"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("go", "n_clicks"))
    async def clicked(n_clicks: Any) -> str:
        await asyncio.sleep(0)
        return f"async says {n_clicks}"

    BasicAuth(app, dict([ALICE]), secret_key=SECRET)
    body = {"output": "out.children", "outputs": {"id": "out", "property": "children"},
            "inputs": [{"id": "go", "property": "n_clicks", "value": 3}], "changedPropIds": ["go.n_clicks"],
            "state": []}
    with serve(app) as base:
        expect("async: anonymous callback", request(base, "/_dash-update-component", body=body)[0], 401)
        status, _, text = request(base, "/_dash-update-component", basic(ALICE), body=body)
        expect("async: signed-in callback", status, 200, text)
        if "async says 3" not in text:
            raise SystemExit(f"smoke: the async callback did not run: {text[:200]}")


def scenario_groups() -> None:
    import dash
    from dash import Dash, html

    from dash_auth_basic import BasicAuth

    app = Dash(__name__, use_pages=True, pages_folder="")
    dash.register_page("home", path="/", layout=html.Div("home"))
    dash.register_page("admin", path="/admin", layout=html.Div("admin area"), groups=["admin"])
    app.layout = html.Div(dash.page_container)
    BasicAuth(app, dict([ALICE, BOB]), user_groups={"alice": ["admin"], "bob": ["staff"]}, secret_key=SECRET)
    with serve(app) as base:
        expect("groups: anonymous admin page", request(base, "/admin")[0], 401)
        expect("groups: bob (staff) on the admin page", request(base, "/admin", basic(BOB))[0], 403)
        expect("groups: alice (admin) on the admin page", request(base, "/admin", basic(ALICE))[0], 200)
        expect("groups: bob on the home page", request(base, "/", basic(BOB))[0], 200)


class _Provider:
    """A stand-in OpenID provider on 127.0.0.1: discovery, a key set, and tokens signed with its key."""

    def __init__(self) -> None:
        from joserfc.jwk import RSAKey

        self.key = RSAKey.generate_key(2048, parameters={"kid": "smoke", "use": "sig", "alg": "RS256"})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "authorization_endpoint": provider.issuer + "/authorize",
                            "token_endpoint": provider.issuer + "/token", "jwks_uri": provider.issuer + "/jwks",
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "response_types_supported": ["code"], "subject_types_supported": ["public"]}
                elif self.path == "/jwks":
                    body = {"keys": [provider.key.as_dict(private=False)]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def token(self, key: Any = None, **claims: Any) -> str:
        from joserfc import jwt

        now = int(time.time())
        payload = {"iss": self.issuer, "aud": "smoke-app", "sub": "alice", "iat": now, "exp": now + 300, **claims}
        return jwt.encode({"alg": "RS256", "kid": "smoke"}, payload, key or self.key)


def scenario_oidc() -> None:
    from dash import Dash, html
    from joserfc.jwk import RSAKey

    from dash_auth_oidc import OIDCAuth

    provider = _Provider()
    app = Dash(__name__)
    app.layout = html.Div("the private layout")
    auth = OIDCAuth(app, secret_key=SECRET, bearer_tokens=True)
    auth.register_provider("idp", client_id="smoke-app", client_secret="smoke-secret",
                           server_metadata_url=provider.issuer + "/.well-known/openid-configuration")
    stranger = RSAKey.generate_key(2048, parameters={"kid": "smoke"})
    with serve(app) as base:
        expect("oidc: anonymous layout", request(base, "/_dash-layout")[0], 401)
        status, headers, _ = request(base, "/")
        expect("oidc: anonymous page goes to the sign-in", status, 302)
        if "/oidc/idp/login" not in headers.get("Location", ""):
            raise SystemExit(f"smoke: oidc: the page does not go to the sign-in: {dict(headers)}")
        forged = {"Authorization": "Bearer " + provider.token(key=stranger)}
        expect("oidc: a token signed with another key", request(base, "/_dash-layout", forged)[0], 401)
        signed = {"Authorization": "Bearer " + provider.token()}
        status, _, text = request(base, "/_dash-layout", signed)
        expect("oidc: a bearer token of the provider", status, 200, text)
        if "the private layout" not in text:
            raise SystemExit(f"smoke: oidc: the layout is not the app's: {text[:200]}")
    provider.server.shutdown()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _ClerkAPI:
    """A stand-in for Clerk's Backend API on 127.0.0.1 (``users.get``, ``sessions.get``), and session
    tokens signed here with the key whose public half is ``CLERK_JWT_KEY``: nothing leaves the machine."""

    SECRET_KEY = "sk_test_" + "smoke" + "0" * 27
    FRONTEND_HOST = "clerk.smoke.invalid"  # never contacted: verification uses CLERK_JWT_KEY
    USER = "user_smoke"

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self) -> dict[str, str]:
        from cryptography.hazmat.primitives import serialization

        pem = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        return {
            "CLERK_SECRET_KEY": self.SECRET_KEY,
            "CLERK_PUBLISHABLE_KEY": "pk_test_" + base64.b64encode(f"{self.FRONTEND_HOST}$".encode()).decode().rstrip("="),
            "CLERK_JWT_KEY": pem,
            "CLERK_API_URL": self.url,
        }

    def token(self, sid: str, key: Any = None) -> str:
        """A session token as Clerk's Frontend API issues it (RS256)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": "ins_smoke"}
        payload = {"iss": f"https://{self.FRONTEND_HOST}", "sub": self.USER, "sid": sid, "iat": now,
                   "nbf": now - 5, "exp": now + 60, "v": 2}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
        signature = (key or self.key).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                now = int(time.time() * 1000)
                parts = self.path.split("?")[0].strip("/").split("/")
                if self.headers.get("Authorization") != f"Bearer {api.SECRET_KEY}":
                    status, body = 401, {"errors": [{"message": "unauthorized", "code": "authentication_invalid"}]}
                elif parts == ["v1", "users", api.USER]:
                    status, body = 200, _clerk_user(api.USER, now)
                elif len(parts) == 3 and parts[:2] == ["v1", "sessions"]:
                    status, body = 200, {
                        "object": "session", "id": parts[2], "user_id": api.USER, "client_id": "client_smoke",
                        "status": "active", "last_active_at": now, "expire_at": now + 86_400_000,
                        "abandon_at": now + 86_400_000, "updated_at": now, "created_at": now}
                else:
                    status, body = 404, {"errors": [{"message": "not found", "code": "resource_not_found"}]}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _clerk_user(user_id: str, now: int) -> dict[str, Any]:
    """A user in the shape of Clerk's Backend API (the fields clerk-backend-api's model requires)."""
    address = {"id": "idn_smoke", "object": "email_address", "email_address": "smoke@example.org", "reserved": False,
               "verification": {"object": "verification_otp", "status": "verified", "strategy": "email_code",
                                "attempts": 1, "expire_at": None},
               "linked_to": [], "created_at": now, "updated_at": now}
    return {
        "id": user_id, "object": "user", "external_id": None, "primary_email_address_id": "idn_smoke",
        "primary_phone_number_id": None, "primary_web3_wallet_id": None, "username": None,
        "first_name": "Smoke", "last_name": "Test", "image_url": "", "has_image": False,
        "public_metadata": {}, "private_metadata": {}, "unsafe_metadata": {}, "email_addresses": [address],
        "phone_numbers": [], "web3_wallets": [], "passkeys": [], "password_enabled": True,
        "two_factor_enabled": False, "totp_enabled": False, "backup_code_enabled": False,
        "mfa_enabled_at": None, "mfa_disabled_at": None, "external_accounts": [], "saml_accounts": [],
        "enterprise_accounts": [], "last_sign_in_at": now, "banned": False, "locked": False,
        "lockout_expires_in_seconds": None, "verification_attempts_remaining": None, "updated_at": now,
        "created_at": now, "delete_self_enabled": True, "create_organization_enabled": True,
        "last_active_at": now, "legal_accepted_at": None,
    }


def scenario_clerk() -> None:
    import os

    from cryptography.hazmat.primitives.asymmetric import rsa
    from dash import Dash, html

    from dash_auth_clerk import ClerkAuth

    api = _ClerkAPI()
    os.environ.update(api.env())
    app = Dash(__name__)
    app.layout = html.Div("the private layout")
    ClerkAuth(app, secret_key=SECRET)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with serve(app) as base:
        expect("clerk: anonymous layout", request(base, "/_dash-layout")[0], 401)
        status, headers, _ = request(base, "/")
        expect("clerk: anonymous page goes to the hosted sign-in", status, 302)
        if not headers.get("Location", "").startswith("https://accounts.smoke.invalid/sign-in?redirect_url="):
            raise SystemExit(f"smoke: clerk: the page does not go to Clerk's sign-in: {dict(headers)}")
        forged = {"Authorization": "Bearer " + api.token("sess_forged", key=stranger)}
        expect("clerk: a token signed with another key", request(base, "/_dash-layout", forged)[0], 401)
        status, _, text = request(base, "/_dash-layout", {"Authorization": "Bearer " + api.token("sess_script")})
        expect("clerk: a session token as a Bearer token", status, 200, text)
        if "the private layout" not in text:
            raise SystemExit(f"smoke: clerk: the layout is not the app's: {text[:200]}")
        # A browser back from the hosted sign-in: the __session cookie signs it in, then its own session serves.
        token = api.token("sess_browser")
        status, headers, text = request(base, "/clerk/callback?next=/", {"Cookie": f"__session={token}"})
        expect("clerk: the hosted sign-in's return", status, 302, text)
        cookies = [c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or []]
        jar = "; ".join([*cookies, f"__session={token}"])
        status, _, text = request(base, "/_dash-layout", {"Cookie": jar})
        expect("clerk: the signed-in browser's layout", status, 200, text)
        expect("clerk: the __session cookie alone, outside the callback",
               request(base, "/_dash-layout", {"Cookie": f"__session={api.token('sess_other')}"})[0], 401)
    api.server.shutdown()


SCENARIOS: dict[str, Callable[[], None]] = {
    "basic": scenario_basic,
    "basic-quart": lambda: scenario_basic("quart"),
    "basic-fastapi": lambda: scenario_basic("fastapi"),
    "basic-async": scenario_basic_async,
    "groups": scenario_groups,
    "oidc": scenario_oidc,
    "clerk": scenario_clerk,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SCENARIOS:
        print(f"usage: smoke_app.py {{{','.join(SCENARIOS)}}}", file=sys.stderr)
        return 2
    import dash_auth_core

    if not dash_auth_core.__file__.startswith(sys.prefix):
        raise SystemExit(f"smoke: dash_auth_core comes from {dash_auth_core.__file__}, not this environment")
    SCENARIOS[argv[0]]()
    print(f"smoke {argv[0]}: {len(checks)} checks passed ({'; '.join(checks)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
