"""The id a stored session's cookie carries: its shape (sessions/ids.py), and reading it from a raw
``Cookie`` header (sessions/cookies.py), which Flask's session interface remembers per header
(``ServerSessions.open_header``). A header that carries no well-formed id opens an empty session,
whether read or remembered."""

from __future__ import annotations

import pytest

from dash_auth_core.backends._sessions import LazySession
from dash_auth_core.sessions import ids, server
from dash_auth_core.sessions.cookies import cookie_value
from dash_auth_core.sessions.local import LocalState
from dash_auth_core.sessions.server import HANDLE, ServerSessions

GOOD = ids.new_id()


@pytest.mark.parametrize("value", [
    GOOD, ids.new_id(remembered=True), "s" + "A" * 43, "r" + "-_" * 21 + "z",
])
def test_ids_of_our_shape_are_well_formed(value):
    assert ids.well_formed(value)


@pytest.mark.parametrize("value", [
    None, "", 42, b"s" + b"A" * 43, GOOD + "\n", "\n" + GOOD, GOOD[:-1], GOOD + "A", "x" + GOOD[1:],
    "S" + GOOD[1:], GOOD[:10] + "=" + GOOD[11:], GOOD[:10] + "." + GOOD[11:], GOOD[:10] + "é" + GOOD[11:],
    GOOD[:10] + "\x00" + GOOD[11:], " " + GOOD[1:],
])
def test_anything_else_is_not(value):
    assert not ids.well_formed(value)


@pytest.mark.parametrize(("header", "value"), [
    (None, None), ("", None), (f"session={GOOD}", GOOD), (f"session={GOOD}; theme=dark", GOOD),
    (f"theme=dark; session={GOOD}", GOOD), (f"theme=dark;session={GOOD} ", GOOD), ("sessionx=1", None),
    ("xsession=1; session=2", "2"), ("session=", ""), ("theme=dark", None),
])
def test_the_session_cookie_is_read_from_a_raw_header(header, value):
    assert cookie_value(header, "session") == value


class _Stack:
    session_lifetime = session_idle_timeout = remember_lifetime = None


class _Store:
    max_record_bytes = 64 * 1024

    def __init__(self):
        self.reads = []

    def get(self, key):
        self.reads.append(key)
        return None

    def shared_state(self):
        return LocalState()


def _opened(sessions, header, name="session"):
    session = sessions.open_header(LazySession, header, name)
    return getattr(session, HANDLE).sid, session


@pytest.mark.parametrize("header", [
    f"session={GOOD}", f"theme=dark; session={GOOD}", f"session={GOOD}; session=other",
])
def test_a_header_opens_the_session_its_id_names_read_or_remembered(header):
    sessions = ServerSessions(_Stack(), _Store())
    for _ in range(3):  # read, then remembered
        sid, session = _opened(sessions, header)
        assert sid == GOOD and not session.loaded


@pytest.mark.parametrize("header", [
    None, "", "theme=dark", "session=forged", f"session={GOOD}x", f"session={GOOD[:-1]}", f"session=\n{GOOD}",
])
def test_a_header_without_a_well_formed_id_opens_an_empty_session_each_time(header):
    store = _Store()
    sessions = ServerSessions(_Stack(), store)
    for _ in range(3):
        sid, session = _opened(sessions, header)
        assert sid is None and dict(session) == {} and store.reads == []  # nothing is looked up


def test_what_is_remembered_follows_the_cookie_name_and_stays_bounded(monkeypatch):
    monkeypatch.setattr(server, "COOKIE_HEADERS", 4)
    sessions = ServerSessions(_Stack(), _Store())
    header = f"session={GOOD}; other={ids.new_id()}"
    assert _opened(sessions, header)[0] == GOOD
    assert _opened(sessions, header, "other")[0] == header.split("other=")[1]  # another name: read again
    assert _opened(sessions, header)[0] == GOOD
    for _ in range(20):
        _opened(sessions, f"session={ids.new_id()}")
    assert len(sessions._ids_in) <= 4
    long = f"session={GOOD}; pad={'x' * server.COOKIE_HEADER_BYTES}"
    assert _opened(sessions, long)[0] == GOOD and long not in sessions._ids_in  # too long to keep


@pytest.mark.backends("quart", "fastapi")
def test_an_event_loop_never_reads_the_store_synchronously(redis_url, backend, monkeypatch):
    """Quart and FastAPI read a request's record ahead of the guard, with the asyncio client, for
    any session cookie (ours or not) and for credentials: the guard then finds it read, and the
    store's blocking read is never called on the event loop."""
    from session_support import call, form_app, jarless

    from dash_auth_core import AuthStack

    app, _ = form_app(session_store=redis_url)
    store = AuthStack.of(app).session_store

    def blocking(*args, **kwargs):
        raise AssertionError("the store's blocking read ran on the event loop")

    monkeypatch.setattr(store, "begin", blocking)
    client = jarless(app)
    for cookie in ("session=forged", f"session={ids.new_id()}", "theme=dark; session=x", "session="):
        response = client.post("/_dash-update-component", json=_body(app), headers={"Cookie": cookie})
        assert response.status_code == 401  # anonymous: refused, and no 500 from the blocking read
    basic = {"Authorization": "Basic YWxpY2U6d29uZGVybGFuZA=="}  # alice:wonderland
    response = client.post("/_dash-update-component", json=_body(app), headers=basic)
    assert response.status_code == 200
    assert call(jarless(app), app).status_code == 401


def _body(app):
    from dash_auth_core.testing import callback_body

    return callback_body(app, "o.children", [1])
