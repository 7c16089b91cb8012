"""The core session reader remembers the login of a verified signed cookie (sessions/logins.py).

What must hold: the cookie is checked and decoded once, not per request; and
nothing a fresh decoding would refuse is let in from memory: a revocation, a
user removed from the table, the end of the login's lifetime or idle time,
a tampered cookie. Every backend (tests/sessions/conftest.py).
"""

from __future__ import annotations

import pytest
from session_support import USERS, call, form_app, new_client, session_cookie, sign_in

from dash_auth_core import default_plugin, revoke_user
from dash_auth_core.identity import Identity
from dash_auth_core.sessions import lifecycle
from dash_auth_core.sessions.logins import LoginCache


@pytest.fixture
def decodings(monkeypatch):
    """How many times a signed session cookie was checked and decoded (every backend's path)."""
    from dash_auth_core.backends import _sessions
    from dash_auth_core.backends.fastapi import middleware as fastapi_middleware

    count = [0]
    original = _sessions.decoded_cookie

    def counted(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(_sessions, "decoded_cookie", counted)
    monkeypatch.setattr(fastapi_middleware, "decoded_cookie", counted)
    return count


@pytest.fixture
def clock(monkeypatch):
    """The time the session lifecycle and the session reader see, moved by hand."""
    import time

    now = [time.time()]
    monkeypatch.setattr(lifecycle, "_time", lambda: now[0])
    monkeypatch.setattr(default_plugin, "_time", lambda: now[0])
    return now


def signed_in(**options):
    app, auth = form_app(**options)
    client = new_client(app)
    assert sign_in(client).status_code == 303
    return app, auth, client


def test_a_signed_cookie_is_decoded_once_for_many_requests(decodings):
    app, auth, client = signed_in()
    assert call(client, app).status_code == 200
    before = decodings[0]
    for _ in range(5):
        response = call(client, app)
        assert response.status_code == 200 and "hello alice" in response.get_data(as_text=True)
    assert decodings[0] == before
    assert len(auth.stack.session_logins) == 1


def test_revocation_and_removed_users_are_seen_through_the_cache():
    users = dict(USERS)
    app, _, alice = signed_in(users=users)
    bob = new_client(app)
    sign_in(bob, "bob")
    assert call(alice, app).status_code == 200 and call(bob, app).status_code == 200
    revoke_user(app, "alice")
    assert call(alice, app).status_code == 401
    del users["bob"]
    assert call(bob, app).status_code == 401


def test_the_login_ends_on_time_although_remembered(clock):
    app, _, client = signed_in(session_lifetime=3600, session_idle_timeout=None)
    assert call(client, app).status_code == 200
    clock[0] += 3000
    assert call(client, app).status_code == 200
    clock[0] += 601
    assert call(client, app).status_code == 401


def test_the_idle_stamp_is_still_rewritten_and_idle_logins_end(clock, decodings):
    app, _, client = signed_in(session_idle_timeout=600)
    first = session_cookie(client)
    assert call(client, app).status_code == 200
    clock[0] += 20  # less than a twentieth of the idle timeout: remembered, nothing written
    before = decodings[0]
    assert call(client, app).status_code == 200
    assert decodings[0] == before and session_cookie(client) == first
    clock[0] += 20  # past it: decoded again, the stamp rewritten (a new cookie)
    assert call(client, app).status_code == 200
    assert decodings[0] > before and session_cookie(client) != first
    clock[0] += 601  # unused for longer than the idle timeout
    assert call(client, app).status_code == 401


def test_a_tampered_cookie_is_refused_and_not_remembered():
    app, _, client = signed_in()
    assert call(client, app).status_code == 200
    good = session_cookie(client)
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    thief = new_client(app)
    thief.set_cookie("session", forged)
    for _ in range(2):
        assert call(thief, app).status_code == 401


def test_the_cache_is_bounded():
    cache = LoginCache(size=2)
    people = [Identity(id=name, provider="basic") for name in ("a", "b", "c")]
    for i, identity in enumerate(people):
        cache.put(f"session={i}", identity, 1e12)
    assert len(cache) == 2 and cache.get("session=0") is None and cache.get("session=2")[0].id == "c"
    cache.discard("session=2")
    assert cache.get("session=2") is None
