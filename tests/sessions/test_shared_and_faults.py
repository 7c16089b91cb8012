"""Two app instances sharing one Redis (in-process), and Redis going away and coming back."""

from __future__ import annotations

import logging
import threading

from session_support import call, form_app, jarless, new_client, session_cookie, sign_in

from dash_auth_core.testing import basic_header, callback_body, sign_out


def _copy_cookie(client, sid):
    return {"Cookie": f"session={sid}"}


def test_a_session_made_on_one_instance_works_on_the_other_and_ends_on_both(redis_url):
    one, _ = form_app(session_store=redis_url)
    two, _ = form_app(session_store=redis_url)
    browser = new_client(one)
    sign_in(browser)
    sid = session_cookie(browser)
    other = jarless(two)
    body = callback_body(two, "o.children", [1])
    response = other.post("/_dash-update-component", json=body, headers=_copy_cookie(other, sid))
    assert response.status_code == 200 and "hello alice" in response.get_data(as_text=True)
    sign_out(browser)
    response = other.post("/_dash-update-component", json=body, headers=_copy_cookie(other, sid))
    assert response.status_code == 401


def test_revocation_on_one_instance_reaches_the_other_instances_cached_headers(redis_url):
    one, auth_one = form_app(session_store=redis_url)
    two, _ = form_app(session_store=redis_url)
    header = basic_header("alice", "wonderland")
    body = callback_body(two, "o.children", [1])
    script = new_client(two)
    assert script.post("/_dash-update-component", json=body, headers=header).status_code == 200
    plugin_two = __import__("dash_auth_core").AuthStack.get(two).get_plugin("dash_auth_basic")
    cached_before = next(iter(plugin_two._identities.values()))[0]
    auth_one.forget("alice")
    assert script.post("/_dash-update-component", json=body, headers=header).status_code == 200
    cached_after = next(iter(plugin_two._identities.values()))[0]
    assert cached_after.auth_time > cached_before.auth_time  # checked again on instance two


def test_the_throttle_counts_across_instances(redis_url):
    one, _ = form_app(session_store=redis_url)
    two, _ = form_app(session_store=redis_url)
    statuses = []
    for attempt in range(8):
        app = (one, two)[attempt % 2]
        response = new_client(app).post(
            "/_dash-update-component", json=callback_body(app, "o.children", [1]),
            headers=basic_header("alice", f"wrong-{attempt}"))
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 3
    # The right password is locked out too, on both.
    for app in (one, two):
        response = new_client(app).post("/_dash-update-component", json=callback_body(app, "o.children", [1]),
                                        headers=basic_header("alice", "wonderland"))
        assert response.status_code == 429


def test_parallel_guesses_get_at_most_the_limit_of_checks(redis_url):
    one, auth = form_app(session_store=redis_url)
    checks = []
    original = auth.plugin._verify

    def counting(header):
        checks.append(header)
        return original(header)

    auth.plugin._verify = counting
    statuses = []

    def guess(n):
        response = new_client(one).post("/_dash-update-component", json=callback_body(one, "o.children", [1]),
                                        headers=basic_header("alice", f"guess-{n}"))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(checks) <= 5
    assert sorted(set(statuses)) <= [401, 429]


def test_redis_down_means_503_never_500_nor_anonymous_and_it_recovers(redis_url, redis_server, caplog):
    app, _ = form_app(session_store=redis_url)
    browser = new_client(app)
    sign_in(browser)
    assert call(browser, app).status_code == 200
    redis_server.stop()
    try:
        with caplog.at_level(logging.ERROR, logger="dash_auth"):
            for _ in range(3):
                response = call(browser, app)
                assert response.status_code == 503
                assert response.get_json()["error"] == "unavailable"
                assert response.headers.get("Retry-After")
            # A page, the login form and a script's header: 503 too, never served anonymously.
            assert browser.get("/").status_code == 503
            script = new_client(app).post("/_dash-update-component", json=callback_body(app, "o.children", [1]),
                                          headers=basic_header("alice", "wonderland"))
            assert script.status_code == 503
        assert any("session store unavailable" in r.getMessage() for r in caplog.records)
    finally:
        redis_server.start()
    # Back: the session written before the outage still works, without a restart.
    response = call(browser, app)
    assert response.status_code == 200 and "hello alice" in response.get_data(as_text=True)


def test_a_frozen_redis_times_out_into_a_503(redis_url, redis_server):
    import time

    app, _ = form_app(session_store=redis_url)
    browser = new_client(app)
    sign_in(browser)
    blocker = threading.Thread(target=lambda: redis_server.client().execute_command("DEBUG", "SLEEP", "3"))
    blocker.start()
    time.sleep(0.2)
    started = time.monotonic()
    response = call(browser, app)
    elapsed = time.monotonic() - started
    blocker.join(10)
    assert response.status_code == 503
    assert elapsed < 2.8  # the socket timeout (1 s), not the whole freeze
    assert call(browser, app).status_code == 200
