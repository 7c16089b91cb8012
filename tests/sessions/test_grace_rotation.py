"""An id rotated out at a change of privileges works for a few seconds (the grace), then ends.

A request that still carries the old id during the grace and finds its record due for renewal
writes it back, but the record is marked to end with the grace (``x``): it is not given the
full idle timeout again, and once the grace is over the old id is anonymous even if the store
still holds its record. Every backend, against Redis.
"""

from __future__ import annotations

import json
import time

from session_support import call, form_app, jarless, new_client, session_cookie, sign_in

from dash_auth_core.sessions import ids, server
from dash_auth_core.testing import callback_body


def _rotated(redis_url):
    groups = {"alice": ["readers"]}
    app, _ = form_app(session_store=redis_url, session_idle_timeout=3600,
                      user_groups=lambda user: groups.get(user, []), user_groups_ttl=0)
    browser = new_client(app)
    sign_in(browser)
    assert call(browser, app).status_code == 200
    old = session_cookie(browser)
    groups["alice"] = ["readers", "admins"]  # a change of privileges: a new id, the old one fades out
    assert call(browser, app).status_code == 200 and session_cookie(browser) != old
    return app, old


def _with_old_id(app, old):
    return jarless(app).post("/_dash-update-component", json=callback_body(app, "o.children", [1]),
                             headers={"Cookie": f"session={old}"})


def test_an_id_rotated_out_is_not_renewed_past_its_grace(redis_url, redis_server, monkeypatch):
    app, old = _rotated(redis_url)
    admin = redis_server.client()
    key = "dash_auth:s:" + ids.record_key(old)
    assert 0 < admin.ttl(key) <= server.PRIVILEGE_GRACE
    assert json.loads(admin.get(key))["x"] <= time.time() + server.PRIVILEGE_GRACE
    monkeypatch.setattr(server, "_time", lambda: time.time() + 5)
    assert _with_old_id(app, old).status_code == 200  # within the grace, the old id still works ...
    assert 0 < admin.ttl(key) <= server.PRIVILEGE_GRACE  # ... and is not kept longer
    # Long after (its record would be due for renewal): refused, and not written back.
    monkeypatch.setattr(server, "_time", lambda: time.time() + 600)
    admin.persist(key)
    assert _with_old_id(app, old).status_code == 401
    assert admin.ttl(key) == -2  # not renewed: the ended record is deleted


def test_the_old_id_ends_with_its_grace_even_if_its_record_lingers(redis_url, redis_server, monkeypatch):
    app, old = _rotated(redis_url)
    admin = redis_server.client()
    key = "dash_auth:s:" + ids.record_key(old)
    admin.persist(key)  # as if Redis had not expired it yet
    monkeypatch.setattr(server, "_time", lambda: time.time() + server.PRIVILEGE_GRACE + 1)
    assert _with_old_id(app, old).status_code == 401
