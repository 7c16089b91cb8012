"""Shared fixtures: a clean Dash global state per test, and request helpers."""

from __future__ import annotations

import os
import warnings

import pytest
from dash import _callback, _pages

os.environ.setdefault("DASH_AUTH_DISABLE_PLUGINS", "1")

def _reset_dash_globals() -> None:
    _callback.GLOBAL_CALLBACK_LIST.clear()
    _callback.GLOBAL_CALLBACK_MAP.clear()
    _callback.GLOBAL_INLINE_SCRIPTS.clear()
    _pages.PAGE_REGISTRY.clear()


@pytest.fixture(autouse=True)
def clean_dash_globals():
    """Dash keeps callbacks and pages in module globals; isolate every test."""
    _reset_dash_globals()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="dash-auth generated a secret key", category=RuntimeWarning)
        yield
    _reset_dash_globals()


