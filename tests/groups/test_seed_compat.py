"""What apps written for dash-auth-plus / dash-auth-async expect of the group helpers.

Callable stand-in outputs (called, awaited, given ``path``), the seed helper
parameters (``path``, ``group_lookup``, ``restricted_users``,
``restricted_users_lookup``, ``user_session_key``), ``protect_layouts``
passing page paths on, and ``session["user"]`` read in a plain Flask request
context that no stack guards. Every test runs on each backend.
"""

from __future__ import annotations

import asyncio
import json
import logging

import dash
import flask
import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import Identity
from dash_auth_core.context import set_current_user
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash, router_body
from dash_auth_groups import check_groups, list_groups, protect_layouts, protected, protected_callback

USERS = {"alice": "wonderland", "bob": "builder"}
GROUPS = {"alice": ["A"], "bob": ["B"]}
ALICE, BOB = basic_header("alice", "wonderland"), basic_header("bob", "builder")


def text(response):
    """A JSON answer as plain text (Dash escapes ``/`` and ``<``)."""
    return json.dumps(json.loads(response.data))


def answer(response, component):
    assert response.status_code == 200, (response.status_code, response.data[:300])
    return json.loads(response.data)["response"][component]["children"]


# -- 1. callable stand-in outputs ----------------------------------------------------------------


def stand_in_app():
    ran = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b")] + [html.Div(id=name) for name in ("plain", "withpath", "async", "sync")])

    @protected_callback(Output("plain", "children"), Input("b", "n_clicks"), groups=["A"],
                        missing_permissions_output=lambda: "forbidden")
    def plain(n):
        ran.append("plain")
        return "plain body"

    @protected_callback(Output("withpath", "children"), Input("b", "n_clicks"), groups=["A"],
                        missing_permissions_output=lambda path=None, **_: f"no access at {path}")
    def withpath(n):
        ran.append("withpath")
        return "withpath body"

    async def refuse_later():
        await asyncio.sleep(0)
        return "refused, awaited"

    @protected_callback(Output("async", "children"), Input("b", "n_clicks"), groups=["A"],
                        missing_permissions_output=refuse_later)
    async def async_body(n):
        ran.append("async")
        return "async body"

    @protected_callback(Output("sync", "children"), Input("b", "n_clicks"), groups=["A"],
                        missing_permissions_output=refuse_later)
    def sync_body(n):
        ran.append("sync")
        return "sync body"

    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET)
    return app, ran


@pytest.mark.parametrize(("output", "refused", "allowed"), [
    ("plain", "forbidden", "plain body"),
    ("withpath", "no access at None", "withpath body"),
    ("async", "refused, awaited", "async body"),
    ("sync", "refused, awaited", "sync body"),
])
def test_a_callable_stand_in_is_called_for_a_refused_user(output, refused, allowed):
    app, ran = stand_in_app()
    body = callback_body(app, f"{output}.children", [1])
    assert answer(client_for(app).post("/_dash-update-component", json=body, headers=BOB), output) == refused
    assert ran == []
    assert answer(client_for(app).post("/_dash-update-component", json=body, headers=ALICE), output) == allowed
    assert ran == [output]


def test_protected_calls_its_stand_ins_with_the_path_it_was_given():
    calls = []

    def missing(path):
        calls.append(path)
        return f"missing at {path}"

    as_function = protected(lambda: "sign in", missing_permissions_output=missing, groups=["A"],
                            path_template="/report/<rid>", path="/report/x")(lambda: "REPORT")
    as_value = protected("sign in")(html.Div("SECRET VALUE"))
    with as_user(None):
        assert as_function() == "sign in"  # called, not returned
        assert as_value() == "sign in"  # a value becomes a function (a layout)
    with as_user(Identity(id="bob", groups=("B",))):
        assert as_function() == "missing at /report/<rid>"  # path_template wins, as in dash-auth-plus
    with as_user(Identity(id="alice", groups=("A",))):
        assert as_function() == "REPORT"
        assert as_value().children == "SECRET VALUE"
    assert calls == ["/report/<rid>"]


def test_missing_permissions_output_defaults_to_the_unauthenticated_one():
    guarded = protected("please sign in", groups=["A"])(lambda: "body")
    with as_user(Identity(id="bob", groups=("B",))):
        assert guarded() == "please sign in"


def test_async_stand_ins_of_async_and_sync_functions_are_awaited():
    async def later(path=None):
        await asyncio.sleep(0)
        return f"later {path}"

    async def body():
        return "async body"

    async_guarded = protected(later, groups=["A"], path="/p")(body)
    sync_guarded = protected(later, groups=["A"], path="/p")(lambda: "sync body")
    with as_user(Identity(id="bob", groups=("B",))):
        assert asyncio.run(async_guarded()) == "later /p"
        assert sync_guarded() == "later /p"

        async def from_a_running_loop():  # a sync layout called on an event loop's thread
            return sync_guarded()

        assert asyncio.run(from_a_running_loop()) == "later /p"


def test_layout_mode_calls_a_callable_placeholder_with_the_page_path():
    seen = []

    def placeholder(path=None):
        seen.append(path)
        return html.Div(f"PLACEHOLDER for {path}")

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("report", path_template="/report/<rid>", layout=lambda rid=None, **_: html.Div(f"REPORT {rid}"))
    dash.register_page("own", path="/own", layout=html.Div("OWN"), missing_permissions_output=lambda: "OWN STAND-IN",
                       groups=["A"])
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/"], secret_key=SECRET, auth_protect_layouts=True,
              auth_protect_layouts_kwargs={"unauthenticated_output": placeholder}, page_container="_pages_content")
    client = client_for(app)
    response = client.post("/_dash-update-component", json=router_body("/report/7"))
    assert response.status_code == 200
    assert "PLACEHOLDER for /report/<rid>" in text(response) and "REPORT 7" not in text(response)
    assert seen == ["/report/<rid>"]
    # A page's own stand-in wins over protect_layouts' (here for a signed-in user without group A).
    own = client_for(app).post("/_dash-update-component", json=router_body("/own"), headers=BOB)
    assert "OWN STAND-IN" in text(own) and '"OWN"' not in text(own)
    assert "REPORT 7" in text(client_for(app).post("/_dash-update-component", json=router_body("/report/7"),
                                                   headers=BOB))


# -- 3. the seed helper parameters ---------------------------------------------------------------


class _Key:
    pass


class _FakeRequest:
    context_key = _Key()

    @staticmethod
    def current_context_key():
        return _FakeRequest.context_key


class as_user:
    """``with as_user(identity):`` the current user, as the guard would set it."""

    def __init__(self, identity):
        self.identity = identity

    def __enter__(self):
        set_current_user(self.identity, _FakeRequest)

    def __exit__(self, *exc):
        set_current_user(None)


BOB_ID = Identity(id="bob", email="bob@example.org", groups=("B", "C"))


def test_check_groups_takes_the_seed_parameters():
    seen = {}

    def groups_for(path=None, section=None):
        seen["groups"] = (path, section)
        return ["B"] if path == "/b" else ["X"]

    def users_for(path):
        seen["users"] = path
        return ["bob@example.org"] if path == "/closed" else []

    with as_user(BOB_ID):
        assert check_groups(groups_for, path="/b", group_lookup={"section": "s"}) is True
        assert seen["groups"] == ("/b", "s")
        assert check_groups(groups_for, path="/other") is False
        assert check_groups(groups_for, path="/b", group_lookup={"path": "/lookup-wins"}) is False
        assert seen["groups"] == ("/lookup-wins", None)
        assert check_groups(["B"], restricted_users=["BOB@example.org"]) is False
        assert check_groups(["B"], restricted_users=users_for, restricted_users_lookup={"path": "/closed"}) is False
        assert seen["users"] == "/closed"
        assert check_groups(["B"], restricted_users=users_for, restricted_users_lookup={"path": "/open"}) is True
        assert check_groups(restricted_users=["bob"], user_session_key="id") is False
        assert check_groups(restricted_users=["bob"]) is True  # compared with the email by default
        with pytest.raises(TypeError):
            check_groups(restricted_users=["bob"], user_session_key="id", restricted_users_key="email")
    with as_user(None):
        assert check_groups(groups_for, path="/b") is None


def test_list_groups_takes_the_seed_parameters():
    with as_user(BOB_ID):
        assert list_groups() == ["B", "C"]
        assert list_groups(path="/x", group_lookup={"a": 1}) == ["B", "C"]
        assert list_groups(restricted_users=["bob@example.org"]) == []
        assert list_groups(restricted_users=lambda team: ["bob"] if team == "t" else [],
                           restricted_users_lookup={"team": "t"}, user_session_key="id") == []
        assert list_groups(restricted_users=["alice"], user_session_key="id") == ["B", "C"]
    with as_user(None):
        assert list_groups(restricted_users=["bob@example.org"]) is None


def test_protect_layouts_passes_page_paths_and_takes_public_routes():
    seen = []

    def groups_for(path):
        seen.append(path)
        return ["A"] if path.startswith("/a") else ["B"]

    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("a", path="/a", layout=html.Div("PAGE A"))
    dash.register_page("b", path="/b", layout=html.Div("PAGE B"))
    dash.register_page("free", path="/free", layout=html.Div("FREE FOR SIGNED-IN USERS"))
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/"], secret_key=SECRET)
    protect_layouts(public_routes=["/free"], groups=groups_for, unauthenticated_output=lambda path: f"NO {path}")

    def route(path, headers):
        return text(client_for(app).post("/_dash-update-component", json=router_body(path), headers=headers))

    assert "PAGE A" in route("/a", ALICE) and "PAGE A" not in route("/a", BOB)
    assert "NO /a" in route("/a", BOB)  # the one stand-in serves both cases
    assert "PAGE B" in route("/b", BOB) and "NO /b" in route("/b", ALICE)
    assert "FREE FOR SIGNED-IN USERS" in route("/free", BOB)  # left alone by protect_layouts
    assert set(seen) >= {"/a", "/b"} and "/free" not in seen


def test_page_rules_with_a_groups_callable_get_the_page_path():
    app = make_dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    dash.register_page("home", path="/", layout=html.Div("HOME"))
    dash.register_page("team", path_template="/team/<tid>", layout=lambda tid=None, **_: html.Div(f"TEAM {tid}"),
                       groups=lambda path: ["A"] if path == "/team/<tid>" else [])
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, user_groups=GROUPS, public_routes=["/"], secret_key=SECRET)
    assert client_for(app).get("/team/1", headers=ALICE).status_code == 200
    assert client_for(app).get("/team/1", headers=BOB).status_code == 403


# -- 4. session["user"] outside any stack --------------------------------------------------------


@pytest.mark.backends("flask", reason="the seed libraries read flask.session; other backends have no stand-alone use")
def test_a_plain_flask_request_reads_session_user_as_the_seeds_did():
    server = flask.Flask(__name__)
    server.secret_key = SECRET
    with server.test_request_context("/"):
        assert list_groups() is None and check_groups(["admin"]) is None
        flask.session["user"] = {"email": "a.b@mail.com", "groups": ["default", "admin"]}
        assert list_groups() == ["default", "admin"]
        assert check_groups(["admin"]) is True
        assert check_groups(["admin"], restricted_users=["a.b@mail.com"]) is False
        assert check_groups(["other"]) is False
        assert protected("sign in", missing_permissions_output="no", groups=["admin"])(lambda: "body")() == "body"
        assert protected("sign in", missing_permissions_output="no", groups=["x"])(lambda: "body")() == "no"
        flask.session["user"] = {"email": "a.b@mail.com", "groups": "g1;g2, g3"}
        assert list_groups(groups_str_split=r"[;,] *") == ["g1", "g2", "g3"]  # a regular expression, as there
        assert check_groups(["g3"], groups_str_split=r"[;,] *") is True
        flask.session["user"] = {"roles": ["r"], "uid": "u1"}
        assert list_groups(groups_key="roles") == ["r"]
        assert check_groups(restricted_users=["u1"], user_session_key="uid") is False
    with server.test_request_context("/"):
        assert protected("sign in")(lambda: "body")() == "sign in"  # a fresh session: nobody


@pytest.mark.backends("flask", reason="a Flask request context of a guarded server")
def test_inside_a_stack_the_guards_identity_is_the_only_source():
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def groups_now(n):
        return repr(list_groups())

    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET)
    with app.server.test_request_context("/"):
        flask.session["user"] = {"email": "forged@example.org", "groups": ["A"]}  # no guard vouched for it
        assert list_groups() is None
        assert check_groups(["A"]) is None
        assert protected("sign in", groups=["A"])(lambda: "body")() == "sign in"
    body = callback_body(app, "o.children", [1])
    assert answer(client_for(app).post("/_dash-update-component", json=body, headers=ALICE), "o") == "['A']"


def test_a_failing_groups_callable_refuses_and_logs(caplog):
    def broken(path=None):
        raise RuntimeError("directory down")

    with as_user(BOB_ID), caplog.at_level(logging.ERROR, logger="dash_auth.groups"):
        assert check_groups(broken, path="/x") is False
        assert protected("in", missing_permissions_output="refused", groups=broken)(lambda: "body")() == "refused"
    assert "directory down" in caplog.text


def test_prevent_update_as_stand_in_keeps_the_seeds_silent_refusal():
    """docs/migrating.md: ``missing_permissions_output=PreventUpdate`` answers a refused user as the seeds did (204)."""
    from dash.exceptions import PreventUpdate

    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @protected_callback(Output("o", "children"), Input("b", "n_clicks"), groups=["A"],
                        missing_permissions_output=PreventUpdate)
    def body(n):
        return "ran"

    BasicAuth(app, USERS, user_groups=GROUPS, secret_key=SECRET)
    request = callback_body(app, "o.children", [1])
    assert client_for(app).post("/_dash-update-component", json=request, headers=BOB).status_code == 204
    assert answer(client_for(app).post("/_dash-update-component", json=request, headers=ALICE), "o") == "ran"
