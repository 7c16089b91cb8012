"""Races and restarts around what the Redis store remembers (sessions/tracking.py, sessions/redis_state.py).

A remembered value must never be used once Redis's report of a change has
reached this process, whichever thread reads that report and whenever; and
what the store remembers of the revocation marks must not survive a Redis
that lost its data. Every backend (tests/sessions/conftest.py).
"""

from __future__ import annotations

import socket
import time

from dash_auth_core.sessions import tracking


def test_a_report_read_by_the_tracking_thread_during_a_lookup_is_not_missed(backend, monkeypatch):
    # Redis's report that p:a changed is on the socket before the lookup starts. The tracking
    # thread reads and handles it while the lookup runs (here: right before the lookup polls the
    # socket, the interleaving a busy process gets). The lookup must not answer with p:a's old value.
    reads = tracking.TrackedReads(lambda: None, ("p:",))
    left, right = socket.socketpair()
    try:
        reads._live, reads._heard, reads._fds = True, time.monotonic(), (left.fileno(),)
        reads.keep(reads.generation, [("p:a", b"old", None)])
        assert reads.lookup(["p:a"]) == [b"old"]
        right.send(b"x")  # the report arrives
        real_select = tracking._select

        def tracking_thread_runs_first(*args):
            # What _track_while_alive does with a readable socket: flag, read, handle, unflag.
            reads._reading = True
            left.recv(1)
            reads._handle([b"message", tracking.CHANNEL.encode(), [b"p:a"]])
            reads._heard = time.monotonic()
            reads._reading = False
            return real_select(*args)

        monkeypatch.setattr(tracking, "_select", tracking_thread_runs_first)
        assert reads.lookup(["p:a"]) is None
    finally:
        left.close()
        right.close()
        reads.close()


def test_revocation_marks_are_read_again_after_redis_lost_its_data(redis_url, redis_server):
    # Instance one knows the marks as of one revocation. Redis restarts without its data (here:
    # FLUSHALL) and a new revocation is made on instance two: instance one must see that mark at
    # its next request, although the revocation counter started over.
    from session_support import call, form_app, new_client, sign_in

    from dash_auth_core import AuthStack, revoke_user

    one, _ = form_app(session_store=redis_url)
    two, _ = form_app(session_store=redis_url)
    browser = new_client(one)
    sign_in(browser)
    revoke_user(two, "carol")
    assert call(browser, one).status_code == 200  # one reads the marks: carol's
    state = AuthStack.of(one).shared_state
    assert state.revoked("carol", time.time() - 1)

    redis_server.client().flushall()  # every session and mark gone: everybody is signed out
    login = time.time() - 1  # a login of bob's, made before what follows (a token, a cached header)
    revoke_user(two, "bob")
    assert call(browser, one).status_code == 401  # its session is gone; the request read the epoch
    assert state.revoked("bob", login)
