"""The old PlotlyAuth gist's user-data example (examples/seed_plotlyauth_user_data.py), on each backend.

The gist: ``_give_name`` shows ``auth.get_username()``; the sign-in hook
stores ``{'click_button': True}`` with ``auth.set_user_data`` for active
users; ``_check_perms`` answers 'authorized' or 'unauthorized' from
``auth.get_user_data()``.
"""

from __future__ import annotations

import json

from seed_examples import load_example

from dash_auth_core.testing import basic_header, callback_body, client_for


def output(client, app, component, value, headers):
    response = client.post("/_dash-update-component", json=callback_body(app, f"{component}.children", [value]),
                           headers=headers)
    assert response.status_code == 200, (response.status_code, response.data[:300])
    return json.loads(response.data)["response"][component]["children"]


def test_user_data_example():
    app = load_example("seed_plotlyauth_user_data.py")["app"]
    for user, password, verdict in (("alice", "alice-password", "authorized"), ("bob", "bob-password", "unauthorized")):
        client = client_for(app)
        headers = basic_header(user, password)
        assert client.get("/", headers=headers).status_code == 200  # signs in: the hook runs once
        assert output(client, app, "content", "content", headers) == user
        assert output(client, app, "authorized", 1, headers) == verdict
        assert output(client, app, "authorized", 2, {}) == verdict  # the session alone, data kept
    assert client_for(app).post("/_dash-update-component",
                                json=callback_body(app, "authorized.children", [1])).status_code == 401
