"""An id rotated out at a change of privileges works for a few seconds (the grace), then ends.

Known flaw, not fixed here: a request that still carries the old id during the grace, and finds
its record due for renewal (a twentieth of the idle timeout since it was written), writes the
record back with the full idle timeout: the old id lives on for that long (and longer, while it
is used), not for the grace. Every backend, against Redis.
"""

from __future__ import annotations

import time

import pytest
from session_support import call, form_app, new_client, session_cookie, sign_in

from dash_auth_core import AuthStack
from dash_auth_core.sessions import ids, server


@pytest.mark.xfail(strict=True, reason="a renewal during the grace gives the old id the full idle timeout again")
def test_an_id_rotated_out_is_not_renewed_past_its_grace(redis_url, redis_server, monkeypatch):
    app, _ = form_app(session_store=redis_url, session_idle_timeout=3600)
    browser = new_client(app)
    sign_in(browser)
    assert call(browser, app).status_code == 200
    old = session_cookie(browser)
    store = AuthStack.of(app).session_store
    key = store.prefix + "s:" + ids.record_key(old)
    admin = redis_server.client()
    # A change of privileges in a parallel request: a new id, the old one ends after the grace.
    store.put(ids.record_key(ids.new_id()), admin.get(key), 3600, new=True, user="alice",
              drop=ids.record_key(old), drop_after=server.PRIVILEGE_GRACE)
    assert 0 < admin.ttl(key) <= server.PRIVILEGE_GRACE
    later = time.time() + 600  # the old record is due for renewal now
    monkeypatch.setattr(server, "_time", lambda: later)
    assert call(browser, app).status_code == 200  # within the grace, the old id still works
    assert admin.ttl(key) <= server.PRIVILEGE_GRACE
