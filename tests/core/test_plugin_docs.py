"""Every code block of docs/plugins.md and docs/request.md runs, and does what the text says.

Blocks run as written, on the backend under test (``Dash`` defaults to it).
Blocks that define plugins get them registered on an app; blocks that define
``test_*`` functions have them called with the test kit's fixtures.
"""

from __future__ import annotations

import pathlib
import re
import runpy

import dash
import pytest
from dash import html

from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack, hookimpl
from dash_auth_core.testing import basic_header, client_for, current_backend, make_dash

DOCS = pathlib.Path(__file__).parents[2] / "docs"
EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def blocks(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), flags=re.S)


PLUGIN_BLOCKS = blocks("plugins.md")
REQUEST_BLOCKS = blocks("request.md")


class _DashOnBackend(dash.Dash):
    def __init__(self, *args, **kwargs):
        if "server" not in kwargs:
            kwargs.setdefault("backend", current_backend())
        super().__init__(*args, **kwargs)


@pytest.fixture
def run_block(monkeypatch):
    monkeypatch.setattr(dash, "Dash", _DashOnBackend)

    def run(source: str) -> dict:
        namespace: dict = {"__name__": "docs_example"}
        exec(compile(source, "docs", "exec"), namespace)
        return namespace

    return run


def test_the_plugin_guide_has_an_example_per_hook():
    text = "\n".join(PLUGIN_BLOCKS)
    for hook in ("authenticate", "authorize", "challenge", "on_login", "on_logout", "setup"):
        assert f"def {hook}(" in text, hook


@pytest.mark.parametrize("index", range(len(PLUGIN_BLOCKS)), ids=[f"block{i}" for i in range(len(PLUGIN_BLOCKS))])
def test_plugin_guide_block_runs(index, run_block):
    namespace = run_block(PLUGIN_BLOCKS[index])
    tests = [value for key, value in namespace.items() if key.startswith("test_") and callable(value)]
    for test in tests:
        def app_factory(*args, layout=None, **kwargs):
            app = make_dash(*(args or ("docs_test_app",)), **kwargs)
            if layout is not None:
                app.layout = layout
            return app

        test(app_factory, client_for)
    plugins = [v for v in namespace.values() if isinstance(v, type) and v.__module__ == "docs_example"
               and any(hasattr(getattr(v, n, None), "dash_auth_impl") for n in dir(v))]
    if not tests and "app" not in namespace:  # plugins the block does not set up itself
        app = make_dash("docs_check")
        app.layout = html.Div("x")
        stack = AuthStack.of(app, secret_key="doc-test-secret-0123456789")
        for cls in plugins:
            plugin = cls.__new__(cls)  # validation looks at the hook methods only
            stack.register(plugin)
            stack.unregister(plugin)


def test_joining_block_protects_and_lets_the_token_in(run_block):
    namespace = run_block(PLUGIN_BLOCKS[0])
    client = client_for(namespace["app"])
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"X-Token": "t0ken"}).status_code == 200


def test_authenticate_block_covers_its_four_outcomes(run_block):
    block = next(b for b in PLUGIN_BLOCKS if "class HeaderTokens" in b)
    provider = run_block(block)["HeaderTokens"]({"good": "robot"})
    app = make_dash("tokens")
    app.layout = html.Div("x")
    BasicAuth(app, {"alice": "a-long-password"}, secret_key="doc-test-secret-0123456789", plugins=[provider])
    client = client_for(app)
    assert client.get("/", headers={"X-Token": "good"}).status_code == 200
    assert client.get("/").status_code == 401
    refused = client.get("/", headers={"X-Token": "bad", **basic_header("alice", "a-long-password")})
    assert refused.status_code == 401  # REJECT wins over the valid Basic header
    provider.store_up = False
    down = client.get("/", headers={"X-Token": "good"})
    assert down.status_code == 503 and down.headers["Retry-After"] == "10"


def test_challenge_block_answers_its_own_refusals_and_redirects_browsers(run_block):
    block = next(b for b in PLUGIN_BLOCKS if "class LoginPage" in b)
    login_page = run_block(block)["LoginPage"]()

    class Rejects:
        @hookimpl
        def authenticate(self, request):
            from dash_auth_core import REJECT

            return REJECT if request.header("X-Token") else None

    app = make_dash("challenge")
    app.layout = html.Div("x")
    stack = AuthStack.of(app, secret_key="doc-test-secret-0123456789")

    # refused_by names the plugin that rejected: here one plugin object does both.
    class Both(Rejects):
        challenge = type(login_page).challenge

    both = Both()
    stack.register(both)
    client = client_for(app)
    assert client.get("/", headers={"X-Token": "x"}).get_json()["error"] == "invalid_token"
    browser = client.get("/page")
    assert browser.status_code == 302 and browser.headers["Location"] == "/login?next=/page"


def test_settings_block_serves_this_apps_greeting(run_block):
    block = next(b for b in PLUGIN_BLOCKS if "class Greeter" in b)
    namespace = run_block(block)
    assert client_for(namespace["app"]).get("/greeting").data == b"hello"


@pytest.mark.parametrize("index", range(len(REQUEST_BLOCKS)))
def test_request_reference_block_runs(index, run_block):
    run_block(REQUEST_BLOCKS[index])


def test_the_api_key_example_runs_as_a_script(monkeypatch):
    """``python examples/api_key_plugin.py`` builds the app it documents (the server is not started)."""
    served = {}
    monkeypatch.setattr(dash, "Dash", _DashOnBackend)
    monkeypatch.setattr(_DashOnBackend, "run", lambda self, **kwargs: served.update(app=self, **kwargs))
    monkeypatch.setenv("DEMO_API_KEY", "a-demo-key-for-this-test")
    runpy.run_path(str(EXAMPLES / "api_key_plugin.py"), run_name="__main__")
    app = served["app"]
    assert served["host"] == "127.0.0.1"
    client = client_for(app)
    assert client.get("/api/whoami", headers={"X-API-Key": "a-demo-key-for-this-test"}).data == b"build-bot"
    assert client.get("/api/whoami", headers={"X-API-Key": "demo-key-for-scripts-0001"}).status_code == 401
    assert client.get("/", headers=basic_header("demo", "demo-password")).status_code == 200
