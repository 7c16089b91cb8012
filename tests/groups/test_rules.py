"""list_groups, check_groups, protected() and Rule: every check type, lookups, restrictions."""

from __future__ import annotations

import pytest
from dash import html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import Identity
from dash_auth_core.context import set_current_user
from dash_auth_core.testing import basic_header, client_for, make_dash
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


def test_restricted_users_always_ignore_case():
    shouting = Identity(id="Alice", email="ALICE@Example.COM", groups=("admin",))
    # A deny-list must not miss a differently cased name (an LDAP auth_func takes "BOB" for "bob").
    assert Rule(groups=["admin"], restricted_users=["alice@example.com"]).evaluate(shouting) is Verdict.FORBIDDEN
    assert Rule(restricted_users=lambda: ["Alice@EXAMPLE.com"]).evaluate(shouting) is Verdict.FORBIDDEN
    by_id = Rule(groups=["admin"], restricted_users=["alice"], restricted_users_key="id")
    assert by_id.evaluate(shouting) is Verdict.FORBIDDEN
    assert by_id.evaluate(Identity(id="alicia", groups=("admin",))) is Verdict.ALLOWED


def test_rule_names_must_be_strings():
    for bad in ([1001, 1002], b"admins", ["admins", None], 7):
        with pytest.raises(TypeError, match="names"):
            Rule(groups=bad)
        with pytest.raises(TypeError, match="names"):
            Rule(restricted_users=bad)


def test_a_rule_fails_closed_on_what_its_callables_do():
    def down():
        raise ConnectionError("directory down")

    acl = {"/known": ["admin"]}
    cases = [
        Rule(groups=down),
        Rule(restricted_users=down),
        Rule(groups=lambda page: acl.get(page), group_lookup={"page": "/unknown"}),  # no entry: None
        Rule(groups=lambda: [1, 2], check_type="all_of"),
        Rule(groups=lambda: b"admin"),
    ]
    for rule in cases:
        assert rule.evaluate(ALICE) is Verdict.FORBIDDEN, rule
    # A string from a callable is one name, not its letters.
    assert Rule(groups=lambda: "admin").evaluate(ALICE) is Verdict.ALLOWED
    assert Rule(groups=lambda: "Admins").evaluate(Identity(id="carol", groups=("m", "A"))) is Verdict.FORBIDDEN
    assert Rule(restricted_users=lambda: "alice@example.com").evaluate(ALICE) is Verdict.FORBIDDEN
    assert Rule(restricted_users=lambda: None).evaluate(ALICE) is Verdict.ALLOWED  # nobody restricted
    assert Rule(groups=lambda page: acl.get(page), group_lookup={"page": "/known"}).evaluate(ALICE) is Verdict.ALLOWED


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
    client.get("/", headers=basic_header("user1", "password"))
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
