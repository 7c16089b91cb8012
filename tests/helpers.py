"""Helpers shared by the test folders (importable because ``tests`` is on ``pythonpath``)."""

from __future__ import annotations

import base64

import dash

SECRET = "test-secret-key-0123456789abcdef"


def basic(user: str, password: str, encoding: str = "utf-8") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode(encoding)).decode()
    return {"Authorization": f"Basic {token}"}


def callback_body(app: dash.Dash, output: str, values: list | None = None, state: list | None = None) -> dict:
    """A well-formed ``_dash-update-component`` body for the callback ``output``."""
    app._setup_server()
    entry = app.callback_map[output]
    values = values if values is not None else [None] * len(entry["inputs"])
    inputs = [dict(spec, value=v) for spec, v in zip(entry["inputs"], values, strict=True)]
    states = [dict(spec, value=v) for spec, v in zip(entry["state"], state or [None] * len(entry["state"]), strict=True)]
    raw = entry["output"]
    if isinstance(raw, (list, tuple)):
        outputs = [{"id": o.component_id, "property": o.component_property} for o in raw]
    else:
        outputs = {"id": raw.component_id, "property": raw.component_property}
    return {
        "output": output,
        "outputs": outputs,
        "inputs": inputs,
        "state": states,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs and isinstance(inputs[0]["id"], str) else [],
    }


def router_body(pathname: str, search: str = "") -> dict:
    """The body Dash Pages' routing callback receives for ``pathname``."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
        "state": [],
        "changedPropIds": ["_pages_location.pathname"],
    }
