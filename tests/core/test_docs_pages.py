"""The examples of docs/pages.md run: every Python block builds its app, and the template
example replaces the page it names."""

from __future__ import annotations

import pathlib
import re

import pytest

from dash_auth_core.testing import basic_header, client_for

DOC = pathlib.Path(__file__).parents[2] / "docs" / "pages.md"
TEXT = DOC.read_text()
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
JINJA = re.findall(r"```jinja\n(.*?)```", TEXT, flags=re.S)

pytestmark = pytest.mark.backends("flask", reason="the examples create Flask apps")


@pytest.mark.parametrize("source", PYTHON, ids=[f"block{i}" for i in range(len(PYTHON))])
def test_python_examples_run(source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the override example creates its folder here
    namespace: dict = {"__name__": "docs_pages_example"}
    exec(compile(source, str(DOC), "exec"), namespace)
    app = namespace.get("app")
    if app is not None:
        assert client_for(app).get("/_dash-auth/session").status_code == 200


def test_template_example_replaces_the_page(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "auth_templates").mkdir()
    (tmp_path / "auth_templates" / "logout_confirm.html").write_text(JINJA[0])
    namespace: dict = {"__name__": "docs_pages_example"}
    override = next(block for block in PYTHON if "templates_folder" in block)
    exec(compile(override, str(DOC), "exec"), namespace)
    client = client_for(namespace["app"])
    assert client.get("/", headers=basic_header("alice", "a-long-password")).status_code == 200
    page = client.get("/logout").get_data(as_text=True)
    assert "See you soon, alice." in page and 'name="csrf_token"' in page


def test_every_screenshot_the_doc_shows_exists():
    shown = re.findall(r"\]\((screenshots/[^)]+)\)", TEXT)
    assert len(shown) >= 27
    missing = [name for name in shown if not (DOC.parent / name).is_file()]
    assert not missing
