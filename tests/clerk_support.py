"""A local stand-in for Clerk's cloud, for offline tests with the real clerk-backend-api SDK.

One threaded HTTP server on 127.0.0.1 plays every part of a Clerk instance:

- the **Backend API** (``/v1/users/<id>``, ``/v1/sessions/<id>``,
  ``/v1/sessions/<id>/revoke``, ``/v1/jwks``), answering the JSON the SDK's
  models require, and Clerk's ``{"errors": [...]}`` for unknown ids or a
  wrong secret key;
- the **Frontend API** clerk-js talks to (``/v1/client``, sign-ins, session
  tokens, sign-outs), with a ``__client`` cookie naming the browser's client;
- the **Account Portal**'s hosted sign-in page (``/sign-in?redirect_url=``);
- **clerk-js** itself (``/npm/clerk.js``): a small script that sets
  ``window.Clerk`` with ``load``, ``session.getToken``, ``addListener``,
  ``mountSignIn`` (class ``cl-rootBox``), ``signOut``, keeps the session
  token in the ``__session`` cookie and refreshes it, as the real one does.

Session tokens are RS256 JWTs signed with a key generated here (``kid`` like
Clerk's instance ids), carrying ``azp`` (the page's origin), ``exp``,
``iat``, ``iss``, ``nbf``, ``sid``, ``sub`` and ``v: 2``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLERK_JS = (Path(__file__).parent / "clerk_stub.js").read_text()
SECRET_KEY = "sk_test_" + "standin" + "0" * 24


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def jwk_of(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256",
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url(numbers.e.to_bytes(3, "big")),
    }


def user_json(user: dict[str, Any]) -> dict[str, Any]:
    """A user in the shape of Clerk's Backend API (every field the SDK's model requires)."""
    now = int(time.time() * 1000)
    email_id = "idn_" + user["id"][5:]
    address = {
        "id": email_id, "object": "email_address", "email_address": user["email"], "reserved": False,
        "verification": {
            "object": "verification_otp", "status": "verified" if user.get("verified", True) else "unverified",
            "strategy": "email_code", "attempts": 1, "expire_at": None,
        },
        "linked_to": [], "created_at": now, "updated_at": now,
    }
    return {
        "id": user["id"], "object": "user", "external_id": None,
        "primary_email_address_id": email_id if user.get("email") else None,
        "primary_phone_number_id": None, "primary_web3_wallet_id": None,
        "username": user.get("username"), "first_name": user.get("first_name"), "last_name": user.get("last_name"),
        "image_url": "", "has_image": False,
        "public_metadata": user.get("public_metadata", {}), "private_metadata": {}, "unsafe_metadata": {},
        "email_addresses": [address] if user.get("email") else [], "phone_numbers": [], "web3_wallets": [],
        "passkeys": [], "password_enabled": True, "two_factor_enabled": False, "totp_enabled": False,
        "backup_code_enabled": False, "mfa_enabled_at": None, "mfa_disabled_at": None,
        "external_accounts": [], "saml_accounts": [], "enterprise_accounts": [],
        "last_sign_in_at": now, "banned": bool(user.get("banned")), "locked": False,
        "lockout_expires_in_seconds": None, "verification_attempts_remaining": None,
        "updated_at": now, "created_at": now, "delete_self_enabled": True,
        "create_organization_enabled": True, "last_active_at": now, "legal_accepted_at": None,
    }


class ClerkStandIn:
    """Clerk's Backend API, Frontend API, Account Portal and clerk-js on one local port."""

    def __init__(self, token_lifetime: int = 60, refresh_ms: int = 50_000) -> None:
        self.key = new_key()
        self.kid = "ins_" + secrets.token_hex(8)
        self.token_lifetime = token_lifetime
        self.refresh_ms = refresh_ms
        self.users: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.clients: dict[str, str | None] = {}  # __client cookie -> active session id
        self.calls: list[str] = []  # Backend API calls, "GET /v1/users/user_x"
        self.mode = "up"  # "up", "error" (503), "slow" (sleep past any timeout), "garbage"
        self.slow_seconds = 3.0
        self.org: dict[str, str] | None = None  # {"id", "slg", "rol"} put into new tokens
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # -- keys and environment -------------------------------------------------

    @property
    def publishable_key(self) -> str:
        return "pk_test_" + base64.b64encode((self.host + "$").encode()).decode().rstrip("=")

    @property
    def issuer(self) -> str:
        return "https://" + self.host

    @property
    def jwt_key(self) -> str:
        return public_pem(self.key)

    def env(self, **extra: str) -> dict[str, str]:
        """The ``CLERK_*`` variables an app needs to use this instance."""
        return {
            "CLERK_SECRET_KEY": SECRET_KEY,
            "CLERK_PUBLISHABLE_KEY": self.publishable_key,
            "CLERK_API_URL": self.url,
            "CLERK_JS_URL": f"{self.url}/npm/clerk.js?refresh={self.refresh_ms}",
            "CLERK_DOMAIN": self.url,
            **extra,
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    close = stop

    # -- users, sessions, tokens -------------------------------------------------

    def add_user(self, name: str, email: str | None = None, **fields: Any) -> str:
        user_id = "user_" + name
        self.users[user_id] = {"id": user_id, "email": email or f"{name}@example.org", "username": name, **fields}
        return user_id

    def create_session(self, user_id: str, client: str | None = None) -> str:
        sid = "sess_" + secrets.token_hex(8)
        with self.lock:
            self.sessions[sid] = {"user_id": user_id, "status": "active", "client": client}
            if client is not None:
                self.clients[client] = sid
        return sid

    def revoke(self, sid: str, status: str = "revoked") -> None:
        with self.lock:
            self.sessions[sid]["status"] = status

    def token(
        self, sid: str, *, azp: str | None = None, lifetime: int | None = None, nbf_offset: int = -5,
        key: rsa.RSAPrivateKey | None = None, kid: str | None = None, drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        """A session token for ``sid`` as Clerk's Frontend API issues it."""
        now = int(time.time())
        session = self.sessions[sid]
        payload: dict[str, Any] = {
            "exp": now + (self.token_lifetime if lifetime is None else lifetime), "iat": now,
            "iss": self.issuer, "nbf": now + nbf_offset, "sid": sid, "sub": session["user_id"], "v": 2,
            "fva": [0, -1],
        }
        if azp is not None:
            payload["azp"] = azp
        if self.org:
            payload["o"] = dict(self.org)
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})


def _errors(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "long_message": message, "code": code}]}


def _session_json(sid: str, session: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "object": "session", "id": sid, "user_id": session["user_id"], "client_id": "client_" + sid[5:],
        "status": session["status"], "last_active_at": now, "expire_at": now + 86_400_000,
        "abandon_at": now + 86_400_000, "updated_at": now, "created_at": now,
        "last_active_organization_id": None, "actor": None,
    }


def _handler(standin: ClerkStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        # -- plumbing ---------------------------------------------------------

        def _send(self, status: int, body: Any, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else (
                body.encode() if isinstance(body, str) else json.dumps(body).encode())
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            origin = self.headers.get("Origin")
            if origin:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Access-Control-Allow-Credentials", "true")
                self.send_header("Vary", "Origin")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            return {k: v[0] for k, v in parse_qs(raw).items()}

        def _client(self) -> str | None:
            cookies = SimpleCookie(self.headers.get("Cookie") or "")
            found = cookies.get("__client")
            return found.value if found else None

        def do_OPTIONS(self) -> None:  # noqa: N802
            self._send(204, b"", headers={"Access-Control-Allow-Methods": "GET, POST",
                                          "Access-Control-Allow-Headers": "Content-Type"})

        def do_GET(self) -> None:  # noqa: N802
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            if path == "/npm/clerk.js":
                self._send(200, CLERK_JS, "text/javascript")
            elif path == "/sign-in":
                self._sign_in_page(method, parts.query)
            elif path.startswith("/v1/client"):
                self._frontend(method, path)
            elif path.startswith("/v1/"):
                self._backend(method, path)
            else:
                self._send(404, _errors("not found", "resource_not_found"))

        # -- Backend API --------------------------------------------------------

        def _backend(self, method: str, path: str) -> None:
            standin.calls.append(f"{method} {path}")
            if standin.mode == "slow":
                time.sleep(standin.slow_seconds)
            if standin.mode == "error":
                self._send(503, _errors("unavailable", "service_unavailable"))
                return
            if standin.mode == "garbage":
                self._send(200, {"id": 1, "object": "nonsense"})
                return
            if self.headers.get("Authorization") != "Bearer " + SECRET_KEY:
                self._send(401, _errors("Invalid authentication", "authentication_invalid"))
                return
            segments = path.strip("/").split("/")
            if segments == ["v1", "jwks"]:
                self._send(200, {"keys": [jwk_of(standin.key, standin.kid)]})
            elif len(segments) == 3 and segments[1] == "users":
                user = standin.users.get(segments[2])
                if user is None:
                    self._send(404, _errors("not found", "resource_not_found"))
                else:
                    self._send(200, user_json(user))
            elif len(segments) >= 3 and segments[1] == "sessions" and segments[2] in standin.sessions:
                session = standin.sessions[segments[2]]
                if method == "POST" and segments[3:] == ["revoke"]:
                    session["status"] = "revoked"
                self._send(200, _session_json(segments[2], session))
            else:
                self._send(404, _errors("not found", "resource_not_found"))

        # -- Frontend API (what clerk-js calls) -------------------------------------

        def _active(self, client: str | None) -> str | None:
            sid = standin.clients.get(client) if client else None
            if sid is not None and standin.sessions[sid]["status"] == "active":
                return sid
            return None

        def _session_payload(self, sid: str) -> dict[str, Any]:
            session = standin.sessions[sid]
            user = standin.users[session["user_id"]]
            return {"session": {"id": sid, "user_id": session["user_id"]},
                    "user": {"id": user["id"], "username": user.get("username"),
                             "primaryEmailAddress": {"emailAddress": user.get("email")}}}

        def _frontend(self, method: str, path: str) -> None:
            client = self._client()
            segments = path.strip("/").split("/")
            if segments == ["v1", "client"]:
                sid = self._active(client)
                self._send(200, self._session_payload(sid) if sid else {"session": None, "user": None})
            elif segments == ["v1", "client", "sign_ins"] and method == "POST":
                self._sign_in(self._body().get("identifier", ""), client)
            elif len(segments) == 5 and segments[:3] == ["v1", "client", "sessions"]:
                sid = segments[3]
                if sid != self._active(client):
                    self._send(401, _errors("session is not active", "session_invalid"))
                elif segments[4] == "tokens":
                    self._send(200, {"jwt": standin.token(sid, azp=self.headers.get("Origin"))})
                elif segments[4] == "remove":
                    standin.sessions[sid]["status"] = "ended"
                    self._send(200, {"ended": sid})
                else:
                    self._send(404, _errors("not found", "resource_not_found"))
            else:
                self._send(404, _errors("not found", "resource_not_found"))

        def _user_for(self, identifier: str) -> str | None:
            for user_id, user in standin.users.items():
                if identifier and identifier in (user.get("username"), user.get("email")):
                    return user_id
            return None

        def _sign_in(self, identifier: str, client: str | None) -> None:
            user_id = self._user_for(identifier)
            if user_id is None:
                self._send(422, _errors("Couldn't find your account.", "form_identifier_not_found"))
                return
            client = client or secrets.token_hex(8)
            sid = standin.create_session(user_id, client)
            self._send(200, self._session_payload(sid),
                       headers={"Set-Cookie": f"__client={client}; Path=/; HttpOnly; SameSite=Lax"})

        # -- Account Portal -----------------------------------------------------------

        def _sign_in_page(self, method: str, query: str) -> None:
            redirect_url = {k: v[0] for k, v in parse_qs(query).items()}.get("redirect_url", "")
            if method == "POST":
                form = self._body()
                user_id = self._user_for(form.get("identifier", ""))
                if user_id is None:
                    self._send(422, "<p id='error'>Couldn't find your account.</p>", "text/html")
                    return
                client = self._client() or secrets.token_hex(8)
                standin.create_session(user_id, client)
                self._send(303, b"", "text/plain", {
                    "Location": form.get("redirect_url") or "/",
                    "Set-Cookie": f"__client={client}; Path=/; HttpOnly; SameSite=Lax",
                })
                return
            escaped = redirect_url.replace("&", "&amp;").replace('"', "&quot;")
            self._send(200, (
                "<!doctype html><title>Sign in - Account Portal</title><h1>Sign in</h1>"
                "<form method='post' action='/sign-in'>"
                f"<input type='hidden' name='redirect_url' value=\"{escaped}\">"
                "<input id='identifier' name='identifier' autocomplete='username'>"
                "<button id='continue' type='submit'>Continue</button></form>"
            ), "text/html")

    return Handler
