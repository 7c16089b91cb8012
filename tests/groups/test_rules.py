"""list_groups, check_groups, protected() and Rule: every check type, lookups, restrictions."""

from __future__ import annotations

import pytest
from dash import html
from helpers import SECRET, basic, client_for, make_dash

from dash_auth_basic import BasicAuth
from dash_auth_core import Identity
from dash_auth_core.context import set_current_user
from dash_auth_groups import Rule, Verdict, check_groups, list_groups, protected


class _Key:
    """A request's context key: any object that takes attributes."""


class FakeRequest:
    """Just enough of a request for set_current_user outside a server."""

    context_key = _Key()

    @staticmethod
    def current_context_key():
        return FakeRequest.context_key


@pytest.fixture
def as_user():
    def set_user(identity):
        set_current_user(identity, FakeRequest)

    yield set_user
    set_current_user(None)


ALICE = Identity(id="alice", email="alice@example.com", groups=("admin", "staff"), claims={"roles": "a;b"})


def test_anonymous_gets_none(as_user):
    as_user(None)
    assert list_groups() is None
    assert check_groups(["admin"]) is None


@pytest.mark.parametrize(
    ("groups", "check_type", "expected"),
    [
        (["admin"], "one_of", True),
        (["nope", "staff"], "one_of", True),
        (["nope"], "one_of", False),
        (["admin", "staff"], "all_of", True),
        (["admin", "nope"], "all_of", False),
        (["nope"], "none_of", True),
        (["admin"], "none_of", False),
        (None, "one_of", True),
        ([], "one_of", False),
        ([], "all_of", True),
    ],
)
def test_check_types(as_user, groups, check_type, expected):
    as_user(ALICE)
    assert check_groups(groups, check_type=check_type) is expected


def test_names_compare_exactly_unless_configured(as_user):
    as_user(ALICE)
    assert check_groups(["Admin"]) is False
    assert check_groups(["adm"]) is False
    assert check_groups(["admins"]) is False
    assert check_groups(["Admin"], case_sensitive=False) is True


def test_groups_key_and_string_split(as_user):
    as_user(ALICE)
    assert list_groups() == ["admin", "staff"]
    assert list_groups(groups_key="roles") == ["a;b"]
    assert list_groups(groups_key="roles", groups_str_split=";") == ["a", "b"]
    assert check_groups(["b"], groups_key="roles", groups_str_split=";") is True
    assert list_groups(groups_key="missing") == []


def test_unknown_check_type_fails_at_definition():
    with pytest.raises(ValueError, match="check_type"):
        Rule(groups=["a"], check_type="any_of")
    with pytest.raises(TypeError, match="string"):
        Rule(groups="admin")


def test_restricted_users_beat_groups():
    rule = Rule(groups=["admin"], restricted_users=["alice@example.com"])
    assert rule.evaluate(ALICE) is Verdict.FORBIDDEN
    by_id = Rule(groups=["admin"], restricted_users=["alice"], restricted_users_key="id")
    assert by_id.evaluate(ALICE) is Verdict.FORBIDDEN
    other = Rule(groups=["admin"], restricted_users=["bob@example.com"])
    assert other.evaluate(ALICE) is Verdict.ALLOWED
    assert other.evaluate(None) is Verdict.UNAUTHENTICATED


def test_restricted_emails_ignore_case_and_other_keys_follow_case_sensitive():
    shouting = Identity(id="Alice", email="ALICE@Example.COM", groups=("admin",))
    # A deny-list of addresses must not miss a differently cased one.
    assert Rule(groups=["admin"], restricted_users=["alice@example.com"]).evaluate(shouting) is Verdict.FORBIDDEN
    assert Rule(restricted_users=lambda: ["Alice@EXAMPLE.com"]).evaluate(shouting) is Verdict.FORBIDDEN
    by_id = Rule(groups=["admin"], restricted_users=["alice"], restricted_users_key="id")
    assert by_id.evaluate(shouting) is Verdict.ALLOWED  # ids compare exactly by default
    folded = Rule(groups=["admin"], restricted_users=["alice"], restricted_users_key="id", case_sensitive=False)
    assert folded.evaluate(shouting) is Verdict.FORBIDDEN


def test_restricted_users_key_naming_a_list_claim_or_odd_values():
    member = Identity(id="m", email="m@x.org", groups=("admin",), claims={"aliases": ["boss", "m2"], "n": 7})
    assert Rule(restricted_users=["boss"], restricted_users_key="aliases").evaluate(member) is Verdict.FORBIDDEN
    assert Rule(restricted_users=["other"], restricted_users_key="aliases").evaluate(member) is Verdict.ALLOWED
    # Values that cannot name a user (a number, a missing claim) match nobody, and never raise.
    assert Rule(restricted_users=["7"], restricted_users_key="n").evaluate(member) is Verdict.ALLOWED
    assert Rule(restricted_users=["x"], restricted_users_key="missing").evaluate(member) is Verdict.ALLOWED
    odd = Identity(id="o", groups=("admin",), claims={"d": {"a": 1}})
    assert Rule(restricted_users=["a"], restricted_users_key="d").evaluate(odd) is Verdict.ALLOWED


def test_callables_resolved_at_request_time_with_lookups():
    calls = []
    allowed = {"/report": ["staff"]}

    def pull_groups(path):
        calls.append(path)
        return allowed.get(path, [])

    def pull_users(path):
        return ["alice@example.com"] if path == "/secret" else []

    rule = Rule(groups=pull_groups, group_lookup={"path": "/report"})
    assert rule.evaluate(ALICE) is Verdict.ALLOWED
    allowed["/report"] = ["finance"]  # changed after start-up: takes effect at once
    assert rule.evaluate(ALICE) is Verdict.FORBIDDEN
    assert calls == ["/report", "/report"]
    restricted = Rule(restricted_users=pull_users, restricted_users_lookup={"path": "/secret"})
    assert restricted.evaluate(ALICE) is Verdict.FORBIDDEN
    assert Rule(restricted_users=pull_users, restricted_users_lookup={"path": "/x"}).evaluate(ALICE) is Verdict.ALLOWED


def test_protected_function(as_user):
    ran = []

    @protected(unauthenticated_output="sign in", missing_permissions_output="no", groups=["admin"])
    def secret_layout():
        ran.append(1)
        return "secret"

    as_user(None)
    assert secret_layout() == "sign in"
    as_user(Identity(id="bob", groups=("staff",)))
    assert secret_layout() == "no"
    assert ran == []
    as_user(ALICE)
    assert secret_layout() == "secret"
    assert ran == [1]


def test_protected_rejects_unknown_arguments():
    with pytest.raises(TypeError, match="grops"):
        protected(grops=["a"])


def test_large_rules_are_sets():
    rule = Rule(groups=[f"g{i}" for i in range(100)], restricted_users=[f"u{i}@x" for i in range(10_000)])
    assert isinstance(rule._static_groups, frozenset) and isinstance(rule._static_restricted, frozenset)
    assert rule.evaluate(Identity(id="x", email="u5@x", groups=("g1",))) is Verdict.FORBIDDEN
    assert rule.evaluate(Identity(id="y", email="ok@x", groups=("g99",))) is Verdict.ALLOWED


def test_seed_user_groups_example():
    """The seed's BasicAuth user_groups example (with a secret long enough for this stack)."""
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(
        app,
        {"user1": "password", "user2": "useSomethingMoreSecurePlease"},
        user_groups={"user1": ["group1", "group2"], "user2": ["group2"]},
        secret_key=SECRET,
    )
    client = client_for(app)
    client.get("/", headers=basic("user1", "password"))
    with client.session_transaction() as session:
        assert session["user"]["groups"] == ["group1", "group2"]


def test_protected_async_function(as_user):
    import asyncio

    ran = []

    @protected(unauthenticated_output="sign in", missing_permissions_output="no", groups=["admin"])
    async def load():
        ran.append(1)
        return "data"

    as_user(Identity(id="bob", groups=("staff",)))
    assert asyncio.run(load()) == "no"
    as_user(ALICE)
    assert asyncio.run(load()) == "data"
    assert ran == [1]
