"""A complete third-party provider plugin: API keys for scripts.

Scripts send ``X-API-Key: <key>``; browsers keep using whatever other
provider the app has (Basic here). The plugin shows every part of the
contract: ``authenticate`` returns an Identity or ``None`` ("not mine"),
``authorize`` denies API-key identities anything but callbacks and plain
routes, and ``setup`` adds a route. Run it::

    python examples/api_key_plugin.py
    curl -H 'X-API-Key: demo-key-for-scripts' http://127.0.0.1:8050/api/whoami

To ship it as a package that joins every app's chain when installed, declare
the entry point in its ``pyproject.toml``::

    [project.entry-points.dash_auth]
    api_key = "my_package.api_key_plugin:plugin"
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from dash_auth_core import AuthStack, Identity, Kind, Request, Resource, Response, hookimpl

HEADER = "X-API-Key"


class ApiKeyProvider:
    """Authenticates requests that carry a known API key."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        # Store only digests: a leaked memory dump or log line shows no key.
        self._digests = {hashlib.sha256(key.encode()).digest(): owner for key, owner in keys.items()}

    @hookimpl
    def authenticate(self, request: Request) -> Identity | None:
        key = request.headers.get(HEADER)
        if not key:
            return None  # not ours: let the next provider try
        digest = hashlib.sha256(key.encode()).digest()
        for known, owner in self._digests.items():
            if hmac.compare_digest(known, digest):
                return Identity(id=owner, name=owner, provider="api_key")
        return None

    @hookimpl
    def authorize(self, identity: Identity | None, resource: Resource) -> bool | None:
        if identity is not None and identity.provider == "api_key":
            # Keys are for scripts: callbacks and API routes, never pages.
            return resource.kind in (Kind.CALLBACK, Kind.ROUTE, Kind.PLUGIN_ROUTE)
        return None  # abstain for everyone else

    @hookimpl
    def setup(self, app, auth: AuthStack) -> None:
        def whoami(request: Request) -> Response:
            user = auth.authenticate(request)
            return Response(200, user.id if user else "anonymous")

        auth.add_route("/api/whoami", whoami, public=False, endpoint="api_key_whoami")


#: What the ``dash_auth`` entry point of a packaged plugin would point at.
plugin = ApiKeyProvider({os.environ.get("DEMO_API_KEY", "demo-key-for-scripts"): "build-bot"})


if __name__ == "__main__":
    from dash import Dash, html

    from dash_auth_basic import BasicAuth

    app = Dash(__name__)
    app.layout = html.Div("Only for signed-in people and build-bot")
    BasicAuth(app, {"demo": "demo-password"}, secret_key=os.environ.get("SECRET_KEY", "demo-secret-key-change-me"))
    AuthStack.of(app).register(plugin)
    app.run(host="127.0.0.1", port=8050)
