"""Bad input at every guard entry point.

Every malformed request gets a clear 4xx (JSON from the guard), never a 500,
and never runs a protected callback, with and without valid credentials.
Clients never keep cookies here, so a login made by one request cannot leak
into the next (each request is judged only on what it carries).
"""

from __future__ import annotations

import copy
import io
import json
import random
import re

import dash
import pytest
from dash import ALL, MATCH, Input, Output, State, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import public_callback
from dash_auth_core.testing import backend_of, basic_header, callback_body, client_for, make_dash, router_body

USERS = {"alice": "wonderland"}
ALICE = basic_header("alice", "wonderland")
URL = "/_dash-update-component"
MAX_BODY = 1024

PRIVATE = "out.children"
MULTI = "..multi-a.children...multi-b.children.."
PUBLIC = "pub.children"
MATCH_ID = '{"index":["MATCH"],"type":"card"}.children'
ALL_ID = "all-out.children"
CLIENTSIDE = "client-out.children"
ROUTER = ".._pages_content.children..._pages_store.data.."


# -- the app under test ---------------------------------------------------


def make_app(**options):
    """An app with protected callbacks of every shape and one public callback.

    ``ran`` records every callback body that runs: ``("public", ...)`` for the
    public one, anything else is protected.
    """
    ran: list[tuple] = []
    app = make_dash(__name__)
    app.layout = html.Div([html.Div(id="out"), html.Div(id="pub")])

    @app.callback(Output("out", "children"), Input("secret-in", "value"), State("secret-state", "value"))
    def private(value, state):
        ran.append(("private", value, state))
        return "private result"

    @app.callback(Output("multi-a", "children"), Output("multi-b", "children"), Input("secret-in", "n_submit"))
    def private_multi(n):
        ran.append(("private_multi", n))
        return "a", "b"

    @app.callback(Output({"type": "card", "index": MATCH}, "children"), Input({"type": "btn", "index": MATCH}, "n_clicks"))
    def private_match(n):
        ran.append(("private_match", n))
        return "match result"

    @app.callback(Output("all-out", "children"), Input({"type": "item", "index": ALL}, "value"))
    def private_all(values):
        ran.append(("private_all", values))
        return "all result"

    @public_callback(Output("pub", "children"), Input("btn", "n_clicks"))
    def public(n):
        ran.append(("public", n))
        return len(ran)  # a number, as a counter would return

    app.clientside_callback("function(n){return n;}", Output("client-out", "children"), Input("btn", "n_clicks"))
    BasicAuth(app, USERS, secret_key=SECRET, **options)
    return app, ran


def protected_runs(ran):
    return [r for r in ran if r[0] != "public"]


def client(app):
    return client_for(app, use_cookies=False)


def post_json(app, body, headers=None):
    return client(app).post(URL, json=body, headers=headers or {})


def post_raw(app, data, content_type="application/json", headers=None, **kwargs):
    return client(app).post(URL, data=data, content_type=content_type, headers=headers or {}, **kwargs)


def assert_refused(response, status):
    """A clear refusal from the guard: the expected 4xx with a JSON error body."""
    assert response.status_code != 500, response.data[:500]
    assert response.status_code == status, (response.status_code, response.data[:500])
    assert response.is_json, response.data[:200]
    assert "error" in response.get_json()


def match_body():
    return {
        "output": MATCH_ID,
        "outputs": {"id": {"type": "card", "index": 1}, "property": "children"},
        "inputs": [{"id": {"type": "btn", "index": 1}, "property": "n_clicks", "value": 3}],
        "changedPropIds": ['{"index":1,"type":"btn"}.n_clicks'],
    }


def all_body():
    return {
        "output": ALL_ID,
        "outputs": {"id": "all-out", "property": "children"},
        "inputs": [
            [
                {"id": {"type": "item", "index": 1}, "property": "value", "value": "x"},
                {"id": {"type": "item", "index": 2}, "property": "value", "value": "y"},
            ]
        ],
        "changedPropIds": [],
    }


def valid_bodies(app):
    return {
        PRIVATE: callback_body(app, PRIVATE, ["v"], ["s"]),
        MULTI: callback_body(app, MULTI, [1]),
        MATCH_ID: match_body(),
        ALL_ID: all_body(),
        PUBLIC: callback_body(app, PUBLIC, [1]),
    }


# -- controls: the valid bodies work, so every refusal below means something ----


@pytest.mark.parametrize("output", [PRIVATE, MULTI, MATCH_ID, ALL_ID])
def test_control_valid_protected_bodies(output):
    app, ran = make_app()
    body = valid_bodies(app)[output]
    assert_refused(post_json(app, body), 401)
    assert protected_runs(ran) == []
    response = post_json(app, body, ALICE)
    assert response.status_code == 200, response.data
    assert len(protected_runs(ran)) == 1


def test_control_public_body_runs_anonymously():
    app, ran = make_app()
    response = post_json(app, valid_bodies(app)[PUBLIC])
    assert response.status_code == 200, response.data
    assert ran == [("public", 1)]


# -- unparseable bodies ---------------------------------------------------

VALID_TEXT = json.dumps({"output": PRIVATE, "inputs": [], "state": []})

RAW_CASES = [
    ("truncated-json", b'{"output": "out.children",', "application/json", 400),
    ("lone-brace", b"{", "application/json", 400),
    ("trailing-garbage", VALID_TEXT.encode() + b" xyz", "application/json", 400),
    ("single-quotes", b"{'output': 'out.children'}", "application/json", 400),
    ("invalid-utf8", b'{"output": "\xff\xfe"}', "application/json", 400),
    ("empty-json", b"", "application/json", 400),
    ("whitespace-json", b"   \n ", "application/json", 400),
    ("text-plain", VALID_TEXT.encode(), "text/plain", 415),
    ("form-urlencoded", b"output=out.children", "application/x-www-form-urlencoded", 415),
    ("multipart", b"--x\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x", 415),
    ("no-content-type", VALID_TEXT.encode(), None, 415),
    ("empty-no-content-type", b"", None, 415),
    ("list", b"[]", "application/json", 400),
    ("list-of-body", b"[" + VALID_TEXT.encode() + b"]", "application/json", 400),
    ("string", b'"out.children"', "application/json", 400),
    ("number", b"42", "application/json", 400),
    ("float", b"1e999", "application/json", 400),
    ("null", b"null", "application/json", 400),
    ("true", b"true", "application/json", 400),
    ("nan-output", b'{"output": NaN}', "application/json", 400),
    ("deep-array", b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    ("deep-object", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "application/json", 400),
]


@pytest.mark.parametrize("who", ["anonymous", "alice"])
@pytest.mark.parametrize(("data", "content_type", "status"), [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES])
def test_unusable_bodies(data, content_type, status, who):
    app, ran = make_app()
    headers = ALICE if who == "alice" else {}
    assert_refused(post_raw(app, data, content_type, headers), status)
    assert ran == []


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/json; charset=utf-8",
                                          "APPLICATION/JSON; charset=utf-8", "application/vnd.api+json"])
def test_json_content_types_that_flask_accepts_work_on_every_backend(content_type):
    """The guard accepts JSON by Flask's rule (any case, ``application/*+json``); Dash must then answer too."""
    app, ran = make_app()
    body = json.dumps(valid_bodies(app)[PUBLIC]).encode()
    response = post_raw(app, body, content_type)
    assert response.status_code == 200, response.data[:500]
    assert ran == [("public", 1)]


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_deeply_nested_value_inside_a_valid_body(who):
    app, ran = make_app()
    text = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"]))
    nested = "[" * 200_000 + "]" * 200_000
    data = text.replace('"v"', nested, 1).encode()
    assert_refused(post_raw(app, data, headers=ALICE if who == "alice" else {}), 400)
    assert ran == []


def test_moderately_nested_value_is_judged_like_any_other():
    """Nesting that parses is not an error: the guard still refuses it anonymously."""
    app, ran = make_app()
    text = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"]))
    data = text.replace('"v"', "[" * 400 + "]" * 400, 1).encode()
    assert_refused(post_raw(app, data), 401)
    assert ran == []
    response = post_raw(app, data, headers=ALICE)
    assert response.status_code == 200, response.data[:300]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "TRACE"])
@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_callback_url_only_takes_post(method, who):
    app, ran = make_app()
    body = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"]))
    response = client(app).open(
        URL, method=method, data=body, content_type="application/json", headers=ALICE if who == "alice" else {}
    )
    assert_refused(response, 405)
    assert ran == []


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_options_preflight_runs_no_callback(who):
    """CORS preflight is let through to the server, which answers it without running Dash."""
    app, ran = make_app()
    body = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"]))
    response = client(app).open(
        URL, method="OPTIONS", data=body, content_type="application/json", headers=ALICE if who == "alice" else {}
    )
    assert response.status_code in (200, 204, 405), response.status_code
    assert response.data in (b"", b'{"detail":"Method Not Allowed"}')  # FastAPI's 405 says so
    assert ran == []


def test_head_to_callback_url_is_refused():
    app, ran = make_app()
    for headers in ({}, ALICE):
        response = client(app).head(URL, headers=headers)
        assert response.status_code == 405
    assert ran == []


# -- well-formed JSON of the wrong shape -----------------------------------


def _set(key, value):
    def mutate(body):
        body[key] = value

    return mutate


def _drop(key):
    def mutate(body):
        body.pop(key, None)

    return mutate


_DROP = object()


def _input(**changes):
    def mutate(body):
        item = body["inputs"][0]
        for key, value in changes.items():
            if value is _DROP:
                item.pop(key, None)
            else:
                item[key] = value

    return mutate


def _replace_input(value):
    def mutate(body):
        body["inputs"][0] = value

    return mutate


def _replace_state(value):
    def mutate(body):
        body["state"][0] = value

    return mutate


# (id, mutation of the PRIVATE body, status anonymous, status for alice)
SHAPE_CASES = [
    ("no-output", _drop("output"), 400, 400),
    ("output-int", _set("output", 1), 400, 400),
    ("output-float", _set("output", 1.5), 400, 400),
    ("output-bool", _set("output", True), 400, 400),
    ("output-null", _set("output", None), 400, 400),
    ("output-empty", _set("output", ""), 400, 400),
    ("output-list", _set("output", [PRIVATE]), 400, 400),
    ("output-dict", _set("output", {"id": "out", "property": "children"}), 400, 400),
    ("output-huge", _set("output", "x" * 1_000_000), 400, 400),
    ("output-just-over-limit", _set("output", "o" * 10_001), 400, 400),
    ("output-long-unknown", _set("output", "o" * 10_000), 401, 400),
    ("output-unknown", _set("output", "nope.children"), 401, 400),
    ("output-padded", _set("output", " " + PRIVATE), 401, 400),
    ("output-nul", _set("output", PRIVATE + "\x00"), 401, 400),
    ("output-case", _set("output", PRIVATE.upper()), 401, 400),
    ("output-lone-surrogate", _set("output", "\ud800.children"), 401, 400),
    ("output-clientside", _set("output", CLIENTSIDE), 401, 400),
    ("output-pages-router-without-pages", _set("output", ROUTER), 401, 400),
    ("output-unknown-pattern", _set("output", '{"index":["ALL"],"type":"card"}.children'), 401, 400),
    # Past the id lookup the shape is checked only for allowed callers: anonymous
    # clients get 401 and cannot probe the shape of a protected callback.
    ("no-inputs", _drop("inputs"), 401, 400),
    ("inputs-null", _set("inputs", None), 401, 400),
    ("inputs-dict", _set("inputs", {"id": "secret-in", "property": "value"}), 401, 400),
    ("inputs-string", _set("inputs", "secret-in.value"), 401, 400),
    ("inputs-int", _set("inputs", 1), 401, 400),
    ("inputs-empty", _set("inputs", []), 401, 400),
    ("inputs-too-many", lambda b: b["inputs"].append(dict(b["inputs"][0])), 401, 400),
    ("input-string", _replace_input("secret-in.value"), 401, 400),
    ("input-int", _replace_input(7), 401, 400),
    ("input-null", _replace_input(None), 401, 400),
    ("input-nested-list", _replace_input([[{"id": "secret-in", "property": "value"}]]), 401, 400),
    ("input-list-of-strings", _replace_input(["secret-in.value"]), 401, 400),
    ("input-no-id", _input(id=_DROP), 401, 400),
    ("input-no-property", _input(property=_DROP), 401, 400),
    ("input-id-int", _input(id=5), 401, 400),
    ("input-id-null", _input(id=None), 401, 400),
    ("input-id-list", _input(id=["secret-in"]), 401, 400),
    ("input-property-int", _input(property=1), 401, 400),
    ("input-property-null", _input(property=None), 401, 400),
    ("input-property-dict", _input(property={"a": 1}), 401, 400),
    ("state-null", _set("state", None), 401, 400),
    ("state-string", _set("state", "secret-state.value"), 401, 400),
    ("state-dict", _set("state", {}), 401, 400),
    ("state-missing", _drop("state"), 401, 400),
    ("state-empty", _set("state", []), 401, 400),
    ("state-too-many", lambda b: b["state"].append(dict(b["state"][0])), 401, 400),
    ("state-item-string", _replace_state("secret-state.value"), 401, 400),
    ("state-item-no-id", _replace_state({"property": "value", "value": 1}), 401, 400),
    ("outputs-string", _set("outputs", "out.children"), 401, 400),
    ("outputs-int", _set("outputs", 3), 401, 400),
    ("outputs-true", _set("outputs", True), 401, 400),
    ("outputs-no-id", _set("outputs", {"property": "children"}), 401, 400),
    ("outputs-id-int", _set("outputs", {"id": 1, "property": "children"}), 401, 400),
    ("outputs-no-property", _set("outputs", {"id": "out"}), 401, 400),
    ("outputs-list-of-strings", _set("outputs", ["out.children"]), 401, 400),
    # Shapes the guard lets through today but Dash cannot answer for a plain
    # (non-wildcard) single output: Dash runs the callback, then fails with a 500.
    ("no-outputs", _drop("outputs"), 401, 400),
    ("outputs-null", _set("outputs", None), 401, 400),
    ("outputs-list-for-single-output", _set("outputs", [{"id": "out", "property": "children"}]), 401, 400),
    ("outputs-empty-list", _set("outputs", []), 401, 400),
    # Outputs that name another component or property: Dash refuses them with a 500.
    ("outputs-other-component", _set("outputs", {"id": "pub", "property": "children"}), 401, 400),
    ("outputs-other-property", _set("outputs", {"id": "out", "property": "style"}), 401, 400),
    ("outputs-pattern-id", _set("outputs", {"id": {"type": "card", "index": 1}, "property": "children"}), 401, 400),
    ("changed-string", _set("changedPropIds", "secret-in.value"), 401, 400),
    ("changed-null", _set("changedPropIds", None), 401, 400),
    ("changed-dict", _set("changedPropIds", {"a": 1}), 401, 400),
    ("changed-ints", _set("changedPropIds", [1, 2]), 401, 400),
    ("changed-nested", _set("changedPropIds", [["secret-in.value"]]), 401, 400),
]


@pytest.mark.parametrize(("mutate", "anonymous", "signed_in"), [c[1:] for c in SHAPE_CASES], ids=[c[0] for c in SHAPE_CASES])
def test_wrong_shapes_of_the_private_body(mutate, anonymous, signed_in):
    app, ran = make_app()
    body = callback_body(app, PRIVATE, ["v"], ["s"])
    mutate(body)
    assert_refused(post_json(app, body), anonymous)
    assert_refused(post_json(app, body, ALICE), signed_in)
    assert ran == []


MULTI_CASES = [
    ("outputs-missing", _drop("outputs")),
    ("outputs-null", _set("outputs", None)),
    ("outputs-dict", _set("outputs", {"id": "multi-a", "property": "children"})),
    ("outputs-too-few", lambda b: b["outputs"].pop()),
    ("outputs-too-many", lambda b: b["outputs"].append({"id": "x", "property": "children"})),
    ("outputs-items-strings", _set("outputs", ["multi-a.children", "multi-b.children"])),
    ("outputs-items-no-id", _set("outputs", [{"property": "children"}, {"property": "children"}])),
    # Wildcard-shaped (list) items for plain outputs: Dash runs the callback, then 500s.
    ("outputs-items-wrapped-in-lists", lambda b: b.update(outputs=[[o] for o in b["outputs"]])),
]


@pytest.mark.parametrize("mutate", [c[1] for c in MULTI_CASES], ids=[c[0] for c in MULTI_CASES])
def test_wrong_outputs_of_a_multi_output_callback(mutate):
    app, ran = make_app()
    body = callback_body(app, MULTI, [1])
    mutate(body)
    anonymous = post_json(app, body)
    assert anonymous.status_code in (400, 401)
    assert_refused(anonymous, anonymous.status_code)
    assert_refused(post_json(app, body, ALICE), 400)
    assert ran == []


PUBLIC_OUTPUT_CASES = [
    ("missing", _drop("outputs")),
    ("null", _set("outputs", None)),
    ("list", _set("outputs", [{"id": "pub", "property": "children"}])),
    ("empty-list", _set("outputs", [])),
    ("other-component", _set("outputs", {"id": "out", "property": "children"})),
    ("other-property", _set("outputs", {"id": "pub", "property": "style"})),
    ("empty-property", _set("outputs", {"id": "pub", "property": ""})),
]


@pytest.mark.parametrize("mutate", [c[1] for c in PUBLIC_OUTPUT_CASES], ids=[c[0] for c in PUBLIC_OUTPUT_CASES])
def test_public_callback_with_wrong_outputs_anonymously(mutate):
    """Anyone can reach a public callback: a bad ``outputs`` must be a 400, not Dash's 500."""
    app, ran = make_app()
    body = callback_body(app, PUBLIC, [1])
    mutate(body)
    assert_refused(post_json(app, body), 400)
    assert ran == []


def test_extra_top_level_keys_are_harmless():
    app, ran = make_app()
    body = callback_body(app, PRIVATE, ["v"], ["s"])
    body.update({"__proto__": {"admin": True}, "user": "alice", "public": True, "isPublic": True})
    assert_refused(post_json(app, body), 401)
    assert ran == []
    assert post_json(app, body, ALICE).status_code == 200


def test_duplicate_keys_are_read_the_same_way_by_guard_and_dash():
    """Guard and Dash share one parse: the last ``output`` wins for both."""
    app, ran = make_app()
    public = callback_body(app, PUBLIC, [1])
    text = json.dumps(public)
    private_last = text[:-1] + ', "output": "out.children"}'
    assert_refused(post_raw(app, private_last.encode()), 401)  # PRIVATE is judged, anonymously
    assert_refused(post_raw(app, private_last.encode(), headers=ALICE), 400)  # the public inputs do not fit PRIVATE
    assert protected_runs(ran) == []

    private = callback_body(app, PRIVATE, ["v"], ["s"])
    text = json.dumps(private)
    public_first = '{"output": "pub.children", ' + text[1:]
    assert_refused(post_raw(app, public_first.encode()), 401)
    assert ran == []


# -- forged and unknown ids ------------------------------------------------


def test_public_id_with_the_private_callbacks_inputs_is_refused():
    """Inputs are checked against the ids the public callback declares."""
    app, ran = make_app()
    private = callback_body(app, PRIVATE, ["v"], ["s"])
    forged = dict(private, output=PUBLIC, outputs={"id": "pub", "property": "children"}, state=[])
    response = post_json(app, forged)
    assert_refused(response, 400)
    assert ran == []
    assert b"private result" not in response.data


def test_public_id_with_the_private_callbacks_state_is_refused():
    app, ran = make_app()
    private = callback_body(app, PRIVATE, ["v"], ["s"])
    forged = dict(private, output=PUBLIC, outputs={"id": "pub", "property": "children"})
    assert_refused(post_json(app, forged), 400)
    assert ran == []


@pytest.mark.parametrize("output", [PRIVATE, MULTI, MATCH_ID, ALL_ID])
@pytest.mark.parametrize("change", ["extra-input", "missing-input"])
def test_protected_id_with_wrong_number_of_inputs(output, change):
    app, ran = make_app()
    body = valid_bodies(app)[output]
    if change == "extra-input":
        body["inputs"].append({"id": "secret-in", "property": "value", "value": 1})
    else:
        body["inputs"].pop()
    assert_refused(post_json(app, body), 401)
    assert_refused(post_json(app, body, ALICE), 400)
    assert ran == []


@pytest.mark.parametrize(
    "input_id",
    [
        "btn",
        {"type": "btn", "index": ["MATCH"]},
        {"type": "btn", "index": {"$ne": None}},
        {"type": ["ALL"], "index": 1},
        {},
        {"a": {"b": {"c": [1, 2, {"d": None}]}}},
    ],
    ids=["string-id", "wildcard-literal", "operator", "wildcard-type", "empty-dict", "nested"],
)
def test_pattern_matching_ids_forged_anonymously(input_id):
    app, ran = make_app()
    body = match_body()
    body["inputs"][0]["id"] = input_id
    assert_refused(post_json(app, body), 401)
    body = all_body()
    body["inputs"][0][0]["id"] = input_id
    assert_refused(post_json(app, body), 401)
    assert ran == []


@pytest.mark.parametrize(
    "inputs",
    [[[1, 2]], [[None]], [["x"]], [[[{"id": "a", "property": "b"}]]], [[{"id": {"type": "item"}}]]],
    ids=["ints", "nulls", "strings", "nested-lists", "no-property"],
)
def test_pattern_matching_lists_with_bad_items(inputs):
    app, ran = make_app()
    body = dict(all_body(), inputs=inputs)
    assert_refused(post_json(app, body), 401)
    assert_refused(post_json(app, body, ALICE), 400)
    assert ran == []


# -- body size ---------------------------------------------------------------


def padded(body, size):
    text = json.dumps(dict(body, pad=""))
    return json.dumps(dict(body, pad="x" * (size - len(text)))).encode()


def test_body_at_the_limit_is_accepted():
    app, ran = make_app(max_body_size=MAX_BODY)
    data = padded(callback_body(app, PRIVATE, ["v"], ["s"]), MAX_BODY)
    assert len(data) == MAX_BODY
    assert_refused(post_raw(app, data), 401)
    assert post_raw(app, data, headers=ALICE).status_code == 200
    assert len(protected_runs(ran)) == 1


@pytest.mark.parametrize("who", ["anonymous", "alice"])
@pytest.mark.parametrize("size", [MAX_BODY + 1, 64 * 1024, 2 * 1024 * 1024])
def test_body_over_the_limit_with_content_length(size, who):
    app, ran = make_app(max_body_size=MAX_BODY)
    data = padded(callback_body(app, PRIVATE, ["v"], ["s"]), size)
    assert_refused(post_raw(app, data, headers=ALICE if who == "alice" else {}), 413)
    assert ran == []


def chunked(app, data, headers=None, terminated=True):
    """A chunked upload: no Content-Length, the server terminates the stream."""
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked", **(headers or {})}
    if backend_of(app) != "flask":  # ASGI: the body arrives in pieces
        pieces = [data[i:i + 4096] for i in range(0, len(data), 4096)]
        return client(app).post(URL, headers=headers, chunks=pieces)
    environ = {"wsgi.input_terminated": True} if terminated else {}
    return client(app).post(URL, input_stream=io.BytesIO(data), headers=headers, environ_overrides=environ)


def test_chunked_body_under_the_limit_is_judged_normally():
    app, ran = make_app(max_body_size=MAX_BODY)
    data = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"])).encode()
    assert_refused(chunked(app, data), 401)
    assert ran == []
    assert chunked(app, data, ALICE).status_code == 200
    assert len(protected_runs(ran)) == 1


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_chunked_body_over_the_limit_is_413(who):
    app, ran = make_app(max_body_size=MAX_BODY)
    data = padded(callback_body(app, PRIVATE, ["v"], ["s"]), 64 * 1024)
    assert_refused(chunked(app, data, ALICE if who == "alice" else {}), 413)
    assert ran == []


def test_chunked_body_over_the_limit_is_refused_even_if_its_first_bytes_are_valid_json():
    """A valid body followed by padding past the limit must not be cut and run."""
    app, ran = make_app(max_body_size=MAX_BODY)
    data = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"])).encode() + b" " * (64 * 1024)
    assert_refused(chunked(app, data), 413)
    assert_refused(chunked(app, data, ALICE), 413)
    assert ran == []


@pytest.mark.backends("flask", reason="a WSGI detail: ASGI servers always end the body stream")
def test_chunked_body_on_a_server_that_does_not_terminate_the_stream():
    """Without ``wsgi.input_terminated`` werkzeug reads nothing: a 400, not a hang or a 500."""
    app, ran = make_app(max_body_size=MAX_BODY)
    data = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"])).encode()
    assert_refused(chunked(app, data, ALICE, terminated=False), 400)
    assert ran == []


@pytest.mark.backends("flask", reason="a WSGI detail: ASGI servers frame the body by Content-Length themselves")
def test_content_length_shorter_than_the_body():
    app, ran = make_app(max_body_size=MAX_BODY)
    data = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"])).encode()
    response = client(app).post(
        URL,
        input_stream=io.BytesIO(data),
        headers={"Content-Type": "application/json", **ALICE},
        environ_overrides={"CONTENT_LENGTH": str(len(data) // 2)},
    )
    assert_refused(response, 400)
    assert ran == []


@pytest.mark.parametrize("declared", ["\u00b2", "1\u00b2", "\u0661\u0662", " 12 ", "1_0", "-1", "12, 12", "abc", ""])
def test_an_odd_content_length_is_never_a_500(declared):
    """Digits that are not ASCII ("²" is a digit to ``str.isdigit``, not to ``int``), signs, lists."""
    app, ran = make_app(max_body_size=MAX_BODY)
    data = json.dumps(callback_body(app, PRIVATE, ["v"], ["s"])).encode()
    headers = {"Content-Type": "application/json", **ALICE}
    if backend_of(app) == "flask":
        response = client(app).post(URL, input_stream=io.BytesIO(data), headers=headers,
                                    environ_overrides={"CONTENT_LENGTH": declared, "wsgi.input_terminated": True})
    else:
        response = client(app).post(URL, data=data, headers={**headers, "Content-Length": declared})
    assert response.status_code in (200, 400, 411, 413), (response.status_code, response.data[:300])
    assert len(protected_runs(ran)) == (1 if response.status_code == 200 else 0)


def test_declared_length_counts_only_ascii_digits_and_yields_to_chunked_bodies():
    from dash_auth_core.backends import declared_length

    assert declared_length("12") == 12 and declared_length(" 12 ") == 12
    for odd in (None, "", "\u00b2", "\u0661", "1_0", "-1", "+1", "12, 12", "1e3", "abc"):
        assert declared_length(odd) is None, odd
    assert declared_length("12", "chunked") is None  # Transfer-Encoding wins over Content-Length


# -- the other entry points ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_dash-layout"),
        ("POST", "/_dash-dependencies"),
        ("POST", "/_reload-hash"),
        ("GET", "/_dash-ws-callback"),
        ("POST", "/_dash-ws-callback"),
        ("POST", "/_dash-update-component/"),
        ("POST", "//_dash-update-component"),
        ("POST", "/_dash-update-component%00"),
        ("GET", "/assets/../app.py"),
        ("GET", "/assets/%2e%2e/%2e%2e/etc/passwd"),
        ("GET", "/_dash-layout/../_dash-layout"),
        ("GET", "/" + "a" * 20_000),
    ],
)
def test_other_entry_points_refuse_anonymous_bad_requests(method, path):
    app, ran = make_app()
    response = client(app).open(path, method=method, data=b"{not json", content_type="application/json")
    assert response.status_code != 500
    assert response.status_code == 401, (response.status_code, response.data[:200])
    assert b"secret-in" not in response.data
    assert ran == []


def test_component_suite_path_tricks_do_not_reach_the_layout():
    """``_dash-component-suites`` is public; a ``..`` in it must not serve app data."""
    app, ran = make_app()
    for path in (
        "/_dash-component-suites/../_dash-layout",
        "/_dash-component-suites/dash/../../_dash-dependencies",
        "/_dash-component-suites/%2e%2e/_dash-layout",
    ):
        response = client(app).get(path)
        assert response.status_code != 200, path
        assert b"secret-in" not in response.data and b'"out"' not in response.data, path
    assert ran == []


# -- Dash Pages: the routing callback -------------------------------------


def pages_app(**kwargs):
    app = make_dash(__name__, use_pages=True, pages_folder="", **kwargs)
    dash.register_page("home", path="/", layout=html.Div("HOME PAGE"))
    dash.register_page("secret", path="/secret", layout=html.Div("TOP SECRET"))
    BasicAuth(app, USERS, public_routes=["/"], secret_key=SECRET)
    client(app).get("/")  # the first request makes Dash register its router
    return app


def route(app, body, headers=None, url=URL):
    return client(app).post(url, json=body, headers=headers or {})


def test_router_control_public_and_private_pages():
    app = pages_app()
    home = route(app, router_body("/"))
    assert home.status_code == 200 and b"HOME PAGE" in home.data
    assert_refused(route(app, router_body("/secret")), 401)
    secret = route(app, router_body("/secret"), ALICE)
    assert secret.status_code == 200 and b"TOP SECRET" in secret.data


PATH_VARIANTS = [
    "/secret",
    "/secret/",
    "//secret",
    "///secret",
    "/secret//",
    "/SECRET",
    "/Secret",
    "/%73ecret",
    "/%2Fsecret",
    "/./secret",
    "/x/../secret",
    "/secret/.",
    "/\\secret",
    "/secret?x=1",
    "/secret#top",
    "/secret;x",
    "/secret%00",
    "/secret ",
]


@pytest.mark.parametrize("pathname", PATH_VARIANTS)
def test_router_refuses_every_spelling_of_the_private_page(pathname):
    app = pages_app()
    response = route(app, router_body(pathname))
    assert_refused(response, 401)
    assert b"TOP SECRET" not in response.data
    # Control: the ones Dash would render as the private page really are that page.
    signed_in = route(app, router_body(pathname), ALICE)
    assert signed_in.status_code == 200


@pytest.mark.parametrize("pathname", ["secret", " /secret", "\\secret", "", "https://evil.example/secret", "/secret\x00"])
def test_router_pathnames_that_are_not_paths(pathname):
    app = pages_app()
    for headers in ({}, ALICE):
        response = route(app, router_body(pathname), headers)
        assert_refused(response, 400)
        assert b"TOP SECRET" not in response.data


@pytest.mark.parametrize(
    "value", [None, 123, 1.5, True, [], ["/secret"], {"pathname": "/secret"}, "/" + "x" * 5000],
    ids=["null", "int", "float", "bool", "empty-list", "list", "dict", "too-long"],
)
def test_router_pathname_of_the_wrong_type(value):
    app = pages_app()
    body = router_body("/")
    body["inputs"][0]["value"] = value
    for headers in ({}, ALICE):
        response = route(app, body, headers)
        assert_refused(response, 400)
        assert b"TOP SECRET" not in response.data


def test_router_pathname_value_missing():
    app = pages_app()
    body = router_body("/")
    del body["inputs"][0]["value"]
    for headers in ({}, ALICE):
        assert_refused(route(app, body, headers), 400)


def _swap(body):
    body["inputs"].reverse()


def _other_id(body):
    body["inputs"][0]["id"] = "other-location"


def _dict_id(body):
    body["inputs"][0]["id"] = {"id": "_pages_location"}


def _other_property(body):
    body["inputs"][0]["property"] = "href"


def _wrapped(body):
    body["inputs"][0] = [body["inputs"][0]]


def _only_pathname(body):
    body["inputs"].pop()


def _three_inputs(body):
    body["inputs"].append({"id": "_pages_location", "property": "pathname", "value": "/"})


def _search_carries_secret(body):
    body["inputs"][1] = {"id": "_pages_location", "property": "pathname", "value": "/secret"}


@pytest.mark.parametrize(
    "mutate",
    [_swap, _other_id, _dict_id, _other_property, _wrapped, _only_pathname, _three_inputs],
)
def test_router_pathname_input_moved_or_renamed(mutate):
    app = pages_app()
    body = router_body("/secret")
    mutate(body)
    response = route(app, body)
    assert response.status_code in (400, 401)
    assert_refused(response, response.status_code)
    assert b"TOP SECRET" not in response.data
    # A public pathname does not unlock a moved or renamed input either.
    body = router_body("/", search="/secret")
    mutate(body)
    response = route(app, body)
    assert b"TOP SECRET" not in response.data
    assert response.status_code != 500


def test_router_second_pathname_in_the_search_slot_is_ignored_by_dash():
    app = pages_app()
    body = router_body("/")
    _search_carries_secret(body)
    response = route(app, body)
    assert response.status_code != 500
    assert b"TOP SECRET" not in response.data


@pytest.mark.parametrize(
    "search", [123, True, ["?a=1"], {"a": 1}, 1.5],
    ids=["int", "bool", "list", "dict", "float"],
)
def test_router_search_of_the_wrong_type_on_a_public_page(search):
    """The guard validates the pathname only; a non-string ``search`` reaches Dash."""
    app = pages_app()
    response = route(app, router_body("/", search=search))
    assert_refused(response, 400)
    response = route(app, router_body("/", search=search), ALICE)
    assert_refused(response, 400)


def test_router_search_of_the_wrong_type_on_the_private_page_is_refused_first():
    app = pages_app()
    response = route(app, router_body("/secret", search=123))
    assert response.status_code in (400, 401)
    assert b"TOP SECRET" not in response.data


def test_router_with_wrong_outputs_and_state():
    app = pages_app()
    for mutate in (_drop("outputs"), _set("outputs", {"id": "_pages_content", "property": "children"}),
                   _set("state", [{"id": "x", "property": "y"}]), _set("changedPropIds", "x")):
        body = router_body("/secret")
        mutate(body)
        response = route(app, body)
        assert_refused(response, 401)  # a private page: refused before its shape is judged
        assert b"TOP SECRET" not in response.data
        public = router_body("/")
        mutate(public)
        assert_refused(route(app, public), 400)


@pytest.mark.parametrize(
    "outputs",
    [
        [{"id": "_pages_content", "property": "children"}, [{"id": "_pages_store", "property": "data"}]],
        [[{"id": "_pages_content", "property": "children"}], [{"id": "_pages_store", "property": "data"}]],
        [{"id": "_pages_store", "property": "data"}, {"id": "_pages_content", "property": "children"}],
        [{"id": "_pages_content", "property": "children"}, {"id": "x", "property": "data"}],
    ],
    ids=["second-wrapped", "both-wrapped", "swapped", "other-id"],
)
def test_router_with_wrong_outputs_on_the_public_page(outputs):
    app = pages_app()
    body = router_body("/")
    body["outputs"] = outputs
    for headers in ({}, ALICE):
        assert_refused(route(app, body, headers), 400)


def prefixed_pages_app():
    return pages_app(url_base_pathname="/app/")


PREFIXED_URL = "/app/_dash-update-component"


@pytest.mark.parametrize("pathname", ["/secret", "/other/secret", "/", "app/secret", "/ap/secret", "//app/secret"])
def test_router_pathname_outside_the_requests_prefix(pathname):
    app = prefixed_pages_app()
    for headers in ({}, ALICE):
        response = route(app, router_body(pathname), headers, url=PREFIXED_URL)
        assert_refused(response, 400)
        assert b"TOP SECRET" not in response.data


@pytest.mark.parametrize("pathname", ["/app/secret", "/app/secret/", "/appsecret", "/app//secret", "/app/./secret"])
def test_router_private_page_under_the_prefix(pathname):
    app = prefixed_pages_app()
    response = route(app, router_body(pathname), url=PREFIXED_URL)
    assert_refused(response, 401)
    assert b"TOP SECRET" not in response.data


def test_router_public_page_under_the_prefix():
    app = prefixed_pages_app()
    for pathname in ("/app/", "/app"):
        response = route(app, router_body(pathname), url=PREFIXED_URL)
        assert response.status_code == 200, response.data
        assert b"HOME PAGE" in response.data


def test_private_page_content_is_in_no_anonymous_response():
    app = pages_app()
    c = client(app)
    responses = [c.get(path) for path in ("/", "/secret", "/secret/", "/_dash-layout", "/_dash-dependencies",
                                           "/_dash-config", "/_reload-hash")]
    responses += [c.post(URL, json=router_body(p)) for p in ["/", "/secret", *PATH_VARIANTS]]
    for response in responses:
        assert response.status_code != 500
        assert b"TOP SECRET" not in response.data


# -- fuzzing ---------------------------------------------------------------

_ODD_VALUES = [
    None, True, False, 0, -1, 1.5, 10**30, "", "x", "out.children", PUBLIC, PRIVATE, MULTI, MATCH_ID, ROUTER,
    "x" * 5000, [], {}, [None], [{}], [[]], [1, "a"], {"id": "out"}, {"id": "out", "property": "children"},
    {"id": {"type": "card", "index": 1}, "property": "children"}, [{"id": "secret-in", "property": "value"}],
    "\x00", "\ud800", "/secret", "//secret",
]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths(sub, (*prefix, index))


def _get(value, path):
    for step in path:
        value = value[step]
    return value


def mutate_body(body, rng):
    """One to three random structural changes to a copy of ``body``."""
    body = copy.deepcopy(body)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(body) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent = _get(body, path[:-1])
        key = path[-1]
        action = rng.randrange(6)
        if action == 0:  # delete
            del parent[key]
        elif action == 1:  # replace with an odd value
            parent[key] = copy.deepcopy(rng.choice(_ODD_VALUES))
        elif action == 2 and isinstance(parent, list):  # duplicate
            parent.insert(key, copy.deepcopy(parent[key]))
        elif action == 3 and isinstance(parent[key], list):  # shuffle
            rng.shuffle(parent[key])
        elif action == 4:  # wrap in a list
            parent[key] = [parent[key]]
        else:  # add a stray key
            if isinstance(parent, dict):
                parent[rng.choice(["value", "id", "property", "extra", "outputs", "state"])] = copy.deepcopy(
                    rng.choice(_ODD_VALUES)
                )
    return body


def _fuzz(app, bodies, rng, count, headers=None):
    failures = []
    for i in range(count):
        body = mutate_body(rng.choice(bodies), rng)
        if rng.random() < 0.1:  # sometimes the bytes, not the structure
            data = bytearray(json.dumps(body).encode())
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            response = post_raw(app, bytes(data), headers=headers)
        else:
            response = post_json(app, body, headers)
        if response.status_code >= 500:
            failures.append((i, response.status_code, json.dumps(body)[:300]))
    return failures


def test_fuzz_protected_bodies_anonymously():
    """Protected ids (and unknown ones) never run and never crash without credentials."""
    app, ran = make_app(max_body_size=64 * 1024)
    bodies = [b for k, b in valid_bodies(app).items() if k != PUBLIC]
    rng = random.Random(20240611)
    failures = []
    for i in range(400):
        body = mutate_body(rng.choice(bodies), rng)
        if isinstance(body, dict) and body.get("output") == PUBLIC:
            body["output"] = PRIVATE
        response = post_json(app, body)
        if response.status_code >= 500 or response.status_code == 200:
            failures.append((i, response.status_code, json.dumps(body)[:300]))
    assert failures == []
    assert protected_runs(ran) == []


def test_fuzz_public_callback_and_router_anonymously():
    """What anyone can reach (the public callback, the Pages router) never answers 500."""
    app, ran = make_app(max_body_size=64 * 1024)
    rng = random.Random(7)
    failures = _fuzz(app, [valid_bodies(app)[PUBLIC], valid_bodies(app)[PRIVATE]], rng, 250)
    assert protected_runs(ran) == []

    pages = pages_app()
    failures += [("pages", *f) for f in _fuzz(pages, [router_body("/"), router_body("/secret")], rng, 250)]
    assert failures == [], f"{len(failures)} responses were 5xx, e.g. {failures[:3]}"


def test_fuzz_with_credentials_never_500():
    """A signed-in user's malformed bodies are refused by the guard, not crashed on by Dash."""
    app, ran = make_app(max_body_size=64 * 1024)
    rng = random.Random(99)
    failures = _fuzz(app, list(valid_bodies(app).values()), rng, 300, headers=ALICE)
    assert failures == [], f"{len(failures)} responses were 5xx, e.g. {failures[:3]}"


# -- paths that only look like Dash's files, and control characters -------------------


def _pages_app(assets_folder: str | None = None):
    """No public route; a private template page whose title function records each call."""
    titles: list = []
    kwargs = {"assets_folder": assets_folder} if assets_folder else {}
    app = make_dash(__name__, use_pages=True, pages_folder="", **kwargs)
    dash.register_page("home", path="/", layout=html.Div("home"))

    def title(slug=None):
        titles.append(slug)
        return f"Confidential {slug}"

    dash.register_page("project", path_template="/<slug>", layout=html.Div("secret layout"), title=title)
    app.layout = html.Div([dash.page_container, html.Div(id="private-widget")])
    BasicAuth(app, USERS, secret_key=SECRET)
    return app, titles


@pytest.mark.parametrize("path", [
    "/_dash-component-suites/codename-x",
    "/_dash-component-suites/codename-x/",
    "/_dash-component-suites/dash/no/such.js",
    "/_dash-component-suites/not_a_package/x.js",
])
def test_a_path_under_the_component_suites_that_dash_does_not_serve_is_a_404(backend, path):
    """Before: skipped authentication, then Dash's catch-all rendered the index (a private page's title)."""
    app, titles = _pages_app()
    client = client_for(app, use_cookies=False)
    assert client.get("/").status_code == 401
    response = client.get(path)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "_dash-config" not in body and "Confidential" not in body and "private-widget" not in body
    assert titles == []


def test_dash_s_own_component_files_stay_public(backend):
    app, _titles = _pages_app()
    signed_in = client_for(app, use_cookies=False)
    index = signed_in.get("/", headers=ALICE).get_data(as_text=True)  # Dash registers its files as it renders
    scripts = [src for src in re.findall(r'src="([^"]+)"', index) if "_dash-component-suites" in src]
    assert scripts
    anonymous = client_for(app, use_cookies=False)
    for src in scripts:
        assert anonymous.get(src.split("?")[0]).status_code == 200, src


def test_an_assets_path_that_dash_s_index_answers_is_judged_as_a_page(backend, tmp_path):
    """FastAPI has no assets route without an assets folder: its catch-all answered /assets/favicon.ico."""
    app, titles = _pages_app(assets_folder=str(tmp_path / "none"))
    client = client_for(app, use_cookies=False)
    response = client.get("/assets/favicon.ico")
    assert response.status_code in (401, 404)
    assert "Confidential" not in response.get_data(as_text=True) and titles == []


@pytest.mark.parametrize("pathname", ["/team/a\nb/report", "/a\rb", "/x\x00y", "/tab\there"])
def test_a_pathname_with_control_characters_is_a_400(backend, pathname):
    """Dash's template matching raised IndexError on a newline: a 500 for anyone."""
    app, titles = _pages_app()
    client = client_for(app, use_cookies=False)
    for headers in ({}, ALICE):
        response = client.post(URL, json=router_body(pathname), headers=headers)
        assert response.status_code == 400 and "control characters" in response.get_json()["message"]
    # A page URL, percent-encoded: refused (400), or no route matches it (404).
    assert client.get("/team/a%0Ab/report", headers=ALICE).status_code in (400, 404)
    assert titles == []


def test_every_backend_reads_a_callback_body_the_way_flask_does(backend):
    """A UTF-8 BOM, or UTF-16: Flask parses it; Quart and FastAPI answered 400."""
    app, ran = make_app()
    body = json.dumps(callback_body(app, PUBLIC, [1]))
    client = client_for(app, use_cookies=False)
    for raw in (b"\xef\xbb\xbf" + body.encode(), body.encode("utf-16")):
        response = client.post(URL, data=raw, content_type="application/json")
        assert response.status_code == 200, response.get_data(as_text=True)
    assert [r for r in ran if r[0] == "public"] == [("public", 1), ("public", 1)]


def test_a_login_form_posted_with_an_upper_case_content_type_works_on_every_backend(backend):
    app = make_dash(__name__)
    app.layout = html.Div("home")
    BasicAuth(app, USERS, secret_key=SECRET, login_form=True)
    client = client_for(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data=f"csrf_token={token}&username=alice&password=wonderland".encode(),
                           content_type="APPLICATION/X-WWW-FORM-URLENCODED")
    assert response.status_code == 303


def test_a_public_route_does_not_publish_a_template_page_whose_variable_it_fills_with_several_segments(backend):
    """Dash renders ``/<slug>`` for ``/api/public`` too: a public route written for a server route
    published the private page there (its layout to the routing callback, its title to the index)."""
    app = make_dash(__name__, use_pages=True, pages_folder="")
    dash.register_page("home", path="/", layout=html.Div("home"))
    dash.register_page("wiki", path_template="/<slug>", title=lambda slug=None: f"Internal wiki: {slug}",
                       layout=lambda slug=None, **_: html.Div(f"INTERNAL WIKI {slug}"))
    app.layout = html.Div([dash.page_container])
    BasicAuth(app, USERS, public_routes=["/", "/api/public", "/handbook"], secret_key=SECRET)
    client = client_for(app, use_cookies=False)
    client.get("/")
    refused = client.post(URL, json=router_body("/api/public"))
    assert refused.status_code == 401 and b"INTERNAL WIKI" not in refused.data
    page = client.get("/api/public")
    assert page.status_code == 401 and b"Internal wiki" not in page.data
    # One instance of the template page, named by a route of the same shape, stays publishable.
    served = client.post(URL, json=router_body("/handbook"))
    assert served.status_code == 200 and b"INTERNAL WIKI handbook" in served.data
    assert client.post(URL, json=router_body("/salaries")).status_code == 401
    assert client.get("/_dash-layout").status_code == 200  # the shell, for the public pages


def test_a_public_server_route_that_a_catch_all_page_also_matches_keeps_the_shell_private(backend):
    from dash_auth_core.testing import server_route

    app = make_dash(__name__, use_pages=True, pages_folder="")
    dash.register_page("home", path="/", layout=html.Div("home"))
    dash.register_page("wiki", path_template="/<slug>", layout=lambda slug=None, **_: html.Div(f"wiki {slug}"))
    app.layout = html.Div([html.Nav("INTERNAL NAV: /payroll"), dash.page_container])

    @server_route(app, "/healthz")
    def healthz():
        return "ok"

    BasicAuth(app, USERS, secret_key=SECRET, public_routes=["/healthz"])
    client = client_for(app)
    assert client.get("/healthz").status_code == 200
    response = client.get("/_dash-layout")
    assert response.status_code == 401 and b"INTERNAL NAV" not in response.data
