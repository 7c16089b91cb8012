"""One WebSocket ``callback_request`` seen by the guard as a callback POST from the socket's client."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from .backends import Request

_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})


class _WithoutCredentials(Mapping[str, str]):
    """Case-insensitive headers of a request, less ``Authorization`` and ``Cookie``."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._map = {k.lower(): v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}

    def get(self, key: str, default: Any = None) -> Any:
        return self._map.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return self._map[key.lower()]

    def __iter__(self) -> Any:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)


class MessageRequest(Request):
    """A ``callback_request`` payload seen by the guard as a callback POST from the socket's client.

    ``anonymous``: the handshake's login was signed out; its frozen credentials
    are hidden, so the message is judged as an anonymous one.
    """

    __slots__ = ("_base", "_payload", "_path", "_anonymous", "state", "auth", "on_event_loop")

    #: The socket's key is shared by its callbacks, the frame pump and the re-checks.
    identity_per_context = True

    def __init__(self, base: Request, payload: Any, path: str, anonymous: bool = False) -> None:
        self._base = base
        self._payload = payload
        self._path = path
        self._anonymous = anonymous
        self.state: dict[str, Any] = {}
        self.auth = None
        self.on_event_loop = False

    @property
    def headers(self) -> Mapping[str, str]:
        if not self._anonymous:
            return self._base.headers
        return _WithoutCredentials(self._base.headers)

    @property
    def cookies(self) -> Mapping[str, str]:
        return {} if self._anonymous else self._base.cookies

    @property
    def session(self) -> MutableMapping[str, Any]:
        return {} if self._anonymous else self._base.session

    @property
    def has_session_cookie(self) -> bool:
        return False if self._anonymous else self._base.has_session_cookie

    method = property(lambda self: "POST")
    is_websocket = property(lambda self: True)
    path = property(lambda self: self._path)
    args = property(lambda self: self._base.args)
    form = property(lambda self: {})
    scheme = property(lambda self: self._base.scheme)
    host = property(lambda self: self._base.host)
    remote_addr = property(lambda self: self._base.remote_addr)
    context_key = property(lambda self: self._base.context_key)
    current_context_key = property(lambda self: self._base.current_context_key)

    def json(self, max_bytes: int | None) -> Any:
        return self._payload


def fresh(request: Request) -> Request:
    """The handshake request with empty per-request state, for one more run of the guard."""
    request.state = {}
    request.auth = None
    return request
