"""examples/oidc_demo.py works against a real provider."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

from oidc_support import session_of, sign_in

from dash_auth_core.testing import callback_body

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def load_demo():
    spec = importlib.util.spec_from_file_location("oidc_demo_example", EXAMPLES / "oidc_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_demo_app_signs_in_and_serves_the_private_page(idp):
    demo = load_demo()
    app = demo.create_app(idp.metadata_url, "dash-demo", "dash-demo-secret", "demo-test-secret-0123456789")
    client = app.server.test_client()
    assert client.get("/").status_code == 200  # public home page
    assert client.get("/reports").status_code == 302
    dance = sign_in(client, "/reports")
    assert dance.response.headers["Location"] == "/reports"
    assert session_of(app, client)["user"]["groups"] == ["staff", "readers", "reporting"]
    body = callback_body(app, "private-out.children")
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200 and "alice via oidc:idp" in answer.get_data(as_text=True)
    assert app.server.test_client().post("/_dash-update-component", json=body).status_code == 401
