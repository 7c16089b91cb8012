"""Every session test runs on Flask, Quart and FastAPI (the ``backend`` fixture)."""

import pytest


@pytest.fixture(autouse=True)
def _every_backend(backend):
    return backend
