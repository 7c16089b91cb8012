"""What a request asks for, as the guard understands it.

The guard classifies every request into a :class:`Resource` before anyone
votes on it. Classification uses only what the server knows (its routes, its
callback registry, its page registry), never the shape of the client's body.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Kind(str, enum.Enum):
    """The kinds of thing a Dash app serves."""

    PAGE = "page"  #: an HTML page (the index or a page URL)
    CALLBACK = "callback"  #: a server callback run through ``_dash-update-component``
    DASH_INTERNAL = "dash_internal"  #: layout, dependencies, component suites, reload hash, favicon
    ASSET = "asset"  #: a file from the app's assets folder
    PLUGIN_ROUTE = "plugin_route"  #: a route added by an auth plugin (login, logout, ...)
    MCP = "mcp"  #: Dash's MCP endpoint
    WEBSOCKET = "websocket"  #: the WebSocket callback transport
    ROUTE = "route"  #: any other server route (``api_endpoint``, hooks routes, plain Flask routes)


@dataclass(frozen=True)
class Resource:
    """One classified request target.

    ``public`` is the server's own verdict from public routes and
    ``public_callback``; ``name`` is the path (relative to the app's prefix)
    or the callback id. ``page`` is the matched entry of
    ``dash.page_registry`` when there is one; ``callback`` is the entry of
    the app's callback map for callbacks.
    """

    kind: Kind
    name: str
    public: bool = False
    page: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    callback: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    pathname: str | None = None
    wants_json: bool = False

    @property
    def is_callback(self) -> bool:
        return self.kind is Kind.CALLBACK
