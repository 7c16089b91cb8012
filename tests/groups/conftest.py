"""Every test here runs on each Dash backend (see tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _on_every_backend(backend):
    yield backend
    from dash_auth_groups import protect

    protect._pending_protect_layouts.clear()  # a protect_layouts() no app took up
