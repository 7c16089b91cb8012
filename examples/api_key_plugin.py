"""A complete third-party provider plugin: API keys for scripts.

Scripts send ``X-API-Key: <key>``; browsers keep using whatever other
provider the app has (Basic here). The plugin shows every part of the
contract:

* ``setup`` reads and checks this app's settings (``plugin_config``) and adds a route;
* ``authenticate`` returns an ``Identity`` for a known key, ``None`` when the
  request carries no key ("not mine"), and ``REJECT`` for a wrong one, so no
  other credential riding along (a Basic header, a session) lets it in;
* ``authorize`` keeps key holders to callbacks and API routes;
* ``challenge`` answers its own refusals with a JSON 401, not Basic's browser prompt.

Run it::

    python examples/api_key_plugin.py
    curl -H 'X-API-Key: demo-key-for-scripts-0001' http://127.0.0.1:8050/api/whoami

Packaged, it joins every app's chain through an entry point, and each app
gives it its own keys::

    [project.entry-points.dash_auth]
    api_key = "my_package.api_key_plugin:plugin"

    BasicAuth(app, USERS, secret_key=KEY,
              plugin_config={"api_key": {"keys": {"<a long random key>": "build-bot"}}})
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from typing import Any

from dash_auth_core import (
    REJECT,
    AuthResult,
    AuthStack,
    ConfigurationError,
    Identity,
    Kind,
    Request,
    Resource,
    Response,
    hookimpl,
)

HEADER = "X-API-Key"
MIN_KEY_LENGTH = 16
log = logging.getLogger("api_key_plugin")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class ApiKeyProvider:
    """Authenticates requests that carry one of the app's API keys."""

    #: The name it joins a chain under, unless an entry point or ``register(name=...)`` says otherwise.
    name = "api_key"

    @hookimpl
    def setup(self, app: Any, auth: AuthStack) -> None:
        name = auth.plugin_name(self) or self.name
        keys = auth.plugin_config(name).get("keys", {})
        if not isinstance(keys, dict) or not all(
            isinstance(k, str) and len(k) >= MIN_KEY_LENGTH and isinstance(v, str) and v for k, v in keys.items()
        ):
            raise ConfigurationError(
                f"plugin_config[{name!r}]['keys'] must map keys of at least {MIN_KEY_LENGTH} characters to owners"
            )
        if not keys:
            log.warning("no API keys configured for this app: every %s header is refused", HEADER)
        # Only digests are kept, per app: a memory dump or a log line shows no key.
        auth.plugin_state[name] = {_digest(key): owner for key, owner in keys.items()}

        def whoami(request: Request) -> Response:
            user = auth.authenticate(request)
            return Response(200, user.id if user else "anonymous")

        auth.add_route("/api/whoami", whoami, public=False, endpoint=f"{name}_whoami")

    @hookimpl
    def authenticate(self, request: Request) -> AuthResult:
        key = request.header(HEADER)
        if key is None:
            return None  # nothing of ours: let the next provider try
        digests = request.auth.plugin_state.get(request.auth.plugin_name(self), {})
        digest = _digest(key)
        for known, owner in digests.items():
            if hmac.compare_digest(known, digest):
                return Identity(id=owner, name=owner, provider="api_key")
        return REJECT  # ours, and wrong: nothing else may let this request in

    @hookimpl
    def authorize(self, identity: Identity | None, resource: Resource) -> bool | None:
        if identity is not None and identity.provider == "api_key":
            # Keys are for scripts: callbacks and API routes, never pages.
            return resource.kind in (Kind.CALLBACK, Kind.ROUTE, Kind.PLUGIN_ROUTE)
        return None  # abstain for everyone else

    @hookimpl
    def challenge(self, request: Request, resource: Resource, reason: str, refused_by: Any) -> Response | None:
        if refused_by is not self:
            return None  # someone else's refusal: their answer (or the core's)
        body = {"error": "invalid_api_key", "message": f"the {HEADER} header was not accepted"}
        return Response(401, json.dumps(body), "application/json", {"Cache-Control": "no-store"})


#: What the ``dash_auth`` entry point of a packaged plugin points at: one object for every
#: app in the process; each app's keys come from its own plugin_config.
plugin = ApiKeyProvider()


if __name__ == "__main__":
    from dash import Dash, html

    from dash_auth_basic import BasicAuth

    app = Dash(__name__)
    app.layout = html.Div("Only for signed-in people and build-bot")
    BasicAuth(
        app,
        {"demo": "demo-password"},
        secret_key=os.environ.get("SECRET_KEY", "demo-secret-key-change-me"),
        plugins=[plugin],
        plugin_config={"api_key": {"keys": {os.environ.get("DEMO_API_KEY", "demo-key-for-scripts-0001"): "build-bot"}}},
    )
    app.run(host="127.0.0.1", port=8050)
