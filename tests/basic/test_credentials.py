"""BasicAuth's handling of the ``Authorization`` header.

Requests are made without cookies unless a test says otherwise, so every
answer depends only on the header the request carries.
"""

from __future__ import annotations

import base64
import time
import unicodedata

import pytest
from dash import Input, Output, html
from helpers import SECRET
from werkzeug.security import check_password_hash, generate_password_hash

import dash_auth_basic.credentials
from dash_auth_basic import BasicAuth, LoginThrottle
from dash_auth_core import ConfigurationError
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash

URL = "/_dash-update-component"
USERS = {"alice": "wonderland", "bob": "builder"}


def make_app(users=USERS, **kwargs):
    """An app whose one protected callback records every run in ``ran``."""
    ran: list = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="btn"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("btn", "n_clicks"))
    def private(n):
        ran.append(n)
        return f"private {n}"

    kwargs.setdefault("secret_key", SECRET)
    if users is not None:
        BasicAuth(app, users, **kwargs)
    else:
        BasicAuth(app, **kwargs)
    return app, ran


def get(app, headers=None, path="/"):
    return client_for(app, use_cookies=False).get(path, headers=headers or {})


def call(app, headers=None):
    body = callback_body(app, "out.children", [1])
    return client_for(app, use_cookies=False).post(URL, json=body, headers=headers or {})


def session_user(app, headers):
    """Sign in with ``headers`` on a fresh cookie-keeping client; ``session["user"]``.

    The header is checked afresh (a header verified before serves a client without
    a session statelessly, without writing one)."""
    from dash_auth_core import AuthStack

    AuthStack.get(app).get_plugin("dash_auth_basic").forget()
    client = client_for(app)
    response = client.get("/", headers=headers)
    assert response.status_code == 200, response.data[:200]
    with client.session_transaction() as session:
        return dict(session["user"])


def client_session_user(app, client):
    with client.session_transaction() as session:
        return dict(session["user"])


def raw_basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def assert_challenged(response):
    assert response.status_code == 401, (response.status_code, response.data[:200])
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="')


def assert_accepted(app, ran, headers):
    assert get(app, headers).status_code == 200
    before = len(ran)
    response = call(app, headers)
    assert response.status_code == 200, response.data[:200]
    assert len(ran) == before + 1


def assert_refused(app, ran, headers):
    assert_challenged(get(app, headers))
    before = list(ran)
    response = call(app, headers)
    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"] == "unauthenticated"
    assert ran == before


# -- passwords ---------------------------------------------------------------


def test_correct_password_is_accepted():
    app, ran = make_app()
    assert_accepted(app, ran, basic_header("alice", "wonderland"))
    assert_accepted(app, ran, basic_header("bob", "builder"))
    assert session_user(app, basic_header("alice", "wonderland"))["id"] == "alice"


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("alice", "WONDERLAND"),
        ("alice", "wonderland "),
        ("alice", " wonderland"),
        ("alice", "wonderlan"),
        ("alice", ""),
        ("alice", "builder"),  # bob's password
        ("Alice", "wonderland"),
        ("alice ", "wonderland"),
        ("mallory", "wonderland"),
        ("", "wonderland"),
        ("", ""),
    ],
)
def test_incorrect_credentials_are_refused(user, password):
    app, ran = make_app()
    assert_refused(app, ran, basic_header(user, password))
    assert ran == []


def test_no_header_is_challenged():
    app, ran = make_app()
    assert_refused(app, ran, {})


def test_scheme_is_case_insensitive():
    app, ran = make_app()
    token = base64.b64encode(b"alice:wonderland").decode()
    for scheme in ("basic", "BASIC", "bAsIc"):
        assert get(app, {"Authorization": f"{scheme} {token}"}).status_code == 200


# -- colons ------------------------------------------------------------------


def test_username_and_password_with_colons():
    app, ran = make_app({"a:b": "c:d", "carol": "x:y:z"}, throttle=LoginThrottle(max_failures=100))
    assert_accepted(app, ran, basic_header("a:b", "c:d"))
    assert_accepted(app, ran, basic_header("carol", "x:y:z"))
    assert session_user(app, basic_header("a:b", "c:d"))["id"] == "a:b"
    # basic_header("a", "b:c:d") is the very same header as basic_header("a:b", "c:d"): RFC 7617 cannot tell them apart.
    assert basic_header("a", "b:c:d") == basic_header("a:b", "c:d")
    assert_refused(app, ran, basic_header("a:b", "c"))
    assert_refused(app, ran, basic_header("a:b", "c:d:"))
    assert_refused(app, ran, basic_header("a:b:c", "d:e"))
    assert_refused(app, ran, basic_header("carol", "x:y"))
    assert_refused(app, ran, basic_header("carol", "x:y:z:"))
    assert_refused(app, ran, basic_header("carol:x", "y"))  # no user "carol:x", and "x:y" is not carol's


def test_first_colon_wins_when_both_splits_are_users():
    """``a:b:c:d`` is user ``a`` (RFC 7617 splits at the first colon) when ``a`` knows ``b:c:d``."""
    app, _ = make_app({"a": "b:c:d", "a:b": "c:d"})
    assert session_user(app, basic_header("a:b", "c:d"))["id"] == "a"
    app, _ = make_app({"a": "other", "a:b": "c:d"})
    assert session_user(app, basic_header("a:b", "c:d"))["id"] == "a:b"


# -- non-ASCII -----------------------------------------------------------------

INTL = {"josé": "pässwörd", "пользователь": "пароль", "用户": "密码🔑"}


@pytest.mark.parametrize("user", list(INTL))
def test_non_ascii_credentials_as_utf8(user):
    app, ran = make_app(INTL)
    assert_accepted(app, ran, basic_header(user, INTL[user]))
    assert session_user(app, basic_header(user, INTL[user]))["id"] == user
    assert_refused(app, ran, basic_header(user, INTL[user] + "x"))


def test_non_ascii_credentials_as_latin1():
    """Older browsers send Latin-1; it is accepted as a fallback."""
    app, ran = make_app(INTL)
    headers = basic_header("josé", "pässwörd", encoding="latin-1")
    assert headers != basic_header("josé", "pässwörd")
    assert_accepted(app, ran, headers)
    assert session_user(app, headers)["id"] == "josé"
    assert_refused(app, ran, basic_header("josé", "passwörd", encoding="latin-1"))
    assert_refused(app, ran, basic_header("jose", "pässwörd", encoding="latin-1"))


def test_latin1_fallback_does_not_confuse_users():
    """The Latin-1 reading of UTF-8 bytes is another name, not the same user."""
    app, ran = make_app({"josé": "pw", "josÃ©": "other"})
    assert session_user(app, basic_header("josé", "pw"))["id"] == "josé"
    assert_refused(app, ran, basic_header("josé", "other"))


def nfc(text):
    return unicodedata.normalize("NFC", text)


def nfd(text):
    return unicodedata.normalize("NFD", text)


def test_nfc_and_nfd_forms_of_a_name_are_the_same_user():
    assert nfc("José") != nfd("José")
    app, ran = make_app({nfc("José"): "secret"})
    assert_accepted(app, ran, basic_header(nfd("José"), "secret"))
    assert_accepted(app, ran, basic_header(nfc("José"), "secret"))
    assert session_user(app, basic_header(nfd("José"), "secret"))["id"] == nfc("José")

    app, ran = make_app({nfd("José"): "secret"})
    assert_accepted(app, ran, basic_header(nfc("José"), "secret"))
    assert session_user(app, basic_header(nfc("José"), "secret"))["id"] == nfc("José")


def test_nfc_and_nfd_forms_of_a_plain_password():
    app, ran = make_app({"ana": nfd("Ångström")})
    assert_accepted(app, ran, basic_header("ana", nfc("Ångström")))
    assert_accepted(app, ran, basic_header("ana", nfd("Ångström")))


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_hashed_password_in_either_form_accepts_the_password_it_was_made_from(form):
    """A hash made from the password as the user types it must accept that password."""
    password = unicodedata.normalize(form, "Ångström")
    app, ran = make_app({"ana": generate_password_hash(password, method="pbkdf2:sha256:1000")})
    assert_accepted(app, ran, basic_header("ana", password))


def test_hashed_nfc_password_accepts_the_nfd_spelling():
    app, ran = make_app({"ana": generate_password_hash(nfc("Ångström"), method="pbkdf2:sha256:1000")})
    assert_accepted(app, ran, basic_header("ana", nfd("Ångström")))


# -- hashed passwords ------------------------------------------------------------


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1000", "scrypt"])
def test_werkzeug_hashes_are_accepted(method):
    hashed = generate_password_hash("wonderland", method=method)
    assert hashed.startswith(method.split(":")[0] + ":")
    app, ran = make_app({"alice": hashed})
    assert_accepted(app, ran, basic_header("alice", "wonderland"))
    assert_refused(app, ran, basic_header("alice", "wonderlanD"))
    # The stored hash is not itself a password.
    assert_refused(app, ran, basic_header("alice", hashed))


def test_text_that_only_looks_like_a_hash_is_a_plain_password():
    app, ran = make_app({"alice": "scrypt:no-dollar-sign"})
    assert_accepted(app, ran, basic_header("alice", "scrypt:no-dollar-sign"))


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, pwhash, password):
        self.calls += 1
        return check_password_hash(pwhash, password)


@pytest.fixture
def hash_calls(monkeypatch):
    counter = Counter()
    monkeypatch.setattr(dash_auth_basic.credentials, "check_password_hash", counter)
    return counter


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1000", "scrypt"])
def test_verified_hash_is_not_recomputed_on_the_next_request(hash_calls, method):
    app, ran = make_app({"alice": generate_password_hash("wonderland", method=method)})
    headers = basic_header("alice", "wonderland")
    assert get(app, headers).status_code == 200
    assert hash_calls.calls == 1
    # New clients, no session cookie: only the remembered verification saves the hash.
    assert get(app, headers).status_code == 200
    assert call(app, headers).status_code == 200
    assert get(app, headers, path="/_dash-layout").status_code == 200
    assert hash_calls.calls == 1
    assert ran == [1]


def test_wrong_password_is_not_cached(hash_calls):
    app, ran = make_app({"alice": generate_password_hash("wonderland", method="pbkdf2:sha256:1000")})
    wrong = basic_header("alice", "nope")
    for expected_calls in (1, 2, 3):
        assert_challenged(get(app, wrong))
        assert hash_calls.calls == expected_calls
    assert call(app, wrong).status_code == 401
    assert ran == []
    assert get(app, basic_header("alice", "wonderland")).status_code == 200
    assert_challenged(get(app, wrong))


class RecordingHashCheck(Counter):
    def __call__(self, pwhash, password):
        self.methods = [*getattr(self, "methods", []), pwhash.split("$", 1)[0]]
        return super().__call__(pwhash, password)


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1000", "scrypt:1024:8:1"])
def test_unknown_usernames_cost_the_same_hash_as_known_ones(monkeypatch, method):
    """A slow hash for alice and none for mallory would tell an attacker who exists."""
    recorder = RecordingHashCheck()
    monkeypatch.setattr(dash_auth_basic.credentials, "check_password_hash", recorder)
    app, ran = make_app({"alice": generate_password_hash("wonderland", method=method)})
    assert_challenged(get(app, basic_header("alice", "guess")))
    assert_challenged(get(app, basic_header("mallory", "guess")))
    assert_challenged(get(app, basic_header("nobody:with:colons", "guess")))
    assert recorder.calls == 3
    assert recorder.methods == [method] * 3  # the same work for every attempt
    assert ran == []


def test_plain_tables_need_no_decoy_hash(hash_calls):
    app, ran = make_app({"alice": "wonderland"})
    assert_challenged(get(app, basic_header("mallory", "guess")))
    assert hash_calls.calls == 0


def test_plain_users_in_a_mixed_table_take_as_long_as_hashed_ones(monkeypatch):
    """A fast answer for a plain-text user would tell an attacker the name exists."""
    recorder = RecordingHashCheck()
    monkeypatch.setattr(dash_auth_basic.credentials, "check_password_hash", recorder)
    app, ran = make_app({"alice": generate_password_hash("wonderland", method="pbkdf2:sha256:1000"),
                         "bob": "builder"})
    assert_challenged(get(app, basic_header("bob", "guess")))
    assert_challenged(get(app, basic_header("mallory", "guess")))
    assert recorder.methods == ["pbkdf2:sha256:1000"] * 2
    assert get(app, basic_header("bob", "builder")).status_code == 200


def test_cached_success_does_not_leak_to_a_different_password(hash_calls):
    app, ran = make_app({"alice": generate_password_hash("wonderland", method="pbkdf2:sha256:1000")})
    assert get(app, basic_header("alice", "wonderland")).status_code == 200
    assert_refused(app, ran, basic_header("alice", "wonderland2"))
    assert_refused(app, ran, basic_header("alice", "wonderlan"))
    assert_refused(app, ran, basic_header("alicex", "wonderland"))


# -- the other user-table forms ------------------------------------------------------


def test_list_of_pairs():
    app, ran = make_app([["alice", "wonderland"], ("bob", "builder")])
    assert_accepted(app, ran, basic_header("alice", "wonderland"))
    assert_accepted(app, ran, basic_header("bob", "builder"))
    assert_refused(app, ran, basic_header("alice", "builder"))


@pytest.mark.parametrize(
    "users",
    [[("alice", "x", "y")], [("alice",)], ["alice"], [("", "pw")], [("alice", None)], [(1, "pw")]],
    ids=["triple", "single", "bare-string", "empty-name", "none-password", "int-name"],
)
def test_malformed_user_lists_fail_at_start_up(users):
    with pytest.raises(ValueError):
        make_app(users)


def authorization_function(username, password):
    return username == "hello" and password == "world"


def test_auth_func_seed_example():
    app, ran = make_app(None, auth_func=authorization_function)
    assert_accepted(app, ran, basic_header("hello", "world"))
    assert session_user(app, basic_header("hello", "world"))["id"] == "hello"
    assert_refused(app, ran, basic_header("hello", "World"))
    assert_refused(app, ran, basic_header("hello", "world:extra"))
    assert_refused(app, ran, basic_header("world", "hello"))
    assert_refused(app, ran, {})


def test_auth_func_receives_the_split_credentials():
    seen = []

    def check(username, password):
        seen.append((username, password))
        return False

    app, _ = make_app(None, auth_func=check)
    get(app, basic_header("u", "p:w:d"))
    get(app, basic_header("josé", "pässwörd", encoding="latin-1"))
    assert seen == [("u", "p:w:d"), ("josé", "pässwörd")]


def test_auth_func_that_raises_is_a_refusal_not_a_500():
    """The seed library logs an exception in ``auth_func`` and refuses the request."""

    def fragile(username, password):
        return password.encode("ascii") == b"world"  # UnicodeEncodeError for non-ASCII input

    app, ran = make_app(None, auth_func=fragile)
    assert get(app, basic_header("hello", "world")).status_code == 200
    response = get(app, basic_header("hello", "wörld"))
    assert response.status_code != 500
    assert_challenged(response)
    response = call(app, basic_header("hello", "wörld"))
    assert response.status_code == 401
    assert ran == []


# -- malformed headers ------------------------------------------------------------------

ALICE_TOKEN = base64.b64encode(b"alice:wonderland").decode()

MALFORMED = [
    ("empty", ""),
    ("no-scheme", ALICE_TOKEN),
    ("scheme-alone", "Basic"),
    ("scheme-and-space", "Basic "),
    ("scheme-and-spaces", "Basic     "),
    ("bang", "Basic !!!"),
    ("invalid-base64", "Basic dXNlcjpwYXNz="),
    ("base64-with-junk", "Basic " + ALICE_TOKEN + "$$"),
    ("base64-url-alphabet", "Basic " + base64.urlsafe_b64encode(b"alice:wonderland??>").decode()),
    ("base64-wrapped-in-whitespace", "Basic " + ALICE_TOKEN[:8] + " " + ALICE_TOKEN[8:]),
    ("two-tokens", "Basic " + ALICE_TOKEN + " " + ALICE_TOKEN),
    ("no-colon", "Basic " + base64.b64encode(b"alicewonderland").decode()),
    ("empty-credentials", "Basic " + base64.b64encode(b"").decode() + "===="),
    ("only-colon", "Basic " + base64.b64encode(b":").decode()),
    ("bearer", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig"),
    ("bearer-with-basic-token", "Bearer " + ALICE_TOKEN),
    ("digest", 'Digest username="alice", realm="Dash app", response="x"'),
    ("tab-separator", "Basic\t" + ALICE_TOKEN),
    ("prefix-word", "XBasic " + ALICE_TOKEN),
    ("huge-10kB", "Basic " + "A" * 10_240),
    ("huge-valid-base64", "Basic " + base64.b64encode(b"alice:" + b"w" * 9000).decode()),
    ("huge-many-colons", "Basic " + base64.b64encode(b":" * 6000).decode()),
    ("non-ascii-token", "Basic \xff\xfe\xfd"),
    ("not-utf8-not-user", "Basic " + base64.b64encode(b"\xff\xfe:\xfd\xfc").decode()),
    ("nul-in-name", "Basic " + base64.b64encode(b"alice\x00:wonderland").decode()),
    ("nul-after-password", "Basic " + base64.b64encode(b"alice:wonderland\x00").decode()),
    ("utf16", "Basic " + base64.b64encode("alice:wonderland".encode("utf-16")).decode()),
]


@pytest.mark.parametrize("header", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_headers_are_challenged_never_500(header):
    app, ran = make_app()
    response = get(app, {"Authorization": header})
    assert response.status_code != 500
    assert_challenged(response)
    response = call(app, {"Authorization": header})
    assert response.status_code == 401, response.data[:200]
    assert response.is_json
    assert ran == []


@pytest.mark.parametrize("header", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_headers_with_an_auth_func(header):
    app, ran = make_app(None, auth_func=authorization_function)
    response = get(app, {"Authorization": header})
    assert response.status_code != 500
    assert_challenged(response)
    assert ran == []


def test_wrong_basic_credentials_override_a_signed_in_session():
    """A request that carries a wrong Basic password is refused even with a valid session."""
    app, ran = make_app()
    client = client_for(app)
    assert client.get("/", headers=basic_header("alice", "wonderland")).status_code == 200
    assert_challenged(client.get("/", headers=basic_header("alice", "WRONG")))
    assert_challenged(client.get("/", headers={"Authorization": "Basic !!!"}))
    for bare in ("Basic", "basic", "Basic "):  # the scheme without credentials is malformed too
        assert_challenged(client.get("/", headers={"Authorization": bare}))
    body = callback_body(app, "out.children", [1])
    assert client.post(URL, json=body, headers=basic_header("alice", "WRONG")).status_code == 401
    assert ran == []


def test_another_valid_user_replaces_the_session_user():
    app, _ = make_app()
    client = client_for(app)
    client.get("/", headers=basic_header("alice", "wonderland"))
    client.get("/", headers=basic_header("bob", "builder"))
    with client.session_transaction() as session:
        assert session["user"]["id"] == "bob"


def test_realm_cannot_break_out_of_its_quotes():
    app, _ = make_app(realm='My "app", charset="evil"')
    header = get(app).headers["WWW-Authenticate"]
    assert header.startswith("Basic realm=\"My 'app', charset='evil'\"")
    assert header.count('"') == 4


# -- groups -------------------------------------------------------------------------


def test_user_groups_as_dict():
    app, _ = make_app(user_groups={"alice": ["admins", "staff"], "bob": "builders"})
    user = session_user(app, basic_header("alice", "wonderland"))
    assert user["groups"] == ["admins", "staff"]
    assert user["email"] == "alice"
    assert session_user(app, basic_header("bob", "builder"))["groups"] == ["builders"]


def test_user_groups_dict_without_the_user():
    app, _ = make_app(user_groups={"alice": ["admins"]})
    assert session_user(app, basic_header("bob", "builder"))["groups"] == []


def test_user_groups_as_callable():
    seen = []

    def groups(username):
        seen.append(username)
        return {"alice": ("admins", "staff")}.get(username)

    app, _ = make_app(user_groups=groups)
    assert session_user(app, basic_header("alice", "wonderland"))["groups"] == ["admins", "staff"]
    assert session_user(app, basic_header("bob", "builder"))["groups"] == []
    assert seen == ["alice", "bob"]


def test_user_groups_callable_with_odd_results():
    results = {"alice": "solo", "bob": ["ok", 3, None, "fine"]}
    app, _ = make_app(user_groups=results.get)
    assert session_user(app, basic_header("alice", "wonderland"))["groups"] == ["solo"]
    assert session_user(app, basic_header("bob", "builder"))["groups"] == ["ok", "fine"]


def test_user_groups_with_auth_func():
    app, _ = make_app(None, auth_func=authorization_function, user_groups=lambda u: [f"group-of-{u}"])
    assert session_user(app, basic_header("hello", "world"))["groups"] == ["group-of-hello"]


# -- how long a verified header is trusted ----------------------------------------


def test_a_changed_password_works_until_forget_or_identity_ttl():
    passwords = {"alice": "wonderland"}
    checks = []

    def auth_func(username, password):
        checks.append(username)
        return passwords.get(username) == password

    app = make_dash(__name__)
    app.layout = html.Div("x")
    auth = BasicAuth(app, auth_func=auth_func, secret_key=SECRET)
    old = basic_header("alice", "wonderland")
    assert get(app, old).status_code == 200
    passwords["alice"] = "changed"
    assert get(app, old).status_code == 200 and checks == ["alice"]  # trusted for identity_ttl
    auth.forget("alice")
    assert get(app, old).status_code == 401
    assert get(app, basic_header("alice", "changed")).status_code == 200

    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, auth_func=auth_func, secret_key=SECRET, identity_ttl=0)
    checks.clear()
    assert [get(app, basic_header("alice", "changed")).status_code for _ in range(3)] == [200] * 3
    assert checks == ["alice"] * 3
    with pytest.raises(ConfigurationError, match="identity_ttl"):
        BasicAuth(make_dash(__name__), USERS, identity_ttl=-1)


def test_forget_during_a_check_under_way_is_not_undone_by_it():
    import threading

    passwords = {"bob": "old"}
    started = threading.Event()

    def slow_auth_func(username, password):
        started.set()
        ok = passwords.get(username) == password
        time.sleep(0.3)
        return ok

    app = make_dash(__name__)
    app.layout = html.Div("x")
    auth = BasicAuth(app, auth_func=slow_auth_func, secret_key=SECRET)
    first = threading.Thread(target=lambda: get(app, basic_header("bob", "old")))
    first.start()
    assert started.wait(5)
    passwords["bob"] = "new"  # changed while the old one is being checked ...
    auth.forget("bob")  # ... and forgotten
    first.join(10)
    assert get(app, basic_header("bob", "old")).status_code == 401


def test_a_basic_session_older_than_session_lifetime_signs_in_again(monkeypatch):
    """A browser's session keeps its identity only for session_lifetime: then groups are read again."""
    import dash_auth_basic.plugin as plugin_module

    groups = {"alice": ["admin"]}
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, USERS, user_groups=lambda user: groups.get(user, []), secret_key=SECRET,
              session_lifetime=60, identity_ttl=0)
    client = client_for(app)
    headers = basic_header("alice", "wonderland")
    assert client.get("/", headers=headers).status_code == 200
    groups["alice"] = []
    assert client.get("/", headers=headers).status_code == 200
    assert client_session_user(app, client)["groups"] == ["admin"]  # within the lifetime: kept

    real = time.time
    monkeypatch.setattr(plugin_module, "time", type("Later", (), {"time": staticmethod(lambda: real() + 120)}))
    assert client.get("/", headers=headers).status_code == 200
    assert client_session_user(app, client)["groups"] == []


# -- throttling guesses through the header -------------------------------------


def status(app, headers):
    return call(app, headers).status_code


def test_header_guessing_is_throttled_per_username_and_address(caplog):
    app, ran = make_app(throttle=LoginThrottle(max_failures=3, window=60, lockout=60))
    assert [status(app, basic_header("alice", f"guess-{n}")) for n in range(3)] == [401, 401, 401]
    locked = call(app, basic_header("alice", "guess-3"))
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert locked.is_json and "too many failed sign-ins" in locked.get_json()["message"]
    # Locked out even with the right password: a guesser learns nothing from the answer.
    assert status(app, basic_header("alice", "wonderland")) == 429
    assert ran == []
    # Another user from the same address is not affected.
    assert_accepted(app, ran, basic_header("bob", "builder"))
    assert "too many failures" in caplog.text


def test_header_throttle_spares_verified_headers_and_clears_on_success():
    app, ran = make_app(throttle=LoginThrottle(max_failures=3, window=60, lockout=60))
    assert_accepted(app, ran, basic_header("alice", "wonderland"))
    assert [status(app, basic_header("alice", f"guess-{n}")) for n in range(4)] == [401, 401, 401, 429]
    # A browser that signed in before keeps working: its header is already verified.
    assert_accepted(app, ran, basic_header("alice", "wonderland"))

    app, ran = make_app(throttle=LoginThrottle(max_failures=3, window=60, lockout=60))
    assert [status(app, basic_header("alice", w)) for w in ("one", "two")] == [401, 401]
    assert status(app, basic_header("alice", "wonderland")) == 200  # success clears the count
    assert [status(app, basic_header("alice", w)) for w in ("three", "four", "five")] == [401, 401, 401]
    assert status(app, basic_header("alice", "six")) == 429


def test_header_throttle_counts_malformed_credentials_too():
    app, _ran = make_app(throttle=LoginThrottle(max_failures=2, window=60, lockout=60))
    bad = {"Authorization": "Basic !!!not-base64"}
    assert [status(app, bad) for _ in range(3)] == [401, 401, 429]


@pytest.mark.parametrize("users", [{"alice": "wonderland", "bob": ""}, [("bob", "")]], ids=["dict", "pairs"])
def test_an_empty_password_in_the_user_table_fails_at_start_up(users):
    with pytest.raises(ValueError, match="empty password"):
        make_app(users)
