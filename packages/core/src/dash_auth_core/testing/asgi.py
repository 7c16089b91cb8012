"""An in-process ASGI test client with the interface of Flask's, for Quart and FastAPI apps.

:func:`dash_auth_core.testing.client_for` picks it for apps on the async
backends, so one test body runs unchanged on Flask, Quart and FastAPI:
``client.get(path, headers=...)``, ``client.post(path, json=...)``,
``response.status_code``, ``response.get_json()``, ``client.session_transaction()``.
Requests run on one event loop in a daemon thread; the app's lifespan starts
with its first client and stops in ``stop_all`` (see :mod:`.lifespan`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json as _json
import time as _time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import dash

from .._private import dash as dash_private
from .lifespan import backend_of, run, started


class TestCookie:
    def __init__(self, key: str, value: str) -> None:
        self.key = key
        self.value = value


class TestResponse:
    """What Flask's test client returns, for an ASGI response."""

    __test__ = False

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers])
        self.data = body

    @property
    def status(self) -> str:
        return str(self.status_code)

    @property
    def mimetype(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        mimetype = self.mimetype
        return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))

    def get_json(self) -> Any:
        return _json.loads(self.data) if self.is_json else None

    @property
    def json(self) -> Any:
        return self.get_json()

    def get_data(self, as_text: bool = False) -> Any:
        return self.data.decode("utf-8", "replace") if as_text else self.data

    @property
    def text(self) -> str:
        text: str = self.get_data(as_text=True)
        return text

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


class AsgiClient:
    """Flask's test-client interface over an ASGI app (Quart or FastAPI), in-process."""

    __test__ = False

    def __init__(self, app: dash.Dash, use_cookies: bool = True, asgi: Any = None) -> None:
        """``asgi``: the callable to send requests to (default ``app.server``; e.g. a proxy-fix around it)."""
        self.app = app
        self.asgi = asgi if asgi is not None else app.server
        self.use_cookies = use_cookies
        self.cookies: dict[str, str] = {}
        started(app)

    # requests

    def open(
        self,
        path: str = "/",
        method: str = "GET",
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        json: Any = None,
        data: Any = None,
        content_type: str | None = None,
        base_url: str | None = None,
        query_string: dict[str, str] | str | None = None,
        follow_redirects: bool = False,
        chunks: list[bytes] | None = None,
    ) -> TestResponse:
        """``chunks``: send the body in these pieces, without a Content-Length (chunked upload)."""
        response = self._request(path, method, headers, json, data, content_type, base_url, query_string, chunks)
        for _ in range(10):
            if not follow_redirects or response.status_code not in (301, 302, 303, 307, 308):
                break
            target = response.headers["Location"]
            response = self._request(target, "GET", headers, None, None, None, base_url, None, None)
        return response

    def get(self, path: str = "/", **kwargs: Any) -> TestResponse:
        return self.open(path, method="GET", **kwargs)

    def post(self, path: str = "/", **kwargs: Any) -> TestResponse:
        return self.open(path, method="POST", **kwargs)

    def head(self, path: str = "/", **kwargs: Any) -> TestResponse:
        return self.open(path, method="HEAD", **kwargs)

    def options(self, path: str = "/", **kwargs: Any) -> TestResponse:
        return self.open(path, method="OPTIONS", **kwargs)

    def put(self, path: str = "/", **kwargs: Any) -> TestResponse:
        return self.open(path, method="PUT", **kwargs)

    def delete(self, path: str = "/", **kwargs: Any) -> TestResponse:
        return self.open(path, method="DELETE", **kwargs)

    def patch(self, path: str = "/", **kwargs: Any) -> TestResponse:
        return self.open(path, method="PATCH", **kwargs)

    async def get_in_this_task(self, path: str, headers: dict[str, str] | None = None) -> TestResponse:
        """A GET awaited in the calling task, whose context lives on after it (as a worker's does).

        Every other request here runs in a task of its own, so nothing it sets
        in its context outlives it; this one does not.
        """
        scope, pieces = self._scope(path, "GET", headers, None, None, None, None, None, None)
        return TestResponse(*await self._call(scope, pieces, own_task=False))

    def _request(
        self, path: str, method: str, headers: Any, json: Any, data: Any, content_type: str | None,
        base_url: str | None, query_string: Any, chunks: list[bytes] | None,
    ) -> TestResponse:
        scope, pieces = self._scope(path, method, headers, json, data, content_type, base_url, query_string, chunks)
        status, response_headers, response_body = run(self._call(scope, pieces))
        response = TestResponse(status, response_headers, response_body)
        if self.use_cookies:
            self._store_cookies(response)
        return response

    def _scope(
        self, path: str, method: str, headers: Any, json: Any, data: Any, content_type: str | None,
        base_url: str | None, query_string: Any, chunks: list[bytes] | None,
    ) -> tuple[dict[str, Any], list[bytes]]:
        """The ASGI scope of a request, and the body pieces to send."""
        base = urlsplit(base_url or "http://localhost")
        parts = urlsplit(path)
        if parts.scheme:  # an absolute redirect target
            base = parts
        raw_path = parts.path or "/"
        query = parts.query
        if query_string:
            extra = query_string if isinstance(query_string, str) else urlencode(query_string)
            query = f"{query}&{extra}" if query else extra
        pairs: list[tuple[str, str]] = list(headers.items() if isinstance(headers, dict) else headers or [])
        body = b""
        if json is not None:
            body = _json.dumps(json).encode()
            content_type = content_type or "application/json"
        elif isinstance(data, dict):
            body = urlencode(data).encode()
            content_type = content_type or "application/x-www-form-urlencoded"
        elif isinstance(data, str):
            body = data.encode()
        elif data is not None:
            body = bytes(data)
        names = {k.lower() for k, _ in pairs}
        if content_type and "content-type" not in names:
            pairs.append(("Content-Type", content_type))
        if chunks is not None:
            body = b"".join(chunks)
        elif (body or method in ("POST", "PUT", "PATCH")) and "content-length" not in names:
            pairs.append(("Content-Length", str(len(body))))
        if "host" not in names:
            pairs.insert(0, ("Host", base.netloc))
        if self.use_cookies and self.cookies:
            jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            pairs.append(("Cookie", jar))
        host = base.hostname or "localhost"
        port = base.port or (443 if base.scheme == "https" else 80)
        lifespan = getattr(self.app, "_test_lifespan", None)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": base.scheme or "http",
            "path": unquote(raw_path),
            "raw_path": raw_path.encode("utf-8", "surrogateescape"),
            "query_string": query.encode("latin-1", "replace"),
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), str(v).encode("latin-1", "replace")) for k, v in pairs],
            "client": ("127.0.0.1", 50123),
            "server": (host, port),
            "state": dict(lifespan.state if lifespan else {}),
            "extensions": {},
        }
        return scope, chunks if chunks is not None else [body]

    async def _call(
        self, scope: dict[str, Any], pieces: list[bytes], own_task: bool = True,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        done = asyncio.Event()
        to_send = list(pieces) or [b""]
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            if to_send:
                piece = to_send.pop(0)
                return {"type": "http.request", "body": piece, "more_body": bool(to_send)}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        # A server runs each request in a fresh context; this thread's context may
        # still name an app of an earlier test (Flask's test client leaks it).
        dash_private.set_current_app(self.app)
        try:
            if own_task:
                await asyncio.wait_for(self.asgi(scope, receive, send), 60)
            else:
                await self.asgi(scope, receive, send)
        except Exception:
            # Like a server: an app that raised after (or instead of) answering is
            # logged and, without an answer, gets a 500.
            import logging

            logging.getLogger("tests.asgi").exception("the app raised on %s %s", scope["method"], scope["path"])
            if not start:
                start.update({"status": 500, "headers": [(b"content-type", b"text/plain")]})
                chunks[:] = [b"Internal Server Error"]
        finally:
            done.set()
        if not start:
            raise RuntimeError(f"no response for {scope['method']} {scope['path']}")
        return start["status"], list(start.get("headers", [])), b"".join(chunks)

    # cookies

    def _store_cookies(self, response: TestResponse) -> None:
        for header in response.headers.getlist("Set-Cookie"):
            first, _, attributes = header.partition(";")
            name, _, value = first.partition("=")
            name = name.strip()
            value = value.strip()
            expired = False
            for attribute in attributes.split(";"):
                key, _, attr_value = attribute.strip().partition("=")
                key = key.lower()
                if key == "max-age" and attr_value.strip().lstrip("-").isdigit() and int(attr_value) <= 0:
                    expired = True
                elif key == "expires":
                    from email.utils import parsedate_to_datetime

                    with contextlib.suppress(Exception):
                        if parsedate_to_datetime(attr_value).timestamp() < _time.time():
                            expired = True
            if expired or value in ("", '""'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> TestCookie | None:
        value = self.cookies.get(key)
        return None if value is None else TestCookie(key, value)

    def set_cookie(self, key: str, value: str = "", **_kwargs: Any) -> None:
        self.cookies[key] = value

    def delete_cookie(self, key: str, **_kwargs: Any) -> None:
        self.cookies.pop(key, None)

    # the session

    @contextlib.contextmanager
    def session_transaction(self) -> Iterator[dict[str, Any]]:
        codec = session_codec(self.app)
        raw = self.cookies.get(codec.name)
        session = codec.loads(raw) if raw else {}
        yield session
        if session:
            self.cookies[codec.name] = codec.dumps(session)
        else:
            self.cookies.pop(codec.name, None)


class _SessionCodec:
    def __init__(self, name: str, loads: Callable[[str], dict[str, Any]], dumps: Callable[[dict[str, Any]], str]) -> None:
        self.name = name
        self.loads = loads
        self.dumps = dumps


def session_codec(app: dash.Dash) -> _SessionCodec:
    """Read and write the signed session cookie of ``app`` (as its backend signs it)."""
    kind = backend_of(app)
    if kind == "quart":
        server = app.server
        serializer = server.session_interface.get_signing_serializer(server)

        def quart_loads(raw: str) -> dict[str, Any]:
            try:
                return dict(serializer.loads(raw))
            except Exception:
                return {}

        return _SessionCodec(server.config["SESSION_COOKIE_NAME"], quart_loads, lambda s: serializer.dumps(dict(s)))
    if kind == "fastapi":
        import base64

        import itsdangerous

        from ..stack import AuthStack

        # The FastAPI adapter (its private parts); the app has its stack by now.
        adapter: Any = AuthStack.get(app).adapter  # type: ignore[union-attr]
        user = adapter._user_session()
        if user is not None:
            secret, name = user.kwargs["secret_key"], user.kwargs.get("session_cookie", "session")
        else:
            secret, name = adapter._secret, "session"
        secret = secret.decode() if isinstance(secret, bytes) else str(secret)
        signer = itsdangerous.TimestampSigner(secret)

        def fastapi_loads(raw: str) -> dict[str, Any]:
            try:
                session: dict[str, Any] = _json.loads(base64.b64decode(signer.unsign(raw.encode())))
                return session
            except Exception:
                return {}

        def fastapi_dumps(session: dict[str, Any]) -> str:
            return signer.sign(base64.b64encode(_json.dumps(session).encode())).decode()

        return _SessionCodec(name, fastapi_loads, fastapi_dumps)
    raise ValueError("Flask's test client has its own session_transaction")
