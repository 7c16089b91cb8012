"""The seed READMEs' group examples (dash-auth-plus, dash-auth-async), kept under examples/.

Each test asserts what the README says the example does. Runs on each backend.
"""

from __future__ import annotations

import json

import pytest
from seed_examples import load_example

from dash_auth_core import ConfigurationError
from dash_auth_core.testing import basic_header, callback_body, client_for, router_body


def groups_after_sign_in(app, user, password):
    """The groups the session holds after ``user`` signs in (``None``: refused)."""
    client = client_for(app)
    response = client.get("/", headers=basic_header(user, password))
    if response.status_code != 200:
        return None
    with client.session_transaction() as session:
        return session["user"]["groups"]


@pytest.mark.parametrize("example", ["seed_user_groups.py", "seed_async_user_groups.py"])
def test_user_groups_examples(example):
    # As the seed wrote it, the secret key "Test!" is refused at start-up, saying why.
    with pytest.raises(ConfigurationError, match="secret_key is too short"):
        load_example(example, as_seed=True)
    namespace = load_example(example)
    table_app, function_app = namespace["app_with_table"], namespace["app"]
    # The table: groups for the users it names (the README names "user1" in one version, "username" in the other).
    table_user = "username" if "async" in example else "user1"
    assert groups_after_sign_in(table_app, "user2", "useSomethingMoreSecurePlease") == ["group2"]
    expected_username = ["group1", "group2"] if table_user == "username" else []
    assert groups_after_sign_in(table_app, "username", "password") == expected_username
    assert groups_after_sign_in(table_app, "user2", "password") is None
    # The function: its users and their groups.
    assert groups_after_sign_in(function_app, "user1", "password") == ["group1", "group2"]
    assert groups_after_sign_in(function_app, "user2", "useSomethingMoreSecurePlease") == ["group2"]
    assert groups_after_sign_in(function_app, "username", "password") is None


def test_restricted_users_example():
    """"where session['user'] = {'email': 'me@email.com'} the below callback will not work"."""
    app = load_example("seed_restricted_users.py")["app"]
    body = callback_body(app, "test.children", [1])
    refused = client_for(app).post("/_dash-update-component", json=body, headers=basic_header("me@email.com", "my-password"))
    assert refused.status_code == 403 and b"I was clicked" not in refused.data
    allowed = client_for(app).post("/_dash-update-component", json=body,
                                   headers=basic_header("you@email.com", "your-password"))
    assert json.loads(allowed.data)["response"]["test"]["children"] == "I was clicked"
    assert client_for(app).post("/_dash-update-component", json=body).status_code == 401


def test_protect_layouts_example():
    """The README's table: with auth_protect_layouts=True an unauthenticated routing callback and
    direct URL are allowed, and the layout returns a placeholder computed on the server."""
    app = load_example("seed_protect_layouts.py")["app"]
    anonymous = client_for(app)
    assert anonymous.get("/private").status_code == 200  # the shell
    routed = anonymous.post("/_dash-update-component", json=router_body("/private"))
    assert routed.status_code == 200 and b"Private numbers" not in routed.data and b"sign in" in routed.data
    assert b"Public home" in anonymous.post("/_dash-update-component", json=router_body("/")).data
    signed_in = client_for(app).post("/_dash-update-component", json=router_body("/private"),
                                     headers=basic_header("username", "password"))
    assert b"Private numbers" in signed_in.data
