"""Helpers shared by the test folders (importable because ``tests`` is on ``pythonpath``).

The test kit users get, :mod:`dash_auth_core.testing`, does most of the work:
clients for every backend, callback bodies, the backend matrix. What is left
here is this suite's own: its secret and loading scripts outside the packages.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SECRET = "test-secret-key-0123456789abcdef"


def load_script(path: Path, name: str) -> ModuleType:
    """Import a script outside the packages (a benchmark) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
