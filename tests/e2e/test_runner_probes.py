"""Launchers that poll a guarded app to know it is up (no browser needed).

* Dash's ``ThreadedRunner`` (behind ``dash_duo`` / ``dash_thread_server``)
  waits until ``GET /`` answers at all; any status counts, so our 401 does
  not stop it from starting.
* In Jupyter, ``app.run()`` registers ``/_alive_<token>`` and polls it until
  it answers ``200 Alive``; anything else is shown in the notebook instead of
  the app.
"""

from __future__ import annotations

import pytest
import requests
from dash import Dash, html
from dash._jupyter import JupyterDash, jupyter_dash
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core.testing import basic_header

pytestmark = pytest.mark.timeout(60)

USERS = {"alice": "wonderland"}
CHALLENGE = 'Basic realm="Dash app", charset="UTF-8"'


def small_app() -> Dash:
    app = Dash(__name__)
    app.layout = html.Div("Protected dashboard", id="title")
    BasicAuth(app, USERS, secret_key=SECRET)
    return app


# Dash stops its server threads by raising SystemExit in them; pytest reports that as a warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_dash_thread_server_starts_a_guarded_app(dash_thread_server):
    dash_thread_server(small_app(), start_timeout=10)
    assert dash_thread_server.started
    anonymous = requests.get(dash_thread_server.url, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == CHALLENGE
    signed_in = requests.get(dash_thread_server.url, headers=basic_header("alice", "wonderland"), timeout=5)
    assert signed_in.status_code == 200
    assert "react-entry-point" in signed_in.text


def test_jupyter_alive_probe_answers_without_login(monkeypatch):
    """``app.run()`` in a notebook polls ``/_alive_<token>`` and needs ``200 Alive``.

    Dash registers that route only when it runs under Jupyter, so pretend it does.
    """
    monkeypatch.setattr(JupyterDash, "active", property(lambda _self: True))
    app = small_app()
    assert any(r.rule == f"/_alive_{jupyter_dash.alive_token}" for r in app.server.url_map.iter_rules())
    response = app.server.test_client().get(f"/_alive_{jupyter_dash.alive_token}")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "Alive")
