"""The logins the benchmarks compare with the bare app: which stack an app gets, and how a client signs in.

Every benchmark app is the same bare app plus one front door. A login here is
a name (``--logins``), the front door it adds, and the headers a signed-in
client then sends with each request:

``basic``
    ``BasicAuth``; the ``Authorization`` header and the session cookie the
    stack issued for it, the way a browser sends them.
``basic-stateless``
    The same app, and the header alone: a script without a cookie jar.
``oidc``
    ``OIDCAuth`` against a real OpenID provider (``oidc-provider-mock`` on
    ``127.0.0.1:<free port>``, started here); the session cookie of a real
    sign-in (login route, the provider's form, the callback).
``clerk``
    ``ClerkAuth`` against the local stand-in for Clerk's cloud (the tests'
    ``clerk_support.ClerkStandIn``: Backend API and keys on ``127.0.0.1``,
    started here once); the app's session cookie from a sign-in through its
    ``/clerk/callback`` route, and clerk-js's ``__session`` cookie beside it.
``redis``
    ``BasicAuth`` with sessions in Redis (``session_store=``: a private
    ``redis-server`` on ``127.0.0.1:<free port>``, started here once per
    process tree, or ``$DASH_AUTH_BENCH_REDIS``); the session cookie alone,
    the way a browser signed in by the login form sends it.

Sign-ins go through a ``call(method, path, headers, body) -> (status, headers)``
function, so the same code signs in in-process (WSGI, ASGI) and over HTTP.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

SECRET = "bench-secret-key-" + "x" * 32
USER, PASSWORD = "alice", "wonderland"
AUTH_HEADER = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

#: Every login the benchmarks know, in table order.
LOGINS = ("basic", "basic-stateless", "oidc", "clerk", "redis")
#: The front door each login's app gets (both Basic logins share one app).
APP_OF = {"basic": "basic", "basic-stateless": "basic", "oidc": "oidc", "clerk": "clerk", "redis": "redis"}
#: Logins that need the OpenID provider.
NEEDS_PROVIDER = frozenset({"oidc"})

OIDC_CLIENT_ID, OIDC_CLIENT_SECRET = "bench-client", "bench-client-secret"
#: Seconds the provider's start-up and each sign-in step may take at most.
OIDC_TIMEOUT = 15.0

Headers = tuple[tuple[str, str], ...]


class Call(Protocol):
    """One request to the app under test: ``(status, response headers)``."""

    def __call__(self, method: str, path: str, headers: Headers, body: bytes = b"") -> tuple[int, list[tuple[str, str]]]:
        ...


def make_users(n: int) -> dict[str, str]:
    users = {USER: PASSWORD}
    for i in range(n - 1):
        users[f"user{i:05d}"] = f"password-{i}"
    return users


def make_public_routes(n: int) -> list[str]:
    """``n`` rules, half static, half with converters; none of them is ``/``."""
    rules = []
    for i in range(n):
        if i % 4 == 0:
            rules.append(f"/docs/page-{i}")
        elif i % 4 == 1:
            rules.append(f"/reports/{i}/<report_id>")
        elif i % 4 == 2:
            rules.append(f"/static-{i}/about")
        else:
            rules.append(f"/items/<int:item_id>/part-{i}")
    return rules


class OIDCProvider:
    """oidc-provider-mock on ``127.0.0.1:<free port>`` in a thread of the benchmark."""

    def __init__(self) -> None:
        import oidc_provider_mock  # a test dependency (hatch env); its rows are skipped without it
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass  # one line per sign-in step would fill the benchmark's output

        self._server = make_server("127.0.0.1", 0, oidc_provider_mock.app(require_nonce=True), threaded=True,
                                   request_handler=Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="bench-oidc-provider", daemon=True)
        self._thread.start()
        self.metadata_url = f"http://127.0.0.1:{self._server.server_port}/.well-known/openid-configuration"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def attach(app: Any, login: str, *, metadata_url: str | None = None, n_users: int = 10,
           n_routes: int = 10) -> Any:
    """Put ``login``'s front door on ``app`` (and nothing else); returns ``app``."""
    kind = APP_OF[login]
    if kind == "basic":
        from dash_auth_basic import BasicAuth

        BasicAuth(app, make_users(n_users), public_routes=make_public_routes(n_routes), secret_key=SECRET)
    elif kind == "oidc":
        from dash_auth_oidc import OIDCAuth

        if metadata_url is None:
            raise ValueError("the oidc login needs the provider's metadata URL")
        auth = OIDCAuth(app, public_routes=make_public_routes(n_routes), secret_key=SECRET,
                        entry_point_providers=False)
        auth.register_provider("idp", client_id=OIDC_CLIENT_ID, client_secret=OIDC_CLIENT_SECRET,
                               server_metadata_url=metadata_url)
    elif kind == "clerk":
        standin = clerk_standin()  # puts tests/ on the path: clerk_support is a test helper
        from clerk_support import SECRET_KEY as CLERK_SECRET_KEY

        from dash_auth_clerk import ClerkAuth

        ClerkAuth(app, public_routes=make_public_routes(n_routes), secret_key=SECRET,
                  clerk_secret_key=CLERK_SECRET_KEY, publishable_key=standin.publishable_key,
                  api_url=standin.url, clerk_js_url=standin.url + "/npm/clerk.js")
    elif kind == "redis":
        from dash_auth_basic import BasicAuth

        BasicAuth(app, make_users(n_users), public_routes=make_public_routes(n_routes), secret_key=SECRET,
                  session_store=redis_url())
    else:  # pragma: no cover - a name in LOGINS without a front door here
        raise ValueError(f"no front door for the login {login!r}")
    return app


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of our own on a free port of 127.0.0.1 (never the machine's shared one): its URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("the redis login needs redis-server (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="dash-auth-bench-redis-")
    process = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
                                "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        from dash_auth_core.sessions import tracking

        tracking.close_all()  # before Redis goes: its tracking connections would log a failure
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def redis_url() -> str:
    """The ``redis`` login's Redis: ``$DASH_AUTH_BENCH_REDIS``, else a :func:`private_redis` started
    now for this process and its children (the servers of servers.py), stopped when it exits."""
    url = os.environ.get("DASH_AUTH_BENCH_REDIS")
    if not url:
        stack = contextlib.ExitStack()
        url = os.environ["DASH_AUTH_BENCH_REDIS"] = stack.enter_context(private_redis())
        atexit.register(stack.close)
    return url


_standin: list[Any] = []


def clerk_standin() -> Any:
    """The stand-in for Clerk's cloud (a test helper of this repository), with the bench user; one per process."""
    if not _standin:
        import os
        import sys

        tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests")
        if tests not in sys.path:
            sys.path.insert(0, tests)
        from clerk_support import ClerkStandIn

        standin = ClerkStandIn()
        standin.add_user(USER, f"{USER}@example.org", first_name="Alice")
        _standin.append(standin)
    return _standin[0]


def clerk_sign_in(call: Call) -> str:
    """Sign in through ``/clerk/callback`` with a fresh session token: the browser's ``Cookie`` value."""
    standin = clerk_standin()
    token = standin.token(standin.create_session("user_" + USER))
    status, headers = call("GET", "/clerk/callback?next=/", (("Cookie", f"__session={token}"),))
    signed_in = session_cookie(headers)
    if status != 302 or signed_in is None:
        raise RuntimeError(f"the Clerk callback answered {status} without a session cookie")
    return f"{signed_in}; __session={token}"


def sign_in(login: str, call: Call, callback_path: str, callback_body: bytes) -> Headers:
    """The headers a signed-in client of ``login`` sends, signing in through ``call`` as needed."""
    basic = (("Authorization", AUTH_HEADER),)
    if login == "basic-stateless":
        return basic
    if login in ("basic", "redis"):
        status, headers = call("POST", callback_path, (*basic, ("Content-Type", "application/json")), callback_body)
        cookie = session_cookie(headers)
        if status != 200 or cookie is None:
            raise RuntimeError(f"logging in with Basic answered {status} without a session cookie")
        return (*basic, ("Cookie", cookie)) if login == "basic" else (("Cookie", cookie),)
    if login == "oidc":
        return (("Cookie", oidc_sign_in(call)),)
    if login == "clerk":
        return (("Cookie", clerk_sign_in(call)),)
    raise ValueError(f"no sign-in for the login {login!r}")  # pragma: no cover


def oidc_sign_in(call: Call) -> str:
    """Sign in through the provider (login route, the provider's form, the callback): ``session=...``."""
    import requests

    status, headers = call("GET", "/oidc/idp/login", ())
    location, cookie = header(headers, "Location"), session_cookie(headers)
    if status != 302 or location is None:
        raise RuntimeError(f"the OIDC login route answered {status}")
    form = requests.post(location, data={"sub": USER}, allow_redirects=False, timeout=OIDC_TIMEOUT)
    if form.status_code != 302:
        raise RuntimeError(f"the provider's sign-in form answered {form.status_code}")
    back = urlsplit(form.headers["Location"])
    status, headers = call("GET", f"{back.path}?{back.query}", (("Cookie", cookie),) if cookie else ())
    signed_in = session_cookie(headers)
    if status != 302 or signed_in is None:
        raise RuntimeError(f"the OIDC callback answered {status} without a session cookie")
    return signed_in


def header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name.lower()), None)


def session_cookie(headers: Sequence[tuple[str, str]]) -> str | None:
    """The ``session=...`` pair a response sets, if any."""
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    return None
