"""The Python blocks of docs/deployment.md run: the app module, the key rotation, and the example store
(which then passes the session tests' basic flows)."""

from __future__ import annotations

import pathlib
import re

import pytest
from session_support import call, form_app, new_client, session_cookie, sign_in

from dash_auth_core.testing import sign_out

DOC = pathlib.Path(__file__).parents[2] / "docs" / "deployment.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def block(marker: str) -> str:
    found = [b for b in BLOCKS if marker in b]
    assert len(found) == 1, marker
    return found[0]


@pytest.mark.backends("flask", reason="the blocks build Flask apps")
def test_the_app_module_block_runs_with_a_store(redis_url, monkeypatch):
    from werkzeug.security import generate_password_hash

    monkeypatch.setenv("ALICE_PASSWORD_HASH", generate_password_hash("a-long-password"))
    monkeypatch.setenv("DASH_SECRET_KEY", "deployment-doc-secret-0123456789")
    monkeypatch.setenv("DASH_SESSION_STORE", redis_url)
    namespace: dict = {"__name__": "deployment_doc"}
    exec(compile(block("server = app.server"), str(DOC), "exec"), namespace)
    from dash_auth_core import AuthStack

    stack = AuthStack.get(namespace["app"])
    assert stack.session_store is not None and stack.shared_state.shared


@pytest.mark.backends("flask", reason="SECRET_KEY_FALLBACKS is Flask's (and Quart's) setting")
def test_the_key_rotation_block_reads_cookies_signed_with_the_old_key():
    from dash_auth_core.testing import basic_header

    source = block("SECRET_KEY_FALLBACKS")
    old: dict = {"__name__": "old_app"}
    exec(compile(source.replace("secret_key=new_key", "secret_key=old_key")
                 .replace('app.server.config["SECRET_KEY_FALLBACKS"] = [old_key]', ""), str(DOC), "exec"), old)
    client = old["app"].server.test_client()
    assert client.get("/", headers=basic_header("alice", "a-long-password")).status_code == 200
    cookie = client.get_cookie("session").value
    new: dict = {"__name__": "new_app"}
    exec(compile(source, str(DOC), "exec"), new)
    fresh = new["app"].server.test_client()
    fresh.set_cookie("session", cookie)
    with fresh.session_transaction() as session:
        assert session["user"]["id"] == "alice"  # read with the fallback


def test_the_example_store_holds_sessions(backend):
    namespace: dict = {"__name__": "deployment_doc_store"}
    exec(compile(block("class MemoryStore"), str(DOC), "exec"), namespace)
    app, _ = form_app(session_store=namespace["MemoryStore"]())
    client = new_client(app)
    client.get("/login")
    before = session_cookie(client)
    sign_in(client)
    assert session_cookie(client) != before
    assert call(client, app).status_code == 200
    sign_out(client)
    assert call(client, app).status_code == 401


def test_the_readme_store_snippet_runs(backend, redis_url):
    readme = (DOC.parents[1] / "README.md").read_text()
    snippets = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "session_store=" in b]
    assert len(snippets) == 1
    from dash import html

    from dash_auth_basic import BasicAuth
    from dash_auth_core import AuthStack
    from dash_auth_core.testing import make_dash

    app = make_dash(__name__)
    app.layout = html.Div("x")
    namespace = {"BasicAuth": BasicAuth, "app": app, "USERS": {"alice": "a-long-password"},
                 "KEY": "readme-secret-0123456789abcdef"}
    exec(compile(snippets[0].replace("redis://127.0.0.1:6379/0", redis_url), "README.md", "exec"), namespace)
    assert AuthStack.get(app).session_store is not None
