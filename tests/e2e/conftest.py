"""Browser tests: headless Chromium driven by chromedriver against a real HTTP server.

Every test gets its own Werkzeug server on ``127.0.0.1`` (an ephemeral port,
in a thread) and its own Chromium with a fresh profile, so the browser's
Basic-auth cache and cookies never leak between tests. Chromium cannot
resolve any host name (``--host-resolver-rules``) and uses no proxy, so the
tests talk to ``127.0.0.1`` only.

Without Chromium or chromedriver the browser tests are skipped with a reason;
with ``DASH_AUTH_REQUIRE_BROWSER=1`` (set by ``.ci/run``) they fail instead.

Why not Dash's ``dash_duo``: its ``ThreadedRunner`` serves on fixed ports
from 58050, calls the server ``localhost`` and stops it by raising
``SystemExit`` in its threads. It does work with the guard (it waits for
*any* HTTP answer from ``/``, and a 401 is one), but a plain server thread
is simpler to reason about. ``pytest_setup_options`` below still configures
``dash_duo``/``dash_br`` should a test use them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

CHROMIUM = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DASH_AUTH_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE_BROWSER_ENV = "DASH_AUTH_REQUIRE_BROWSER"

#: Seconds any single wait in a browser test may take.
WAIT = 10.0

# Dash's own Browser class (dash_duo, dash_br) reads the binary from here.
os.environ.setdefault("DASH_TEST_CHROMEPATH", CHROMIUM)

CHROMIUM_ARGS = (
    "--headless",
    # Chromium refuses to start as root with its sandbox on.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--password-store=basic",
    "--use-mock-keychain",
    "--window-size=1280,900",
    # Network only to 127.0.0.1: no proxy, and no host name resolves.
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


def pytest_setup_options():
    """Chrome options for Dash's browser fixtures (``dash_duo``, ``dash_br``) and ours."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = CHROMIUM
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    return options


def browser_problem() -> str | None:
    """Why browser tests cannot run here, or ``None`` when they can."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.isfile(p) and os.access(p, os.X_OK))]
    if missing:
        return (
            f"browser tests need Chromium and chromedriver; missing: {', '.join(missing)} "
            "(install with: apt-get install -y chromium chromium-driver)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "browser tests need selenium (installed by dash[testing])"
    return None


def require_browser() -> None:
    """Skip (or, under ``DASH_AUTH_REQUIRE_BROWSER=1``, fail) when the browser is missing."""
    problem = browser_problem()
    if problem is None:
        return
    if os.environ.get(REQUIRE_BROWSER_ENV, "").strip() not in ("", "0"):
        pytest.fail(f"{problem}; {REQUIRE_BROWSER_ENV} is set, so browser tests may not be skipped", pytrace=False)
    pytest.skip(problem)


# -- the server -----------------------------------------------------------


@dataclass
class LiveServer:
    """A Dash app served by Werkzeug on 127.0.0.1 in a thread."""

    host: str
    port: int

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/", user: str | None = None, password: str | None = None) -> str:
        if user is None:
            return self.base + path
        creds = f"{quote(user, safe='')}:{quote(password or '', safe='')}"
        return f"http://{creds}@{self.host}:{self.port}{path}"


@pytest.fixture
def serve() -> Iterator[Callable[[Any], LiveServer]]:
    """``serve(app)`` starts a real HTTP server for a Dash app and returns where it is."""
    from werkzeug.serving import make_server

    running: list[tuple[Any, threading.Thread]] = []

    def start(app: Any) -> LiveServer:
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
        thread.start()
        running.append((server, thread))
        return LiveServer("127.0.0.1", server.server_port)

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- the browser ----------------------------------------------------------


@dataclass
class Exchange:
    """One request the browser made and the response it got (from Chromium's network log)."""

    request_id: str
    url: str = ""
    method: str = ""
    type: str = ""
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Page:
    """A headless Chromium tab with the waits and network checks the tests need."""

    def __init__(self, driver: Any, server: LiveServer | None = None) -> None:
        self.driver = driver
        self.server = server
        self._exchanges: dict[str, Exchange] = {}

    # navigation and DOM

    def open(self, path: str = "/", user: str | None = None, password: str | None = None) -> None:
        assert self.server is not None, "call page.attach(server) first"
        self.driver.get(self.server.url(path, user, password))

    def attach(self, server: LiveServer) -> Page:
        self.server = server
        return self

    def find(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def wait(self, condition: Callable[[Any], Any], message: Callable[[], str], timeout: float = WAIT) -> Any:
        """Wait up to ``timeout`` seconds for ``condition``; fail with ``message()`` (built at the end)."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)
        except TimeoutException:
            pytest.fail(f"after {timeout:g}s: {message()}", pytrace=False)

    def wait_for_text(self, element_id: str, text: str, timeout: float = WAIT) -> str:
        """Wait until the element ``element_id`` exists and its text contains ``text``."""
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

        def check(_driver: Any) -> str | bool:
            try:
                value = self.find(element_id).text
            except (NoSuchElementException, StaleElementReferenceException):
                return False
            return value if text in value else False

        return self.wait(
            check, lambda: f"#{element_id} never contained {text!r}; page text: {self.body_text()[:300]!r}", timeout
        )

    def body_text(self) -> str:
        try:
            return self.driver.execute_script("return document.body ? document.body.innerText : ''") or ""
        except Exception:  # a page in transition
            return ""

    def html(self) -> str:
        return self.driver.page_source

    def location(self) -> str:
        return self.driver.execute_script("return window.location.pathname")

    def has_dash_app(self) -> bool:
        return bool(self.driver.execute_script("return !!document.getElementById('react-entry-point')"))

    # network

    def network(self) -> list[Exchange]:
        """Every exchange seen so far (drains Chromium's performance log into the record)."""
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, ValueError):
                continue
            method = message.get("method", "")
            params = message.get("params", {})
            rid = params.get("requestId")
            if not rid or not method.startswith("Network."):
                continue
            ex = self._exchanges.setdefault(rid, Exchange(rid))
            if method == "Network.requestWillBeSent":
                ex.url = params["request"]["url"]
                ex.method = params["request"]["method"]
                ex.type = params.get("type", ex.type)
            elif method == "Network.requestWillBeSentExtraInfo":
                # The headers really sent, including those the network stack adds
                # (Authorization from the Basic cache, Cookie).
                ex.request_headers.update({k.lower(): v for k, v in params.get("headers", {}).items()})
            elif method == "Network.responseReceived":
                response = params["response"]
                ex.url = ex.url or response["url"]
                ex.type = params.get("type", ex.type)
                ex.status = response["status"]
                ex.response_headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        return list(self._exchanges.values())

    def forget_network(self) -> None:
        self.network()
        self._exchanges.clear()

    def responses(self, path: str | None = None, method: str | None = None) -> list[Exchange]:
        return [
            ex
            for ex in self.network()
            if ex.status is not None
            and (path is None or ex.path == path)
            and (method is None or ex.method == method)
        ]

    def wait_for_response(self, path: str, status: int, method: str | None = None, timeout: float = WAIT) -> Exchange:
        """Wait until the browser got a ``status`` answer for ``path``; return that exchange."""
        found: list[Exchange] = []

        def check(_driver: Any) -> bool:
            found[:] = [ex for ex in self.responses(path, method) if ex.status == status]
            return bool(found)

        def seen() -> str:
            got = [
                (ex.method, ex.path, ex.status)
                for ex in self.network()
                if ex.status and "/_dash-component-suites/" not in ex.path
            ]
            return f"no {status} answer for {path}; the browser saw {got}"

        self.wait(check, seen, timeout)
        return found[-1]


def start_chromium(tmp_path: Any) -> Any:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = pytest_setup_options()
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    last: Exception | None = None
    for _attempt in range(2):  # a cold first start can time out on a loaded machine
        try:
            driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        except WebDriverException as exc:
            last = exc
            time.sleep(1)
            continue
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        driver.implicitly_wait(0)
        return driver
    raise RuntimeError(f"Chromium did not start: {last}")


@pytest.fixture
def page(tmp_path) -> Iterator[Page]:
    """A fresh headless Chromium (own profile) wrapped in :class:`Page`."""
    require_browser()
    driver = start_chromium(tmp_path)
    try:
        yield Page(driver)
    finally:
        driver.quit()


@pytest.fixture
def serve_live() -> Iterator[Callable[[Any], LiveServer]]:
    """``serve_live(app)`` serves a Dash app on its own backend's real server on 127.0.0.1.

    Flask: Werkzeug; Quart: hypercorn; FastAPI: uvicorn (each in a thread).
    """
    from live_servers import LiveApp

    running: list[Any] = []

    def start(app: Any) -> LiveServer:
        live = LiveApp(app).start()
        running.append(live)
        return LiveServer(live.host, live.port)

    yield start
    for live in running:
        live.stop()


@pytest.fixture
def restartable_browser(tmp_path) -> Iterator[Callable[[], Page]]:
    """``start()`` opens a new Chromium process on the same profile each time (the previous one is
    quit first, as a user closing the browser): what a profile keeps on disk survives, the rest not."""
    require_browser()
    drivers: list[Any] = []

    def start() -> Page:
        if drivers:
            drivers[-1].quit()
        drivers.append(start_chromium(tmp_path))
        return Page(drivers[-1])

    yield start
    if drivers:
        drivers[-1].quit()
