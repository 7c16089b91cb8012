"""What Flask's and Quart's requests answer alike: they wrap a werkzeug-style request object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import Request


class WrappedRequest(Request):
    """A :class:`Request` over a framework's request object (``_req``), which answers these as is."""

    __slots__ = ()
    _req: Any

    @property
    def cookies(self) -> Mapping[str, str]:
        return self._req.cookies  # type: ignore[no-any-return]

    @property
    def args(self) -> Mapping[str, str]:
        return self._req.args  # type: ignore[no-any-return]

    @property
    def scheme(self) -> str:
        return self._req.scheme  # type: ignore[no-any-return]

    @property
    def host(self) -> str:
        return self._req.host  # type: ignore[no-any-return]

    @property
    def remote_addr(self) -> str | None:
        return self._req.remote_addr  # type: ignore[no-any-return]
