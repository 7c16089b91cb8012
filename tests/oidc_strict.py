"""The second provider of the OIDC test matrix: panva's ``oidc-provider`` (npm, OpenID Certified).

``tests/oidc/strict_provider/provider.js`` configures it the way production
providers often are (PKCE required, login and consent pages, ``offline_access``
only with ``prompt=consent``, short-lived access tokens, refresh tokens,
revocation, RP-initiated logout, ``iss`` in authorization responses). The tests
start it on 127.0.0.1 on a free port and drive its pages over HTTP, as a
browser would, with :func:`interact`.

It needs Node.js (>= 20.12: ``node:crypto``'s ``hash``) and the provider's
packages (``npm ci`` in ``tests/oidc/strict_provider``, which ``.ci/run``
does). Without them its tests are skipped with the reason; with
``DASH_AUTH_REQUIRE_STRICT_OIDC=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import tempfile
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

#: Seconds any wait for the provider may take.
WAIT = 20.0
STRICT_DIR = Path(__file__).resolve().parent / "oidc" / "strict_provider"
REQUIRE_ENV = "DASH_AUTH_REQUIRE_STRICT_OIDC"
#: The resource (audience) of the JWT access tokens scripts get from the strict provider.
API_AUDIENCE = "api://dash-app"
#: Where a machine whose Node.js is too old gets a newer one from the npm registry (see .ci/run).
RUNTIME_DIR = STRICT_DIR / ".runtime" / "node_modules"


def node_binary() -> str | None:
    """The Node.js .ci/run put next to the provider, else the one on ``PATH``."""
    for local in sorted(RUNTIME_DIR.glob("node-linux-*/bin/node")):
        if os.access(local, os.X_OK):
            return str(local)
    return shutil.which("node")


def strict_problem() -> str | None:
    """Why the strict provider cannot run here, or ``None`` when it can."""
    node = node_binary()
    if node is None:
        return "the strict OIDC provider needs Node.js (apt-get install -y nodejs npm, then .ci/run's npm ci)"
    if not (STRICT_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        return f"the strict OIDC provider is not installed: run `npm ci` in {STRICT_DIR}"
    probe = subprocess.run(
        [node, "-e", "process.stdout.write(process.version);"
                     "process.exit(typeof require('node:crypto').hash === 'function' ? 0 : 3)"],
        capture_output=True, text=True, timeout=WAIT, check=False,
    )
    if probe.returncode != 0:
        return f"Node.js {probe.stdout or '?'} at {node} is too old for oidc-provider 9 (needs >= 20.12)"
    return None


def require_strict() -> None:
    """Skip (or, under ``DASH_AUTH_REQUIRE_STRICT_OIDC=1``, fail) when the strict provider cannot run."""
    problem = strict_problem()
    if problem is None:
        return
    if os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0"):
        pytest.fail(f"{problem}; {REQUIRE_ENV} is set, so the strict provider's tests may not be skipped",
                    pytrace=False)
    pytest.skip(problem)


class StrictProvider:
    """``node provider.js <config>`` on 127.0.0.1 (it binds a free port itself and prints its issuer)."""

    def __init__(self, config: dict[str, Any]) -> None:
        node = node_binary()
        assert node is not None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen(
            [node, str(STRICT_DIR / "provider.js"), json.dumps(config)],
            cwd=STRICT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], WAIT)
        line = self.proc.stdout.readline() if ready else b""  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"the strict OIDC provider did not start: {self.stop()[-2000:]}")
        self.url: str = json.loads(line)["issuer"]
        self.metadata = requests.get(self.metadata_url, timeout=WAIT).json()

    @property
    def metadata_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    def set_user(self, sub: str, **claims: Any) -> None:
        response = requests.put(f"{self.url}/_test/users/{sub}", json=claims, timeout=WAIT)
        assert response.status_code == 204, response.text

    def stop(self) -> str:
        """Stop the process; its standard error (for a failure message)."""
        if self.proc.poll() is None:
            self.proc.stdin.close()  # type: ignore[union-attr]  # it exits when its input closes
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.seek(0)
        err = self._stderr.read().decode(errors="replace")
        self._stderr.close()
        return err


# -- a browser at the provider: its login, consent and logout pages --------------------


_FORM = re.compile(r'<form[^>]*\baction="([^"]*)"', re.I)
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>', re.I)
_ATTR = re.compile(r'\b(name|value)="([^"]*)"')
_ABORT = re.compile(r'href="([^"]*/abort)"')


def _form(page: str, base: str) -> tuple[str, dict[str, str]]:
    """The first form's absolute action and its hidden fields."""
    found = _FORM.search(page)
    assert found, page[:1000]
    fields = {}
    for tag in _HIDDEN.findall(page):
        attrs = dict(_ATTR.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = unescape(attrs.get("value", ""))
    return urljoin(base, unescape(found.group(1))), fields


def interact(url: str, issuer: str, browser: requests.Session, *, sub: str = "alice",
             deny: bool = False) -> tuple[str, list[str]]:
    """Follow ``url`` through the provider's pages as a user would: sign in as ``sub`` on the
    login page, then allow (or, with ``deny``, cancel) on the consent page. Returns the first
    URL outside the provider (the app's callback) and the names of the pages passed."""
    pages: list[str] = []
    for _hop in range(16):
        response = browser.get(url, allow_redirects=False, timeout=WAIT)
        while response.status_code in (302, 303):
            url = urljoin(url, response.headers["Location"])
            if not url.startswith(issuer + "/"):
                return url, pages
            response = browser.get(url, allow_redirects=False, timeout=WAIT)
        assert response.status_code == 200, (url, response.status_code, response.text[:500])
        page = response.text
        if deny:
            abort = _ABORT.search(page)
            assert abort, page[:1000]
            pages.append("abort")
            url = urljoin(url, unescape(abort.group(1)))
            continue
        action, fields = _form(page, url)
        if 'name="login"' in page:
            pages.append("login")
            data = {**fields, "prompt": "login", "login": sub, "password": "any password"}
        else:
            pages.append("consent")
            data = {**fields, "prompt": "consent"}
        response = browser.post(action, data=data, allow_redirects=False, timeout=WAIT)
        assert response.status_code in (302, 303), (action, response.status_code, response.text[:500])
        url = urljoin(action, response.headers["Location"])
        if not url.startswith(issuer + "/"):
            return url, pages
    raise AssertionError(f"no way out of the provider's pages: {pages}")


def end_session(url: str, issuer: str, browser: requests.Session) -> str:
    """Confirm the sign-out on the provider's logout page; returns where it sends the browser."""
    page = browser.get(url, allow_redirects=False, timeout=WAIT)
    assert page.status_code == 200, (page.status_code, page.text[:500])
    action, fields = _form(page.text, url)
    done = browser.post(action, data={**fields, "logout": "yes"}, allow_redirects=False, timeout=WAIT)
    assert done.status_code in (302, 303), (done.status_code, done.text[:500])
    return urljoin(action, done.headers["Location"])


def client_credentials(provider: StrictProvider, client_id: str, secret: str, resource: str = API_AUDIENCE) -> str:
    """A JWT access token for ``resource``, as a script gets it (no browser, no user)."""
    response = requests.post(
        provider.metadata["token_endpoint"], auth=(client_id, secret),
        data={"grant_type": "client_credentials", "resource": resource, "scope": "read"}, timeout=WAIT,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]
