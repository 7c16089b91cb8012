"""The login throttle: whose failures count together, parallel guesses, a bounded table."""

from __future__ import annotations

import contextlib
import threading
import time
import unicodedata

import pytest
from dash import html
from helpers import SECRET

from dash_auth_basic import BasicAuth, LoginThrottle
from dash_auth_basic.throttle import Throttled, address_bucket
from dash_auth_core.testing import basic_header, client_for, make_dash

pytestmark = pytest.mark.backends("flask", reason="the throttle itself is backend-neutral")



def fail() -> None:
    return None


def attempts(throttle, username, address, n):
    """Outcomes of ``n`` failing attempts: "fail" (checked) or "locked"."""
    out = []
    for _ in range(n):
        try:
            throttle.check(username, address, fail)
            out.append("fail")
        except Throttled:
            out.append("locked")
    return out


def test_a_user_cannot_be_locked_out_from_another_address():
    throttle = LoginThrottle(max_failures=3)
    for n in range(5):  # guesses spread over many addresses, under each one's limit
        assert attempts(throttle, "alice", f"198.51.100.{n}", 2) == ["fail", "fail"]
    assert throttle.check("alice", "203.0.113.9", lambda: "alice") == "alice"
    # From one address the limit holds, for the right password too.
    assert attempts(throttle, "alice", "198.51.100.0", 2) == ["fail", "locked"]
    with pytest.raises(Throttled) as info:
        throttle.check("alice", "198.51.100.0", lambda: "alice")
    assert 0 < info.value.retry_after <= throttle.lockout


def test_spellings_of_one_username_share_a_count():
    throttle = LoginThrottle(max_failures=3)
    composed = "josé"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert attempts(throttle, composed, "192.0.2.1", 1) == ["fail"]
    assert attempts(throttle, decomposed, "192.0.2.1", 1) == ["fail"]
    assert attempts(throttle, "JOSÉ", "192.0.2.1", 2) == ["fail", "locked"]


def test_ipv6_addresses_count_by_their_64():
    assert address_bucket("2001:db8::1") == address_bucket("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_bucket("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_bucket(None) == address_bucket("") == "-"
    throttle = LoginThrottle(max_failures=3)
    assert [attempts(throttle, "alice", f"2001:db8::{n}", 1)[0] for n in range(1, 5)] == ["fail"] * 3 + ["locked"]
    assert attempts(throttle, "alice", "2001:db8:0:1::1", 1) == ["fail"]  # the next /64 is another client


def test_one_address_cannot_try_many_usernames():
    throttle = LoginThrottle(max_failures=3, max_address_failures=4)
    assert [attempts(throttle, f"user{n}", "192.0.2.1", 1)[0] for n in range(6)] == ["fail"] * 4 + ["locked"] * 2
    assert attempts(throttle, "user9", "192.0.2.2", 1) == ["fail"]  # other addresses are not affected
    # A success gives its count back: signing in does not use up an address's allowance.
    roomy = LoginThrottle(max_failures=3, max_address_failures=2)
    for _ in range(5):
        assert roomy.check("bob", "192.0.2.3", lambda: "bob") == "bob"
    assert attempts(roomy, "eve", "192.0.2.3", 1) == ["fail"]


def test_only_failures_lock_an_address():
    throttle = LoginThrottle(max_failures=5, max_address_failures=3)
    assert attempts(throttle, "u1", "192.0.2.1", 1) + attempts(throttle, "u2", "192.0.2.1", 1) == ["fail", "fail"]
    assert throttle.check("bob", "192.0.2.1", lambda: "bob") == "bob"  # a success at the limit's edge
    assert throttle.check("carol", "192.0.2.1", lambda: "carol") == "carol"  # locks nothing
    assert attempts(throttle, "u3", "192.0.2.1", 2) == ["fail", "locked"]  # the third failure does
    # A browser signed in as its user proves its password again without the address's count.
    assert throttle.check("carol", "192.0.2.1", lambda: "carol", count_address=False) == "carol"


def test_parallel_guesses_are_checked_one_at_a_time():
    checked = []
    lock = threading.Lock()

    def slow_wrong_password():
        with lock:
            checked.append(1)
        time.sleep(0.02)
        return None

    def guess(username):
        with contextlib.suppress(Throttled):
            throttle.check(username, "192.0.2.1", slow_wrong_password)

    for names in (["alice"] * 24, [f"user{n}" for n in range(24)]):
        checked.clear()
        throttle = LoginThrottle(max_failures=3, max_address_failures=5)
        threads = [threading.Thread(target=guess, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        limit = 3 if len(set(names)) == 1 else 5
        assert len(checked) == limit, names[:2]


def test_lockouts_outlive_a_flood_of_other_keys():
    throttle = LoginThrottle(max_failures=2, max_address_failures=10**9, max_keys=50)
    assert attempts(throttle, "alice", "192.0.2.1", 3) == ["fail", "fail", "locked"]
    for n in range(500):
        throttle.failure(f"junk-{n}")
    assert len(throttle._entries) <= 50
    assert attempts(throttle, "alice", "192.0.2.1", 1) == ["locked"]


def test_an_exception_in_the_check_is_not_a_failure_and_gives_its_count_back():
    throttle = LoginThrottle(max_failures=2, max_address_failures=2)

    def broken():
        raise RuntimeError("directory down")

    for _ in range(3):
        with pytest.raises(RuntimeError):
            throttle.check("alice", "192.0.2.1", broken)
    assert throttle.check("alice", "192.0.2.1", lambda: "alice") == "alice"


# -- through the app ---------------------------------------------------------------


def login_app(**kwargs):
    app = make_dash(__name__)
    app.layout = html.Div("private")
    BasicAuth(app, {"alice": "wonderland"}, login_form=True, secret_key=SECRET, **kwargs)
    return app


def post_form(client, password, address, username="alice"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address})
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password, "next": "/"},
                       environ_base={"REMOTE_ADDR": address})


def test_form_guesses_from_elsewhere_do_not_lock_the_user_out():
    app = login_app()
    for n in range(6):
        assert post_form(client_for(app), "guess", f"198.51.100.{n}").status_code == 401
    assert post_form(client_for(app), "wonderland", "203.0.113.5").status_code == 303
    # The decomposed spelling of a locked name is the same name.
    app = login_app(throttle=LoginThrottle(max_failures=2))
    client = client_for(app)
    assert [post_form(client, "x", "192.0.2.1", "ALICE").status_code for _ in range(2)] == [401, 401]
    assert post_form(client, "wonderland", "192.0.2.1", "alice").status_code == 429


def test_a_later_basic_auth_throttle_reaches_the_form():
    app = login_app()
    BasicAuth(app, {"bob": "builder"}, throttle=LoginThrottle(max_failures=2))
    client = client_for(app)
    assert [post_form(client, "x", "192.0.2.1").status_code for _ in range(3)] == [401, 401, 429]


def test_header_and_form_share_one_count():
    app = login_app(throttle=LoginThrottle(max_failures=3))
    client = client_for(app)
    env = {"REMOTE_ADDR": "192.0.2.1"}
    assert [client.get("/", headers=basic_header("alice", "x"), environ_base=env).status_code for _ in range(2)] == [401, 401]
    assert post_form(client, "x", "192.0.2.1").status_code == 401
    assert client.get("/", headers=basic_header("alice", "wonderland"), environ_base=env).status_code == 429


def test_a_signed_in_user_at_a_shared_address_outlasts_a_guesser_there():
    app = make_dash(__name__)
    app.layout = html.Div("private")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET, identity_ttl=0,
              throttle=LoginThrottle(max_failures=5, max_address_failures=3))
    env = {"REMOTE_ADDR": "192.0.2.1"}  # one NAT address for everyone
    alice = client_for(app)
    assert alice.get("/", headers=basic_header("alice", "wonderland"), environ_base=env).status_code == 200
    guesser = client_for(app, use_cookies=False)
    statuses = [guesser.get("/", headers=basic_header(f"user{n}", "x"), environ_base=env).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    # alice's header is checked again (identity_ttl=0): her session vouches for her at this address.
    assert alice.get("/", headers=basic_header("alice", "wonderland"), environ_base=env).status_code == 200
