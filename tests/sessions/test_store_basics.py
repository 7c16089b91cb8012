"""Server-side sessions in a real Redis: what the cookie carries, rotation, logout, bad ids."""

from __future__ import annotations

import json

import pytest
from session_support import call, form_app, jarless, new_client, session_cookie, sign_in

from dash_auth_core.sessions import ids
from dash_auth_core.testing import sign_out


def records(redis_server):
    client = redis_server.client()
    return {key.decode(): client.get(key) for key in client.scan_iter("dash_auth:s:*")}


def test_the_cookie_carries_a_random_id_and_the_record_is_json(redis_url, redis_server):
    app, _ = form_app(session_store=redis_url)
    client = new_client(app)
    assert sign_in(client).status_code == 303
    sid = session_cookie(client)
    assert ids.well_formed(sid) and not ids.is_remembered(sid)
    stored = records(redis_server)
    assert list(stored) == ["dash_auth:s:" + ids.record_key(sid)]  # keyed by the id's hash, not the id
    record = json.loads(next(iter(stored.values())))
    assert record["u"] == "alice" and record["d"]["user"]["id"] == "alice"
    assert sid not in json.dumps(record)
    response = call(client, app)
    assert response.status_code == 200 and "hello alice" in response.get_data(as_text=True)


def test_login_rotates_the_id_and_drops_the_old_record(redis_url, redis_server):
    app, _ = form_app(session_store=redis_url)
    client = new_client(app)
    client.get("/login")  # an anonymous session with a CSRF token
    before = session_cookie(client)
    assert ids.well_formed(before)
    sign_in(client)
    after = session_cookie(client)
    assert after != before
    assert list(records(redis_server)) == ["dash_auth:s:" + ids.record_key(after)]


def test_a_planted_id_is_never_signed_in(redis_url, redis_server):
    app, _ = form_app(session_store=redis_url)
    attacker = new_client(app)
    attacker.get("/login")
    planted = session_cookie(attacker)
    victim = jarless(app)
    victim_cookies = {"Cookie": f"session={planted}"}
    # The victim signs in with the attacker's id in their cookie jar.
    token_page = victim.get("/login", headers=victim_cookies).get_data(as_text=True)
    from session_support import form_token

    response = victim.post("/login", headers=victim_cookies, data={
        "csrf_token": form_token(token_page), "username": "alice", "password": "wonderland", "next": "/"})
    assert response.status_code == 303
    issued = [v for k, v in response.headers.items() if k.lower() == "set-cookie" and v.startswith("session=")]
    assert issued and planted not in issued[-1]  # the victim got a new id
    assert call(attacker, app).status_code == 401  # the planted id is not alice's session
    stolen = jarless(app).post("/_dash-update-component", json={"output": "o.children"},
                               headers={"Cookie": f"session={planted}"})
    assert stolen.status_code == 401


def test_forged_unknown_and_malformed_ids_are_anonymous(redis_url):
    app, _ = form_app(session_store=redis_url)
    for value in (ids.new_id(), ids.new_id(True), "x" * 44, "s" + "!" * 43, "", "null", "a" * 5000):
        client = jarless(app)
        response = client.post("/_dash-update-component", json={"output": "o.children"},
                               headers={"Cookie": f"session={value}"})
        assert response.status_code == 401, value


def test_logout_deletes_the_record(redis_url, redis_server):
    app, _ = form_app(session_store=redis_url)
    client = new_client(app)
    sign_in(client)
    sid = session_cookie(client)
    assert sign_out(client).status_code == 200
    assert "dash_auth:s:" + ids.record_key(sid) not in records(redis_server)
    replay = jarless(app)
    response = replay.post("/_dash-update-component", json={"output": "o.children"},
                           headers={"Cookie": f"session={sid}"})
    assert response.status_code == 401


def test_corrupted_and_oversized_records_are_refused(redis_url, redis_server):
    app, _ = form_app(session_store=redis_url)
    client = new_client(app)
    sign_in(client)
    sid = session_cookie(client)
    key = "dash_auth:s:" + ids.record_key(sid)
    raw = redis_server.client()
    for bad in (b"\x80\x04\x95pickle", b"{not json", json.dumps({"v": 1, "d": []}).encode(),
                json.dumps({"v": 1, "u": "alice", "d": {"user": {"id": "alice"}, "pad": "x" * 70_000}}).encode()):
        raw.set(key, bad)
        assert call(client, app).status_code == 401, bad[:20]


def test_an_active_sessions_record_is_renewed_without_a_write_per_request(redis_url, redis_server):
    app, _ = form_app(session_store=redis_url, session_idle_timeout=3600)
    client = new_client(app)
    sign_in(client)
    key = "dash_auth:s:" + ids.record_key(session_cookie(client))
    raw = redis_server.client()
    written = raw.get(key)
    assert call(client, app).status_code == 200
    assert raw.get(key) == written  # a fresh record is not written again
    assert 3500 < raw.ttl(key) <= 3600
    # Ten minutes later (more than a twentieth of the idle timeout): the next request renews it.
    record = json.loads(written)
    record["w"] -= 600
    raw.set(key, json.dumps(record), ex=3000)
    assert call(client, app).status_code == 200
    assert raw.ttl(key) > 3500 and json.loads(raw.get(key))["w"] > record["w"] + 500
    # An idle session's record expires with the idle timeout: gone, it is anonymous.
    raw.delete(key)
    assert call(client, app).status_code == 401


def test_a_change_of_groups_rotates_the_id_and_the_old_one_fades_out(redis_url, redis_server):
    groups = {"alice": ["readers"]}
    app, _ = form_app(session_store=redis_url, user_groups=lambda user: groups.get(user, []), user_groups_ttl=0)
    client = new_client(app)
    sign_in(client)
    before = session_cookie(client)
    assert call(client, app).status_code == 200 and session_cookie(client) == before
    groups["alice"] = ["readers", "admins"]
    assert call(client, app).status_code == 200
    after = session_cookie(client)
    assert after != before and ids.well_formed(after)
    raw = redis_server.client()
    old_key = "dash_auth:s:" + ids.record_key(before)
    assert 0 < raw.ttl(old_key) <= 10  # a callback sent in parallel with the old cookie still works ...
    parallel = jarless(app).post("/_dash-update-component", json=__import__("dash_auth_core.testing",
                                 fromlist=["callback_body"]).callback_body(app, "o.children", [1]),
                                 headers={"Cookie": f"session={before}"})
    assert parallel.status_code == 200
    stored = json.loads(raw.get("dash_auth:s:" + ids.record_key(after)))
    assert stored["d"]["user"]["groups"] == ["readers", "admins"]  # ... and the new record holds the change


def test_bad_store_options_fail_at_start_up():
    import pytest

    from dash_auth_core import ConfigurationError

    for bad in ("memcached://127.0.0.1", "redis//nope", 42, object()):
        with pytest.raises(ConfigurationError):
            form_app(session_store=bad)


@pytest.mark.backends("fastapi", reason="Starlette's SessionMiddleware is FastAPI's own session layer")
def test_fastapi_refuses_its_own_session_middleware_next_to_a_store(redis_url):
    from dash import html
    from helpers import SECRET
    from starlette.middleware.sessions import SessionMiddleware

    from dash_auth_basic import BasicAuth
    from dash_auth_core import ConfigurationError
    from dash_auth_core.testing import make_dash

    app = make_dash(__name__)
    app.layout = html.Div("x")
    app.server.add_middleware(SessionMiddleware, secret_key=SECRET)
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET, session_store=redis_url)
    with pytest.raises(ConfigurationError, match="remove the app's own SessionMiddleware"):
        app.server.build_middleware_stack()
