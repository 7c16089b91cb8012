"""The Redis store remembers what it read until Redis reports a change (sessions/tracking.py).

A remembered session costs no round trip; a sign-out, a revocation or a new
id made anywhere ends it at once; a Redis that goes away, freezes, or does
not offer tracking leaves nothing remembered in use. Every backend
(tests/sessions/conftest.py), against a private redis-server.
"""

from __future__ import annotations

import logging
import threading
import time

from session_support import call, form_app, jarless, new_client, session_cookie, sign_in

from dash_auth_core import AuthStack, revoke_user
from dash_auth_core.sessions import ids, tracking
from dash_auth_core.testing import callback_body, sign_out


def _tracked(app):
    return AuthStack.of(app).session_store.tracked


def _remembered(app, sid) -> bool:
    store = AuthStack.of(app).session_store
    return store.prefix + "s:" + ids.record_key(sid) in store.tracked


def warm(app, client, sid, headers=None):
    """Requests until this instance remembers the session (tracking starts with the first)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if headers is None:
            assert call(client, app).status_code == 200
        else:
            assert client.post("/_dash-update-component", json=callback_body(app, "o.children", [1]),
                               headers=headers).status_code == 200
        if _tracked(app).live and _remembered(app, sid):
            return
        time.sleep(0.05)
    raise AssertionError("the session was never remembered: is tracking working?")


def remembered_browser(redis_url):
    """An app over the store, and a browser signed in whose session the app remembers."""
    app, _ = form_app(session_store=redis_url)
    browser = new_client(app)
    sign_in(browser)
    warm(app, browser, session_cookie(browser))
    return app, browser


def commands(redis_server) -> int:
    return int(redis_server.client().info("stats")["total_commands_processed"])


def test_a_remembered_session_costs_no_round_trip(redis_url, redis_server):
    app, browser = remembered_browser(redis_url)
    before = commands(redis_server)
    for _ in range(10):
        response = call(browser, app)
        assert response.status_code == 200 and "hello alice" in response.get_data(as_text=True)
    assert commands(redis_server) - before <= 3  # the INFO itself, and a PING of the tracking connection


def test_what_another_instance_ends_is_refused_at_once(redis_url):
    one, _ = form_app(session_store=redis_url)
    two, _ = form_app(session_store=redis_url)
    laptop, phone = new_client(one), new_client(one)
    sign_in(laptop)
    sign_in(phone)
    other = jarless(two)
    by_laptop = {"Cookie": f"session={session_cookie(laptop)}"}
    by_phone = {"Cookie": f"session={session_cookie(phone)}"}
    warm(two, other, session_cookie(laptop), by_laptop)
    warm(two, other, session_cookie(phone), by_phone)
    body = callback_body(two, "o.children", [1])

    sign_out(laptop)  # on instance one: instance two remembered that session
    assert other.post("/_dash-update-component", json=body, headers=by_laptop).status_code == 401
    assert other.post("/_dash-update-component", json=body, headers=by_phone).status_code == 200
    revoke_user(one, "alice")
    assert other.post("/_dash-update-component", json=body, headers=by_phone).status_code == 401


def test_a_stopped_redis_leaves_nothing_remembered_in_use(redis_url, redis_server):
    app, browser = remembered_browser(redis_url)
    redis_server.stop()
    try:
        for _ in range(3):
            assert call(browser, app).status_code == 503
    finally:
        redis_server.start()
    deadline = time.monotonic() + 10
    while call(browser, app).status_code != 200:  # back by itself; the session was kept
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_frozen_redis_is_trusted_for_a_few_seconds_at_most(redis_url, redis_server):
    app, browser = remembered_browser(redis_url)
    freeze = tracking.STALE_AFTER + 2 * tracking.PING_EVERY + 1
    blocker = threading.Thread(target=lambda: redis_server.client(socket_timeout=freeze + 5).execute_command(
        "DEBUG", "SLEEP", str(freeze)))
    blocker.start()
    try:
        time.sleep(tracking.STALE_AFTER + 0.2)
        assert call(browser, app).status_code == 503
    finally:
        blocker.join(freeze + 10)
    deadline = time.monotonic() + 10
    while call(browser, app).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_without_tracking_every_request_reads_redis(redis_url, redis_server, caplog):
    admin = redis_server.client()
    admin.execute_command("ACL", "SETUSER", "notrack", "on", ">notrack-password", "~*", "&*", "+@all", "-client")
    try:
        url = redis_url.replace("redis://", "redis://notrack:notrack-password@")
        with caplog.at_level(logging.WARNING, logger="dash_auth"):
            app, _ = form_app(session_store=url)
            browser = new_client(app)
            sign_in(browser)
            deadline = time.monotonic() + 5
            while not _tracked(app)._refused:
                assert time.monotonic() < deadline
                assert call(browser, app).status_code == 200
                time.sleep(0.05)
        assert any("cannot track keys" in r.getMessage() for r in caplog.records)
        before = commands(redis_server)
        for _ in range(5):
            assert call(browser, app).status_code == 200
        assert commands(redis_server) - before >= 5
        sign_out(browser)
        assert call(browser, app).status_code == 401
    finally:
        admin.execute_command("ACL", "DELUSER", "notrack")


def test_entries_end_with_their_key_and_reads_that_span_a_change_are_not_kept(backend):
    reads = tracking.TrackedReads(lambda: None, ("p:",))
    reads._live, reads._heard, reads._fds = True, time.monotonic(), (-1,)
    import socket

    left, right = socket.socketpair()
    try:
        reads._fds = (left.fileno(),)
        generation = reads.generation
        reads.keep(generation, [("p:a", b"1", 0.2), ("p:b", None, None)])
        assert reads.lookup(["p:a", "p:b"]) == [b"1", None]
        right.send(b"x")  # a message from Redis not handled yet: nothing is used
        assert reads.lookup(["p:a"]) is None
        left.recv(1)
        time.sleep(0.25)
        assert reads.lookup(["p:a"]) is None and reads.lookup(["p:b"]) == [None]  # p:a's own expiry
        # (A session's begin asks for two keys at once: either one expired or unknown is a miss.)
        assert reads.lookup(["p:a", "p:b"]) is None and reads.lookup(["p:b", "p:a"]) is None
        assert reads.lookup(["p:b", "p:unknown"]) is None and reads.lookup(["p:unknown", "p:b"]) is None
        assert reads.lookup(("p:b", "p:b")) == [None, None]
        stale = reads.generation
        reads._handle([b"message", tracking.CHANNEL.encode(), [b"p:b"]])
        assert reads.lookup(["p:b"]) is None
        reads.keep(stale, [("p:c", b"3", None)])  # read before that change: not kept
        assert "p:c" not in reads
        reads._handle([b"message", tracking.CHANNEL.encode(), None])  # FLUSHALL
        assert len(reads._entries) == 0
    finally:
        left.close()
        right.close()
        reads.close()


def test_a_descriptor_past_selects_limit_is_polled_instead(backend, monkeypatch):
    import socket

    reads = tracking.TrackedReads(lambda: None, ("p:",))
    left, right = socket.socketpair()

    def too_large(*_args):
        raise ValueError("filedescriptor out of range in select()")

    monkeypatch.setattr(tracking, "_select", too_large)
    try:
        reads._live, reads._heard, reads._fds = True, time.monotonic(), (left.fileno(),)
        reads.keep(reads.generation, [("p:a", b"1", None)])
        assert reads.lookup(["p:a"]) == [b"1"]
        right.send(b"x")
        assert reads.lookup(["p:a"]) is None
    finally:
        left.close()
        right.close()
        reads.close()


def test_a_stopped_redis_is_logged_but_a_closed_store_ends_quietly(redis_url, redis_server, caplog):
    def failures() -> int:
        return sum("tracking connection failed" in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.WARNING, logger="dash_auth"):
        # Tracking that loses Redis says so (requests then read Redis, and get its 503)...
        app, _browser = remembered_browser(redis_url)
        redis_server.stop()
        try:
            deadline = time.monotonic() + 10
            while not failures():
                assert time.monotonic() < deadline, "the lost tracking connection was not logged"
                time.sleep(0.05)
        finally:
            redis_server.start()
        # ...but a store closed before Redis goes (an orderly shutdown) logs nothing.
        other, _browser = remembered_browser(redis_url)
        _tracked(app).close()
        _tracked(other).close()
        logged = failures()
        redis_server.stop()
        try:
            time.sleep(2 * tracking.PING_EVERY)  # a tracking thread still running would fail by now
            assert failures() == logged
        finally:
            redis_server.start()
