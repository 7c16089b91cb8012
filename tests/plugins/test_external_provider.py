"""A third party's provider package, built and installed from its own pyproject.toml, joins real apps.

The package is written here into a temporary folder against the public API
only: an ``X-Key`` provider with per-app keys from ``plugin_config``, its own
JSON 401, and a ``dash_auth`` entry point. It is installed (with its entry
point) into a folder of its own, and its own tests, written with
``dash_auth_core.testing``, run in a fresh pytest process on Flask, Quart and
FastAPI beside ``BasicAuth`` and ``OIDCAuth``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = """
[build-system]
requires = ["hatchling>=1.26"]
build-backend = "hatchling.build"

[project]
name = "dash-auth-xkey"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["dash-auth-core"]

[project.entry-points.dash_auth]
xkey = "dash_auth_xkey:plugin"

[tool.hatch.build.targets.wheel]
packages = ["src/dash_auth_xkey"]
"""

PROVIDER = '''
"""X-Key: API keys for scripts, configured per app."""

import hashlib
import hmac
from typing import Any

from dash_auth_core import (
    REJECT, AuthResult, AuthStack, ConfigurationError, Identity, Request, Resource, Response, hookimpl, json_error,
)


class XKey:
    name = "xkey"

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        keys = auth.plugin_config(self).get("keys")
        if not isinstance(keys, dict) or not keys:
            raise ConfigurationError("plugin_config['xkey']['keys'] must map keys to owners")
        auth.plugin_state["xkey"] = {hashlib.sha256(k.encode()).digest(): v for k, v in keys.items()}

    @hookimpl
    def authenticate(self, request: Request) -> AuthResult:
        key = request.header("X-Key")
        if key is None:
            return None
        digest = hashlib.sha256(key.encode()).digest()
        for known, owner in request.auth.plugin_state["xkey"].items():
            if hmac.compare_digest(known, digest):
                return Identity(id=owner, provider="xkey")
        return REJECT

    @hookimpl
    def challenge(self, request: Request, resource: Resource, reason: str, refused_by: Any) -> Response | None:
        return json_error(401, "invalid_key", "X-Key refused") if refused_by is self else None


plugin = XKey()
'''

TESTS = '''
import json

from dash import Input, Output, html

from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack
from dash_auth_core.testing import basic_header, callback_body
from dash_auth_oidc import OIDCAuth

SECRET = "external-secret-0123456789abcdef"
ALICE = basic_header("alice", "a-long-password")


def build(dash_auth_app, keys, name="app_one"):
    app = dash_auth_app(name, layout=html.Div([html.Button(id="b"), html.Div(id="o")]))

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def show(n):
        return "ran"

    BasicAuth(app, {"alice": "a-long-password"}, secret_key=SECRET, plugin_config={"xkey": {"keys": keys}})
    oidc = OIDCAuth(app)
    oidc.register_provider("idp", client_id="app", client_secret="s" * 32, lazy=True,
                           server_metadata_url="http://127.0.0.1:9/.well-known/openid-configuration")
    return app


def call(client, app, headers):
    return client.post("/_dash-update-component", json=callback_body(app, "o.children"), headers=headers)


def test_joins_through_its_entry_point(dash_auth_app, dash_auth_backend):
    app = build(dash_auth_app, {"right-key-0123456789": "robot"})
    stack = AuthStack.of(app)
    assert stack.get_plugin("xkey") is not None
    assert app.backend.server_type == dash_auth_backend


def test_right_key_in_wrong_key_out_whatever_rides_along(dash_auth_app, dash_auth_client):
    app = build(dash_auth_app, {"right-key-0123456789": "robot"})
    client = dash_auth_client(app)
    response = call(client, app, {"X-Key": "right-key-0123456789"})
    assert response.status_code == 200 and json.loads(response.data)["response"]["o"]["children"] == "ran"
    for extra in ({}, ALICE):
        refused = call(dash_auth_client(app), app, {"X-Key": "wrong", **extra})
        assert refused.status_code == 401
        assert json.loads(refused.data)["error"] == "invalid_key"  # its own JSON 401
    # A browser signed in with Basic keeps its session, and a wrong key beside it is still refused.
    # (Its header is checked afresh: one verified before serves a new client without a session.)
    AuthStack.of(app).get_plugin("dash_auth_basic").forget()
    browser = dash_auth_client(app)
    assert browser.get("/", headers=ALICE).status_code == 200
    assert browser.get("/").status_code == 200
    assert browser.get("/", headers={"X-Key": "wrong"}).status_code == 401
    # Without any credentials, a page goes to the OpenID provider's sign-in.
    anonymous = dash_auth_client(app).get("/")
    assert anonymous.status_code == 302 and "/oidc/idp/login" in anonymous.headers["Location"]


def test_settings_are_per_app(dash_auth_app, dash_auth_client):
    one = build(dash_auth_app, {"first-app-key-01234567": "one-bot"}, "app_one")
    two = build(dash_auth_app, {"second-app-key-0123456": "two-bot"}, "app_two")
    assert call(dash_auth_client(one), one, {"X-Key": "first-app-key-01234567"}).status_code == 200
    assert call(dash_auth_client(two), two, {"X-Key": "first-app-key-01234567"}).status_code == 401
    assert call(dash_auth_client(two), two, {"X-Key": "second-app-key-0123456"}).status_code == 200
'''


def _install(package: Path, target: Path) -> None:
    uv = shutil.which("uv")
    if uv is not None:
        command = [uv, "pip", "install", "--python", sys.executable, "--no-deps", "--target", str(target), str(package)]
    else:
        command = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(package)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.timeout(600)
def test_an_external_provider_package_joins_basic_and_oidc_on_every_backend(tmp_path):
    package = tmp_path / "dash-auth-xkey"
    (package / "src" / "dash_auth_xkey").mkdir(parents=True)
    (package / "tests").mkdir()
    (package / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (package / "src" / "dash_auth_xkey" / "__init__.py").write_text(textwrap.dedent(PROVIDER))
    (package / "tests" / "test_xkey.py").write_text(textwrap.dedent(TESTS))
    (package / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    site = tmp_path / "site"
    _install(package, site)
    assert list(site.glob("dash_auth_xkey-*.dist-info/entry_points.txt"))

    env = {k: v for k, v in os.environ.items() if not k.startswith("DASH_AUTH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["DASH_AUTH_PLUGINS"] = "dash_auth_xkey"  # by its distribution's name, as pip spells it or not
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", str(package / "tests")],
        cwd=package, env=env, capture_output=True, text=True, timeout=500,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "9 passed" in output, output  # three tests, three backends, nothing skipped
