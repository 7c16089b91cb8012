"""Real OpenID providers for the OIDC tests, all on 127.0.0.1.

* :class:`ThreadProvider`: ``oidc-provider-mock``'s WSGI app served by
  werkzeug in a thread of the test process (fast; several at once).
* :class:`ProcessProvider`: ``python -m oidc_provider_mock`` as its own process.
* :class:`TamperingProxy`: stands in front of a real provider and alters the
  ID tokens its token endpoint returns (re-signed with a key it publishes,
  signed with an unknown key, ``alg: none``, ...), so the tests can show that
  every bad token is refused end to end.
* :func:`sign_in`: the whole browser dance with Flask's test client for the
  app and real HTTP for the provider.

``oidc-provider-mock`` does not enforce PKCE; the tests check the
``code_challenge`` the app sends instead.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from dash import Dash, Input, Output, html
from werkzeug.serving import make_server
from werkzeug.wrappers import Request as WzRequest
from werkzeug.wrappers import Response as WzResponse

#: Seconds any wait for a provider may take.
WAIT = 20.0
CLIENT_ID = "dash-app"
CLIENT_SECRET = "dash-app-secret"
SECRET = "oidc-test-secret-key-0123456789"


class ThreadProvider:
    """``oidc-provider-mock`` served in a thread on ``127.0.0.1:<free port>``."""

    def __init__(self, *, refresh: bool = True, token_max_age: int = 3600, require_nonce: bool = True) -> None:
        import oidc_provider_mock

        self.app = oidc_provider_mock.app(
            require_nonce=require_nonce,
            issue_refresh_token=refresh,
            access_token_max_age=timedelta(seconds=token_max_age),
        )
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="oidc-provider", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    @property
    def metadata_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    def set_user(self, sub: str, **claims: Any) -> None:
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=WAIT)
        assert response.status_code == 204, response.text

    def revoke(self, sub: str) -> None:
        response = requests.post(f"{self.url}/users/{sub}/revoke-tokens", timeout=WAIT)
        assert response.status_code == 204, response.text

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ProcessProvider:
    """``python -m oidc_provider_mock`` in its own process on 127.0.0.1."""

    def __init__(self, *extra: str) -> None:
        last = ""
        for _attempt in range(3):  # the free port may be taken between probing and binding
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "oidc_provider_mock", "-H", "127.0.0.1", "-p", str(port), *extra],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"},
            )
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if requests.get(self.metadata_url, timeout=1).status_code == 200:
                        return
                except requests.RequestException:
                    time.sleep(0.1)
            last = self.stop()
        raise RuntimeError(f"oidc-provider-mock did not start: {last[-2000:]}")

    @property
    def metadata_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        if self.proc.stderr:
            self.proc.stderr.close()
        return err


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class TamperingProxy:
    """A provider front that forwards to a real one and alters its ID tokens.

    Its discovery document is the real one with ``token_endpoint`` and
    ``jwks_uri`` pointing at the proxy; its key set is the real keys plus
    one of its own. ``mode`` picks what happens to the next ID tokens:

    ``None`` (untouched), ``"bad_signature"`` (payload changed, signature
    kept), ``"unknown_key"`` (signed by a key nobody publishes), ``"alg_none"``,
    ``"wrong_audience"``, ``"expired"``, ``"wrong_issuer"``, ``"wrong_nonce"``,
    ``"no_id_token"`` (re-signed with the proxy's published key where needed).
    It also answers RFC 7009 revocations at ``/revoke`` (the provider has none).

    Refreshes and userinfo: ``refresh_id_token`` (claims) adds an ID token
    with those claims, signed with the proxy's key, to refresh answers (the
    provider sends none); ``userinfo_status`` answers userinfo with that
    status instead of forwarding it; ``userinfo_extra`` is merged into the
    forwarded answer.
    """

    def __init__(self, upstream: ThreadProvider) -> None:
        from joserfc import jwk

        self.upstream = upstream
        self.key = jwk.RSAKey.generate_key(2048, parameters={"kid": "proxy-key", "use": "sig", "alg": "RS256"})
        self.stranger = jwk.RSAKey.generate_key(2048, parameters={"kid": "stranger", "alg": "RS256"})
        self.mode: str | None = None
        self.refresh_owners: dict[str, Any] = {}  # refresh token -> sub
        self.revoked: list[str] = []
        self.refresh_id_token: dict[str, Any] | None = None
        self.userinfo_status: int | None = None
        self.userinfo_extra: dict[str, Any] = {}
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    @property
    def metadata_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    def _sign(self, claims: dict[str, Any], key: Any, kid: str) -> str:
        from joserfc import jwt

        return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)

    def alter(self, id_token: str) -> str | None:
        claims = _claims_of(id_token)
        mode = self.mode
        if mode == "bad_signature":
            head, _payload, sig = id_token.split(".")
            forged = dict(claims, sub="mallory")
            return f"{head}.{_b64(json.dumps(forged).encode())}.{sig}"
        if mode == "unknown_key":
            return self._sign(claims, self.stranger, "stranger")
        if mode == "alg_none":
            return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}."
        if mode == "wrong_audience":
            return self._sign(dict(claims, aud="someone-else"), self.key, "proxy-key")
        if mode == "expired":
            now = int(time.time())
            return self._sign(dict(claims, iat=now - 7200, exp=now - 3600), self.key, "proxy-key")
        if mode == "wrong_issuer":
            return self._sign(dict(claims, iss="http://127.0.0.1:9/evil"), self.key, "proxy-key")
        if mode == "wrong_nonce":
            return self._sign(dict(claims, nonce="not-the-nonce"), self.key, "proxy-key")
        if mode == "resigned":
            return self._sign(claims, self.key, "proxy-key")
        if mode == "no_id_token":
            return None
        return id_token

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = WzRequest(environ)
        path = request.path
        if path == "/.well-known/openid-configuration":
            meta = requests.get(self.upstream.metadata_url, timeout=WAIT).json()
            meta["token_endpoint"] = self.url + "/token"
            meta["jwks_uri"] = self.url + "/jwks"
            meta["revocation_endpoint"] = self.url + "/revoke"
            meta["userinfo_endpoint"] = self.url + "/userinfo"
            response = WzResponse(json.dumps(meta), content_type="application/json")
        elif path == "/jwks":
            keys = requests.get(self.upstream.url + "/jwks", timeout=WAIT).json()["keys"]
            keys.append(self.key.as_dict(private=False))
            response = WzResponse(json.dumps({"keys": keys}), content_type="application/json")
        elif path == "/token" and request.method == "POST":
            upstream = requests.post(
                self.upstream.url + "/oauth2/token", data=request.form.to_dict(),
                headers={k: v for k, v in request.headers.items() if k.lower() == "authorization"}, timeout=WAIT,
            )
            body = upstream.json()
            if upstream.status_code == 200 and body.get("refresh_token"):
                # Whose refresh token this is: the ID token says, or the one it replaces.
                sub = _claims_of(body["id_token"]).get("sub") if "id_token" in body else \
                    self.refresh_owners.get(request.form.get("refresh_token", ""))
                self.refresh_owners[body["refresh_token"]] = sub
            if upstream.status_code == 200 and request.form.get("grant_type") == "refresh_token" and self.refresh_id_token:
                now = int(time.time())
                issuer = requests.get(self.upstream.metadata_url, timeout=WAIT).json()["issuer"]
                claims = {"iss": issuer, "iat": now, "exp": now + 300, **self.refresh_id_token}
                body["id_token"] = self._sign(claims, self.key, "proxy-key")
            elif upstream.status_code == 200 and "id_token" in body:
                altered = self.alter(body["id_token"])
                if altered is None:
                    body.pop("id_token")
                else:
                    body["id_token"] = altered
            response = WzResponse(json.dumps(body), status=upstream.status_code, content_type="application/json")
        elif path == "/userinfo":
            if self.userinfo_status is not None:
                response = WzResponse("unavailable", status=self.userinfo_status)
            else:
                upstream = requests.get(self.upstream.url + "/userinfo", timeout=WAIT,
                                        headers={"Authorization": request.headers.get("Authorization", "")})
                body = upstream.json() if upstream.status_code == 200 else {}
                body.update(self.userinfo_extra)
                response = WzResponse(json.dumps(body), status=upstream.status_code, content_type="application/json")
        elif path == "/revoke" and request.method == "POST":
            # RFC 7009, which oidc-provider-mock lacks: its admin call revokes the owner's tokens.
            token = request.form.get("token", "")
            self.revoked.append(token)
            owner = self.refresh_owners.get(token)
            if owner:
                self.upstream.revoke(owner)
            response = WzResponse("", status=200)
        else:
            response = WzResponse("not found", status=404)
        return response(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@contextmanager
def providers(n: int = 1, **kwargs: Any) -> Iterator[list[ThreadProvider]]:
    started = [ThreadProvider(**kwargs) for _ in range(n)]
    try:
        yield started
    finally:
        for provider in started:
            provider.stop()


# -- the browser dance ------------------------------------------------------


@dataclass
class Dance:
    """What happened during one sign-in (for assertions)."""

    authorize_url: str
    callback_url: str
    response: Any  # the app's answer to the callback

    @property
    def authorize_params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.authorize_url).query).items()}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start_login(client: Any, start: str = "/") -> str:
    """Follow the app's redirects from ``start`` until they leave for the provider; return that URL."""
    location = start
    for _hop in range(5):
        response = client.get(location)
        assert response.status_code in (302, 303), (location, response.status_code, response.get_data(as_text=True)[:300])
        location = response.headers["Location"]
        if location.startswith("http://127.0.0.1:"):
            return location
        location = path_of(location)
    raise AssertionError("the app never redirected to the provider")


def authorize(authorize_url: str, sub: str = "alice", deny: bool = False) -> str:
    """Sign in (or deny) on the provider's form; return the callback URL it redirects to."""
    data = {"action": "deny"} if deny else {"sub": sub}
    response = requests.post(authorize_url, data=data, allow_redirects=False, timeout=WAIT)
    assert response.status_code == 302, (response.status_code, response.text[:500])
    return response.headers["Location"]


def sign_in(client: Any, start: str = "/", sub: str = "alice", via: Any = None) -> Dance:
    """The whole sign-in: app -> provider form -> app callback. Returns the callback's answer.

    ``via(authorize_url, sub)`` is the user at the provider (default: oidc-provider-mock's
    form; :class:`oidc_matrix.IdP` passes its own).
    """
    authorize_url = start_login(client, start)
    callback = (via or authorize)(authorize_url, sub)
    return Dance(authorize_url, callback, client.get(path_of(callback)))


# -- apps -------------------------------------------------------------------


def build_app(**dash_kwargs: Any) -> Dash:
    """A small app: a private page, a private callback, a public page."""
    app = Dash(__name__, **dash_kwargs)
    app.layout = html.Div([html.Button("go", id="btn"), html.Div(id="out"), html.Div("private content")])

    @app.callback(Output("out", "children"), Input("btn", "n_clicks"))
    def who(_n: Any) -> str:
        from dash_auth_core import current_user

        user = current_user()
        return f"{user.id}|{user.provider}|{','.join(user.groups)}" if user else "anonymous"

    return app


def session_of(app: Dash, client: Any) -> dict[str, Any]:
    """The decoded session cookie of ``client``, as the server reads it (empty when absent or forged)."""
    from itsdangerous import BadSignature

    cookie = client.get_cookie("session")
    if cookie is None:
        return {}
    serializer = app.server.session_interface.get_signing_serializer(app.server)
    try:
        return serializer.loads(cookie.value)
    except BadSignature:
        return {}


class Clock:
    """A clock the tests move forward (patched into the plugin and its providers)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


