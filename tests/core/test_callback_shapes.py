"""The callback body check's fast path agrees with the full check, and the raw cookie test.

``CallbackInfo.check_body`` first tries a C-level comparison for callbacks
whose dependencies all have plain string ids, and falls back to the full
per-item check (which also words the error). The two must accept exactly
the same bodies: a body the fast path lets through and the full check
refuses would reach Dash with a shape it answers with a 500.
"""

from __future__ import annotations

import copy
import json
import random

import pytest
from dash import ALL, MATCH, Input, Output, State, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core.backends import cookie_header_has
from dash_auth_core.callbacks import CallbackInfo, describe_callbacks
from dash_auth_core.errors import BadRequest
from dash_auth_core.testing import make_dash

pytestmark = pytest.mark.backends("flask", reason="pure functions over the callback registry")


def registry() -> dict[str, CallbackInfo]:
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o"), html.Div(id="p"), html.Div(id="q")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"), State("o", "title"))
    def single(n, title):
        return n

    @app.callback(Output("p", "children"), Output("q", "children"), Input("b", "n_clicks"))
    def multi(n):
        return n, n

    @app.callback(Output({"k": MATCH}, "children"), Input({"k": MATCH}, "n_clicks"), State({"k": ALL}, "id"))
    def pattern(n, ids):
        return n

    @app.callback(Input("b", "n_clicks"), Input("o", "title"), State("p", "title"), State("q", "title"))
    def no_output(n, title, p, q):
        return None

    @app.callback(Output("o", "title"), Output("p", "title"), Input("b", "n_clicks"), Input("q", "title"),
                  State("b", "title"))
    def multi_with_state(n, title, state):
        return n, n

    BasicAuth(app, {"u": "p"}, secret_key=SECRET)
    app._setup_server()
    return describe_callbacks(app)


def valid_bodies(infos: dict[str, CallbackInfo]) -> list[tuple[CallbackInfo, dict]]:
    out = []
    for info in infos.values():
        def item(dep, value=1):
            if dep.keys is None:
                return {"id": dep.id, "property": dep.property, "value": value}
            ident = {k: ("x" if v is not None and not isinstance(v, str) else v) for k, v in dep.keys.items()}
            one = {"id": ident, "property": dep.property, "value": value}
            return [one] if dep.many else one

        outputs = [{"id": d.id, "property": d.property} if d.keys is None else
                   {"id": {k: "x" for k in d.keys}, "property": d.property} for d in info.outputs]
        body = {
            "output": info.id,
            "outputs": outputs if info.multi_output else outputs[0],
            "inputs": [item(d) for d in info.inputs],
            "state": [item(d) for d in info.state],
            "changedPropIds": ["b.n_clicks"],
        }
        out.append((info, body))
    return out


def full_check_accepts(info: CallbackInfo, body: dict) -> bool:
    try:
        info._check_items(body)  # the per-item check alone, without the fast path
    except BadRequest:
        return False
    return True


def check_accepts(info: CallbackInfo, body: dict) -> bool:
    try:
        info.check_body(body)
    except BadRequest:
        return False
    return True


ODD_VALUES = [None, 0, 1, True, "", "o", "children", [], {}, [1], ["o"], {"id": "o"}, 1.5, "b.n_clicks"]


def mutations(body: dict, rng: random.Random) -> dict:
    """``body`` with one or two random changes somewhere in its structure."""
    body = copy.deepcopy(body)
    lists = ["inputs", "state", "outputs"]
    for _ in range(rng.randint(1, 2)):
        key = rng.choice([*lists, "changedPropIds"])
        value = body.get(key)
        choice = rng.random()
        if choice < 0.05:
            body.pop(key, None)
        elif choice < 0.2 and key in lists:
            # An item moved to the next or previous list: the same items in body order.
            other = lists[(lists.index(key) + rng.choice([-1, 1])) % 3]
            source, target = body.get(key), body.get(other)
            if isinstance(source, list) and source and isinstance(target, list):
                if lists.index(other) > lists.index(key):
                    target.insert(0, source.pop())
                else:
                    target.append(source.pop(0))
        elif choice < 0.3 or not isinstance(value, (list, dict)):
            body[key] = rng.choice(ODD_VALUES)
        elif isinstance(value, list) and value and choice < 0.5:
            index = rng.randrange(len(value))
            target = value[index]
            if isinstance(target, dict) and rng.random() < 0.7:
                field = rng.choice(["id", "property", "value"])
                target[field] = rng.choice(ODD_VALUES)
            else:
                value[index] = rng.choice(ODD_VALUES)
        elif isinstance(value, list):
            if value and rng.random() < 0.5:
                value.pop()
            else:
                value.append(copy.deepcopy(value[0]) if value else rng.choice(ODD_VALUES))
        else:
            field = rng.choice(["id", "property"])
            value[field] = rng.choice(ODD_VALUES)
    return body


def test_plain_callbacks_take_the_fast_path_and_pattern_ones_do_not():
    infos = registry()
    kinds = {info.id: info._plain is not None for info in infos.values()}
    assert sum(kinds.values()) == 4  # single, multi, no output, multi with state
    assert any(not plain for plain in kinds.values())  # the pattern-matching one


def test_valid_bodies_pass():
    for info, body in valid_bodies(registry()):
        assert check_accepts(info, body), info.id
        assert full_check_accepts(info, body), info.id


def test_fast_path_and_full_check_agree_on_mutated_bodies():
    rng = random.Random(20261123)
    infos = registry()
    checked = refused = 0
    for info, body in valid_bodies(infos):
        for _ in range(1500):
            bad = mutations(body, rng)
            expected = full_check_accepts(info, bad)
            assert check_accepts(info, bad) == expected, (info.id, json.dumps(bad, default=str))
            checked += 1
            refused += not expected
    assert refused > checked // 2  # the mutations really produce bad bodies


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, False),
        ("", False),
        ("session=abc", True),
        ("a=1; session=abc", True),
        ("a=1;session=abc;b=2", True),
        ("a=1;   session=x", True),
        ("session=", False),
        ("session=; a=1", False),
        ("xsession=abc", False),
        ("a=session=abc", False),
        ("sessionx=abc", False),
        ("a=1; xsession=abc; session=", False),
        ("a=1; xsession=abc; session=ok", True),
        ("session=; session=ok", True),
        ("a=1;\tsession=ok", True),
        ("a=1 session=ok", False),
        ("a=1; session=", False),
        ("a=1; session=;b=2", False),
        ("a=1; session=; session=ok", True),
        ("a=1; session=x", True),
    ],
)
def test_cookie_header_has(raw, expected):
    assert cookie_header_has(raw, "session") is expected


def test_cookie_header_has_agrees_with_splitting_the_header():
    """Random headers built from the pieces that matter give the answer of a plain split."""
    rng = random.Random(7)
    pieces = ["session", "=", ";", " ", "\t", "x", "a=1", "; ", "xsession=", "session="]
    for _ in range(5000):
        raw = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 9)))
        expected = any(
            part.lstrip(" \t").startswith("session=") and len(part.lstrip(" \t")) > len("session=")
            for part in raw.split(";")
        )
        assert cookie_header_has(raw, "session") is expected, raw


def test_cookie_header_has_escapes_the_name():
    assert cookie_header_has("a.b=1", "a.b")
    assert not cookie_header_has("axb=1", "a.b")
