"""Two real server processes per backend sharing one Redis: a session, a logout, a revocation and
the login throttle hold across them (gunicorn with two workers for Flask, hypercorn for Quart,
uvicorn for FastAPI)."""

from __future__ import annotations

import base64
import re
import secrets

import pytest
import requests
from server_processes import ServerProcess

ADMIN = secrets.token_urlsafe(16)


@pytest.fixture
def instances(backend, redis_url):
    servers = [ServerProcess(backend, {"DASH_AUTH_TEST_STORE": redis_url, "DASH_AUTH_TEST_ADMIN": ADMIN})
               for _ in range(2)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10).text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(server: ServerProcess, user: str = "alice", password: str = "wonderland") -> requests.Session:
    session = requests.Session()
    response = session.post(server.base + "/login", timeout=10, allow_redirects=False, data={
        "csrf_token": token(session, server.base + "/login"), "username": user, "password": password, "next": "/"})
    assert response.status_code == 303, response.text[:300]
    return session


def body() -> dict:
    return {"output": "o.children", "outputs": {"id": "o", "property": "children"},
            "inputs": [{"id": "b", "property": "n_clicks", "value": 1}], "changedPropIds": ["b.n_clicks"],
            "state": []}


def call(server: ServerProcess, cookies: dict[str, str] | None = None, headers: dict[str, str] | None = None):
    return requests.post(server.base + "/_dash-update-component", json=body(), cookies=cookies or {},
                         headers=headers or {}, timeout=10)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_sessions_logouts_and_revocations_hold_across_instances(instances):
    one, two = instances
    browser = sign_in(one)
    cookies = browser.cookies.get_dict()
    response = call(two, cookies)
    assert response.status_code == 200 and "hello alice" in response.text
    # Sign out on one: refused on the other.
    assert browser.post(one.base + "/logout", data={"csrf_token": token(browser, one.base + "/logout")},
                        timeout=10).status_code == 200
    assert call(two, cookies).status_code == 401
    # Revoke on two: the session made on one is refused on one.
    again = sign_in(one)
    cookies = again.cookies.get_dict()
    assert call(one, cookies).status_code == 200
    bob = sign_in(two, "bob", "builder").cookies.get_dict()
    assert requests.get(two.base + f"/test/revoke/alice?token={ADMIN}", timeout=10).text == "revoked"
    assert call(one, cookies).status_code == 401
    assert call(two, cookies).status_code == 401
    assert call(one, bob).status_code == 200  # only alice's logins ended


def test_the_login_throttle_counts_across_instances(instances):
    one, two = instances
    statuses = [call((one, two)[n % 2], headers=basic("alice", f"wrong-{n}")).status_code for n in range(8)]
    assert statuses[:5] == [401] * 5, statuses
    assert statuses[5:] == [429] * 3, statuses
    assert call(one, headers=basic("alice", "wonderland")).status_code == 429
    assert call(two, headers=basic("bob", "builder")).status_code == 200  # another user is not locked
