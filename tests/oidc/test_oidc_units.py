"""The framework-neutral pieces on their own: token validation, the token store, pending
states, claims mapping, response coercion, and start-up checks of the front door."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwk, jwt
from oidc_support import CLIENT_ID, SECRET, build_app

from dash_auth_core import AuthStack, ConfigurationError, Response
from dash_auth_core.user_code import as_response
from dash_auth_oidc import (
    BadCallback,
    EncryptedSessionTokenStore,
    MemoryTokenStore,
    OIDCAuth,
    TokenValidationError,
    validate_jwt,
)
from dash_auth_oidc.claims import build_identity, merge_userinfo
from dash_auth_oidc.flow import PendingLogins
from dash_auth_oidc.tokens import at_hash

ISS = "https://issuer.example"
KEY = jwk.RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER = jwk.RSAKey.generate_key(2048, parameters={"kid": "k2"})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISS, "aud": CLIENT_ID, "sub": "u1", "iat": now, "exp": now + 300, "nonce": "n1", **extra}


def sign(payload: dict[str, Any], key: Any = KEY, kid: str = "k1", alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": kid}, payload, key)


def check(token: str, *, keys: Any = None, **kwargs: Any) -> dict[str, Any]:
    keyset = jwk.KeySet([KEY])
    options = {"issuer": ISS, "audience": CLIENT_ID, "algorithms": ("RS256",), "now": time.time(),
               "client_id": CLIENT_ID, "nonce": "n1"}
    options.update(kwargs)
    return validate_jwt(token, keys or (lambda force: keyset), **options)


# -- validate_jwt -----------------------------------------------------------------


def test_a_good_token_passes():
    assert check(sign(claims()))["sub"] == "u1"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: f"{b64({'alg': 'none'})}.{b64(claims())}.", "algorithm 'none'"),
        (lambda: sign(claims(), jwk.OctKey.import_key(SECRET * 2), alg="HS256"), "algorithm 'HS256'"),
        (lambda: sign(claims(), OTHER, kid="k2"), "does not publish"),
        (lambda: sign(claims(), OTHER, kid="k1"), "bad signature"),
        (lambda: sign(claims(aud="other")), "audience"),
        (lambda: sign(claims(aud=[CLIENT_ID, "other"])), "several audiences and no 'azp'"),
        (lambda: sign(claims(aud=[CLIENT_ID, "other"], azp="other")), "authorized party"),
        (lambda: sign(claims(iss="https://evil.example")), "issuer"),
        (lambda: sign(claims(exp=int(time.time()) - 120)), "expired"),
        (lambda: sign(claims(iat=int(time.time()) + 600)), "in the future"),
        (lambda: sign(claims(nbf=int(time.time()) + 600)), "not valid before"),
        (lambda: sign(claims(nonce="other")), "nonce does not match"),
        (lambda: sign({k: v for k, v in claims().items() if k != "nonce"}), "nonce does not match"),
        (lambda: sign({k: v for k, v in claims().items() if k != "sub"}), "no 'sub'"),
        (lambda: sign({k: v for k, v in claims().items() if k != "exp"}), "no 'exp'"),
        (lambda: sign(claims(exp="tomorrow")), "not a number"),
        (lambda: sign(claims(exp=10**400)), "not a finite number"),
        (lambda: sign(claims(iat=10**400)), "not a finite number"),
        (lambda: sign(claims(nbf=-(10**400))), "not a finite number"),
        (lambda: sign(claims(exp=float("inf"))), "not a finite number"),
        (lambda: sign(claims(exp=float("nan"))), "not a finite number"),
        (lambda: "a.b.c.d.e", "encrypted"),
        (lambda: "not-a-jwt", "not a compact JWS"),
        (lambda: "!!.??.##", "undecodable"),
        (lambda: "x" * 20000, "too large"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(token, reason):
    with pytest.raises(TokenValidationError) as info:
        check(token())
    assert reason in info.value.reason or reason in info.value.message


def test_an_algorithm_outside_the_allow_list_is_refused():
    with pytest.raises(TokenValidationError, match="algorithm"):
        check(sign(claims()), algorithms=("ES256",))


def test_at_hash_is_checked_when_present():
    token = sign(claims(at_hash=at_hash("the-access-token", "RS256")))
    assert check(token, access_token="the-access-token")["sub"] == "u1"
    with pytest.raises(TokenValidationError) as info:
        check(token, access_token="another-access-token")
    assert "at_hash" in info.value.reason


def test_unknown_key_fetches_the_key_set_again_once():
    calls = []
    rotated = jwk.KeySet([KEY, OTHER])

    def keys(force: bool):
        calls.append(force)
        return rotated if force else jwk.KeySet([KEY])

    assert check(sign(claims(), OTHER, kid="k2"), keys=keys)["sub"] == "u1"
    assert calls == [False, True]


def _provider(**config: Any):
    from dash_auth_oidc.provider import Provider, ProviderConfig

    metadata = {"issuer": ISS, "authorization_endpoint": ISS + "/auth", "token_endpoint": ISS + "/token",
                "jwks_uri": ISS + "/jwks"}
    return Provider(ProviderConfig(name="p", client_id=CLIENT_ID, metadata=config.pop("metadata", metadata), **config))


def test_a_failing_provider_is_not_asked_again_for_every_request(monkeypatch):
    """Unknown key ids or made-up issuers must not turn into one network call (and timeout) per request."""
    from dash_auth_oidc import ProviderUnavailable
    from dash_auth_oidc import provider as provider_module

    fetches = []

    def down(self, url, what):
        fetches.append(what)
        raise ProviderUnavailable("down", reason=f"{what} unreachable")

    monkeypatch.setattr(provider_module.Provider, "_fetch_json", down)
    undiscovered = _provider(metadata=None, server_metadata_url="http://127.0.0.1:9/.well-known/openid-configuration")
    for _ in range(20):
        with pytest.raises(ProviderUnavailable):
            undiscovered.metadata()
    assert fetches == ["discovery document"]
    fetches.clear()
    no_keys = _provider()
    for _ in range(20):
        with pytest.raises(ProviderUnavailable):
            no_keys.keys()
    assert fetches == ["key set"]
    fetches.clear()
    # Keys already held: a failed refresh (an unknown kid) keeps them, and is tried at most every 30 s.
    held = _provider()
    held._keys = jwk.KeySet([KEY])
    for _ in range(20):
        assert held.keys(force=True) is held._keys
    assert fetches == ["key set"]
    later = time.monotonic() + provider_module.JWKS_MIN_REFETCH + provider_module.FAILURE_BACKOFF + 1
    monkeypatch.setattr(provider_module.time, "monotonic", lambda: later)
    held.keys(force=True)
    assert fetches.count("key set") == 2  # asked again once the back-off is over


def test_requests_during_a_key_rotation_wait_for_the_new_keys(monkeypatch):
    import threading

    from dash_auth_oidc import provider as provider_module

    rotated = jwk.KeySet([KEY, OTHER])
    fetches = []

    def slow_fetch(self):
        fetches.append(1)
        time.sleep(0.3)
        return rotated

    monkeypatch.setattr(provider_module.Provider, "_fetch_keys", slow_fetch)
    provider = _provider()
    provider._keys = jwk.KeySet([KEY])
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(provider.keys(force=True))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(fetches) == 1 and seen == [rotated] * 4  # one fetch, and nobody got the old keys


def test_a_second_registration_of_a_known_issuer_is_found_before_it_is_discovered(monkeypatch):
    from dash_auth_oidc import provider as provider_module
    from dash_auth_oidc.bearer import BearerTokenPlugin
    from dash_auth_oidc.provider import Provider, ProviderConfig

    staff = _provider()
    metadata = dict(staff.config.metadata)
    monkeypatch.setattr(provider_module.Provider, "_fetch_json", lambda self, url, what: metadata)
    partner = Provider(ProviderConfig(name="partner", client_id="partner-app",
                                      server_metadata_url=ISS + "/.well-known/openid-configuration"))
    assert partner.known_issuer is None
    plugin = BearerTokenPlugin(lambda: [staff, partner], lambda claims, provider: None)
    assert plugin._providers_for(ISS) == [staff, partner]


def test_bearer_tokens_are_access_tokens_for_this_app():
    provider = _provider()
    provider._keys = jwk.KeySet([KEY])
    access = {k: v for k, v in claims().items() if k != "nonce"}
    assert provider.validate_bearer(sign(access))["sub"] == "u1"
    with pytest.raises(TokenValidationError, match="ID token"):
        provider.validate_bearer(sign(claims()))  # an interactive sign-in's ID token
    # azp names the client that asked for an access token (a script's), not this app.
    assert provider.validate_bearer(sign({**access, "aud": [CLIENT_ID, "account"], "azp": "cli"}))["sub"] == "u1"


def test_two_registrations_of_one_issuer_each_accept_their_own_bearer_tokens():
    from dash_auth_oidc.bearer import _first_valid
    from dash_auth_oidc.provider import Provider, ProviderConfig

    staff, partner = _provider(), Provider(ProviderConfig(name="partner", client_id="partner-app",
                                                          metadata=_provider().config.metadata))
    for provider in (staff, partner):
        provider._keys = jwk.KeySet([KEY])
    access = {k: v for k, v in claims().items() if k != "nonce"}

    def first_valid(payload):
        return _first_valid(sign(payload), payload, [staff, partner])

    assert first_valid({**access, "aud": "partner-app"})[1] is partner
    assert first_valid(access)[1] is staff
    assert first_valid({**access, "aud": ["account", "partner-app"]})[1] is partner
    with pytest.raises(TokenValidationError):
        first_valid({**access, "aud": "nobody"})


@pytest.mark.parametrize("order", ["named-first", "named-last"])
def test_a_refused_bearer_token_is_logged_with_the_reason_of_the_registration_it_names(order):
    """Issue 24: with several registrations of one issuer, the reason is that of the registration
    whose audience the token names (here: expired), not the first one's (its audience)."""
    from dash_auth_oidc.bearer import _first_valid
    from dash_auth_oidc.provider import Provider, ProviderConfig

    staff, partner = _provider(), Provider(ProviderConfig(name="partner", client_id="partner-app",
                                                          metadata=_provider().config.metadata))
    for provider in (staff, partner):
        provider._keys = jwk.KeySet([KEY])
    now = int(time.time())
    expired = {**claims(), "aud": "partner-app", "iat": now - 7200, "exp": now - 3600}
    del expired["nonce"]
    providers = [staff, partner] if order == "named-last" else [partner, staff]
    with pytest.raises(TokenValidationError) as refused:
        _first_valid(sign(expired), expired, providers)
    assert "expired" in refused.value.reason and "audience" not in refused.value.reason
    # A token of a bad shape (audience not a string or list) gets the first registration's reason.
    odd = {**expired, "aud": {"x": 1}}
    with pytest.raises(TokenValidationError) as refused:
        _first_valid(sign(odd), odd, providers)
    assert "audience" in refused.value.reason


def test_token_without_kid_is_checked_against_every_fitting_key():
    keyset = jwk.KeySet([OTHER, KEY])
    token = jwt.encode({"alg": "RS256"}, claims(), KEY)
    assert check(token, keys=lambda force: keyset)["sub"] == "u1"
    forged = jwt.encode({"alg": "RS256"}, claims(), jwk.RSAKey.generate_key(2048))
    with pytest.raises(TokenValidationError, match="not signed by the provider"):
        check(forged, keys=lambda force: keyset)


# -- the token store ----------------------------------------------------------------


def test_encrypted_store_round_trip_and_tampering():
    store = EncryptedSessionTokenStore(SECRET)
    session: dict[str, Any] = {}
    store.save(session, {"rt": "refresh-123", "it": "id.token.value"})
    blob = session["_oidc_tokens"]
    assert "refresh-123" not in blob and "refresh-123" not in base64.urlsafe_b64decode(blob + "==").decode("latin-1")
    assert store.load(session) == {"rt": "refresh-123", "it": "id.token.value"}
    assert EncryptedSessionTokenStore("another-secret-0123456789").load(session) is None
    flipped = blob[:20] + ("A" if blob[20] != "A" else "B") + blob[21:]
    assert store.load({"_oidc_tokens": flipped}) is None
    for garbage in ("", "!!!", "AAAA", 42, None):
        assert store.load({"_oidc_tokens": garbage}) is None
    store.clear(session)
    assert session == {}


def test_memory_store_is_bounded_and_cleared():
    store = MemoryTokenStore(max_entries=2)
    sessions = [{} for _ in range(3)]
    for i, session in enumerate(sessions):
        store.save(session, {"rt": f"r{i}"})
    assert store.load(sessions[0]) is None  # evicted
    assert store.load(sessions[2]) == {"rt": "r2"}
    store.clear(sessions[2])
    assert store.load(sessions[2]) is None and "_oidc_tokens" not in sessions[2]


# -- pending states ---------------------------------------------------------------------


def test_pending_states_bound_expiry_and_single_use():
    now = [1000.0]
    pending = PendingLogins(max_pending=2, ttl=60, clock=lambda: now[0])
    session: dict[str, Any] = {}
    first = pending.start(session, "a", "/1")
    second = pending.start(session, "a", "/2")
    third = pending.start(session, "b", "/3")
    assert pending.count(session) == 2
    with pytest.raises(BadCallback, match="unknown"):
        pending.finish(session, first.state, "a")
    with pytest.raises(BadCallback, match="another provider"):
        pending.finish(session, third.state, "a")
    assert pending.finish(session, second.state, "a").next_url == "/2"
    with pytest.raises(BadCallback, match="unknown"):
        pending.finish(session, second.state, "a")  # single use
    late = pending.start(session, "a", "/4")
    now[0] += 61
    with pytest.raises(BadCallback, match="took too long"):
        pending.finish(session, late.state, "a")
    assert "_oidc_pending" not in session


def test_pending_next_values_share_one_budget():
    from dash_auth_oidc.flow import MAX_NEXT_LENGTH

    pending = PendingLogins(max_pending=5, clock=lambda: 1000.0)
    session: dict[str, Any] = {}
    short = pending.start(session, "a", "/short")
    half = "/" + "h" * (MAX_NEXT_LENGTH // 2 - 1)
    first, second = pending.start(session, "a", half), pending.start(session, "a", half)
    assert pending.count(session) == 2  # the second long one pushed out the oldest, however short
    with pytest.raises(BadCallback):
        pending.finish(session, short.state, "a")
    assert pending.finish(session, first.state, "a").next_url == half
    third = pending.start(session, "a", half + "x")  # one character over the budget with the second
    with pytest.raises(BadCallback):
        pending.finish(session, second.state, "a")
    assert pending.finish(session, third.state, "a").next_url == half + "x"
    with pytest.raises(ValueError):
        pending.start(session, "a", "/" + "x" * MAX_NEXT_LENGTH)


def test_pending_states_from_the_future_or_malformed_are_ignored():
    pending = PendingLogins(clock=lambda: 1000.0)
    session = {"_oidc_pending": [["s", "a", 99999, "n", "v", "/"], "junk", ["short"], {"x": 1}]}
    assert pending.count(session) == 0
    with pytest.raises(BadCallback):
        pending.finish(session, "s", "a")
    with pytest.raises(BadCallback):
        pending.finish({"_oidc_pending": "garbage"}, "s", "a")


# -- claims ---------------------------------------------------------------------------


def test_identity_from_claims_groups_and_user_groups():
    user = {"sub": "u1", "email": "u@x.org", "email_verified": True, "preferred_username": "u",
            "realm_access": {"roles": ["r1", "r2"]}, "aud": "x", "exp": 1, "custom": "kept?"}
    identity = build_identity(user, "kc", groups_claim="realm_access.roles", user_groups={"u@x.org": ["g"]})
    assert identity.id == "u1" and identity.name == "u" and identity.provider == "oidc:kc"
    assert identity.groups == ("r1", "r2", "g")
    assert "aud" not in identity.claims and "custom" not in identity.claims
    assert identity.claims["realm_access"] == {"roles": ["r1", "r2"]}
    everything = build_identity(user, "kc", session_claims=None)
    assert everything.claims["custom"] == "kept?" and "exp" not in everything.claims
    assert build_identity({"sub": "s", "groups": "one"}, "i").groups == ("one",)
    assert build_identity({"sub": "s"}, "i", user_groups=lambda u: ["a"]).groups == ("a",)
    assert build_identity({"sub": "s"}, "i", user_groups=lambda u, idp: [idp]).groups == ("i",)
    with pytest.raises(TokenValidationError):
        build_identity({"email": "no-sub"}, "i")


def test_user_groups_trust_a_verified_email_or_the_sub_and_can_name_the_provider():
    from dash_auth_oidc.claims import extra_groups

    table = {"boss@corp.example": ["admin"], ("corp", "chief@corp.example"): ["chief"], "u7": ["by-sub"],
             "boss": ["by-username"]}
    boss = {"sub": "s1", "email": "boss@corp.example", "preferred_username": "boss"}
    assert extra_groups({**boss, "email_verified": True}, "corp", table) == ["admin"]
    assert extra_groups({**boss, "email_verified": "true"}, "corp", table) == ["admin"]  # as some providers send it
    assert extra_groups(boss, "corp", table) == []  # unverified: no groups, and never by preferred_username
    assert extra_groups({**boss, "email_verified": False}, "partner", table) == []
    chief = {"sub": "s2", "email": "chief@corp.example", "email_verified": True}
    assert extra_groups(chief, "corp", table) == ["chief"]
    assert extra_groups(chief, "partner", table) == []  # a key for one provider only
    assert extra_groups({"sub": "u7"}, "any", table) == ["by-sub"]


def test_userinfo_merge_requires_the_same_subject():
    merged = merge_userinfo({"sub": "a", "iss": "I", "aud": "c"}, {"sub": "a", "email": "e", "aud": "evil", "iss": "x"})
    assert merged == {"sub": "a", "iss": "I", "aud": "c", "email": "e"}
    with pytest.raises(TokenValidationError, match="another user"):
        merge_userinfo({"sub": "a"}, {"sub": "b"})


# -- responses from user hooks --------------------------------------------------------------


def test_hook_return_values_become_responses():
    import flask

    app = flask.Flask(__name__)
    with app.test_request_context():
        native = as_response(flask.redirect("/somewhere"), "hook")
    assert native.status == 302 and native.headers["Location"] == "/somewhere"
    assert as_response("<p>hi</p>", "hook").status == 200
    assert as_response(("nope", 403), "hook").status == 403
    plain = Response(204)
    assert as_response(plain, "hook") is plain
    assert as_response(None, "hook") is None
    assert as_response(object(), "hook") is None


# -- start-up checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"client_id": CLIENT_ID, "server_metadata_url": "http://x/", "client_secert": "x"}, "did you mean 'client_secret'"),
        ({"server_metadata_url": "http://x/"}, "client_id is required"),
        ({"client_id": CLIENT_ID}, "server_metadata_url"),
        ({"client_id": CLIENT_ID, "server_metadata_url": "ftp://x/"}, "http(s) URL"),
        ({"client_id": CLIENT_ID, "server_metadata_url": "http://x/", "client_kwargs": {"scope": "email"}}, "openid"),
        ({"client_id": CLIENT_ID, "server_metadata_url": "http://x/",
          "client_kwargs": {"code_challenge_method": "plain"}}, "S256"),
        ({"client_id": CLIENT_ID, "server_metadata_url": "http://x/", "algorithms": ["HS256"]}, "not accepted"),
        ({"client_id": CLIENT_ID, "server_metadata_url": "http://x/", "client_kwargs": {"scopes": 1}}, "did you mean 'scope'"),
        ({"client_id": CLIENT_ID, "server_metadata_url": "http://x/", "post_logout_redirect_uri": "/x"}, "absolute"),
    ],
)
def test_register_provider_option_errors(kwargs, message):
    auth = OIDCAuth(build_app(), secret_key=SECRET)
    with pytest.raises(ConfigurationError) as info:
        auth.register_provider("idp", lazy=True, **kwargs)
    assert message in str(info.value)


def test_front_door_start_up_errors():
    app = build_app()
    OIDCAuth(app, secret_key=SECRET)
    with pytest.raises(ConfigurationError, match="already has an OIDCAuth"):
        OIDCAuth(app, secret_key=SECRET)
    with pytest.raises(ConfigurationError, match="secret_key"):
        OIDCAuth(build_app())
    with pytest.raises(ConfigurationError, match="too short"):
        OIDCAuth(build_app(), secret_key="short")
    with pytest.raises(ConfigurationError, match="idp_selection_route"):
        OIDCAuth(build_app(), secret_key=SECRET, idp_selection_route="login")
    with pytest.raises(ConfigurationError, match="<idp>"):
        OIDCAuth(build_app(), secret_key=SECRET, login_route="/oidc/login")
    with pytest.raises(ConfigurationError, match="unknown option"):
        OIDCAuth(build_app(), secret_key=SECRET, publc_routes=["/"])
    # A TTL that would re-check nothing (OIDC's own user_groups are fixed at sign-in) is refused ...
    with pytest.raises(ConfigurationError, match="user_groups_ttl re-checks"):
        OIDCAuth(build_app(), secret_key=SECRET, user_groups=lambda user: ["x"], user_groups_ttl=60)
    # ... but with an app-wide callable to re-check, it is what the user asked for.
    app = build_app()
    AuthStack.of(app, user_groups=lambda user_id: ["from-directory"])
    auth = OIDCAuth(app, secret_key=SECRET, user_groups={"a@b.c": ["x"]}, user_groups_ttl=60)
    assert auth.stack.user_groups_ttl == 60


def test_a_seed_callback_response_keeps_all_its_cookies():
    import flask

    from dash_auth_core.user_code import as_response

    native = flask.Response("hi", status=302, headers={"Location": "/x"})
    native.set_cookie("one", "1")
    native.set_cookie("two", "2")
    converted = as_response(native, "login_user_callback")
    cookies = [value for key, value in converted.extra_headers + list(converted.headers.items()) if key == "Set-Cookie"]
    assert len(cookies) == 2 and any(v.startswith("one=1") for v in cookies) and any(v.startswith("two=2") for v in cookies)
    assert converted.status == 302 and converted.headers["Location"] == "/x"


def test_check_issuer_rfc_9207():
    from dash_auth_oidc.flow import check_issuer

    check_issuer([ISS], ISS, True, "p")  # the provider's own
    check_issuer([], ISS, False, "p")  # none, and none promised
    for values in ([ISS + "/"], ["HTTPS://issuer.example"], ["https://evil.example"], [ISS, ISS], [""], ["é" * 300]):
        with pytest.raises(BadCallback) as refused:
            check_issuer(values, ISS, False, "p")
        assert "mix-up" in refused.value.reason and len(refused.value.reason) < 400
    with pytest.raises(BadCallback) as refused:
        check_issuer([], ISS, True, "p")
    assert "without 'iss'" in refused.value.reason


def test_keys_expire_so_a_withdrawn_key_stops_being_trusted_without_a_restart(monkeypatch):
    """Keys are fetched again after keys_max_age; a key the provider withdrew then fails."""
    from dash_auth_oidc import provider as provider_module

    published = [jwk.KeySet([KEY])]
    monkeypatch.setattr(provider_module.Provider, "_fetch_keys", lambda self: published[0])
    provider = _provider()
    token = sign(claims())
    check_with = {"keys": provider.keys}
    assert check(token, **check_with)["sub"] == "u1"
    published[0] = jwk.KeySet([OTHER])  # the provider withdrew k1
    assert check(token, **check_with)["sub"] == "u1"  # still within the keys' lifetime
    now = time.monotonic()
    monkeypatch.setattr(provider_module.time, "monotonic", lambda: now + provider.keys_max_age + 1)
    with pytest.raises(TokenValidationError, match="not signed by the provider"):
        check(token, **check_with)
    assert check(sign(claims(), OTHER, kid="k2"), **check_with)["sub"] == "u1"


def test_expired_keys_are_kept_through_a_short_outage_but_not_a_long_one(monkeypatch):
    from dash_auth_oidc import ProviderUnavailable
    from dash_auth_oidc import provider as provider_module

    def down(self):
        raise ProviderUnavailable("down", reason="key set unreachable")

    provider = _provider()
    provider._keys = held = jwk.KeySet([KEY])
    monkeypatch.setattr(provider_module.Provider, "_fetch_keys", down)
    now = time.monotonic()
    monkeypatch.setattr(provider_module.time, "monotonic", lambda: now + provider.keys_max_age + 1)
    assert provider.keys() is held  # an hour old, the provider down: still used (logged)
    monkeypatch.setattr(provider_module.time, "monotonic", lambda: now + provider.keys_max_stale + 100)
    with pytest.raises(ProviderUnavailable):
        provider.keys()
    assert provider._keys is None
