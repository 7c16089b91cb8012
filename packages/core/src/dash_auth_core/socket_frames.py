"""The rules every frame of a callback socket meets before Dash reads it.

Text frames only, at most ``max_body_size`` characters, a JSON object with a
known ``type``; each ``callback_request`` is judged by the guard exactly like
an HTTP callback body, and the login is re-checked on heartbeats. A refusal
gets an error reply or closes the socket (the close codes are listed in
:mod:`dash_auth_core.websocket`). :class:`FrameRules` is one part of
:class:`~dash_auth_core.websocket.Connection`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .backends._aio import run_guard
from .browser import AUTH_REASON_PREFIX, LOGIN_REQUIRED
from .resources import Kind
from .socket_messages import MessageRequest
from .socket_registry import CLOSE_AUTH, registry

if TYPE_CHECKING:
    from typing import TypeGuard

    from .backends import Request
    from .identity import Identity
    from .responses import Response
    from .stack_view import StackView

_MAX_ID = 256


def short_str(value: Any) -> TypeGuard[str]:
    """A string id of a sensible length (``requestId``, ``rendererId``)."""
    return isinstance(value, str) and 0 < len(value) <= _MAX_ID


class FrameRules:
    """A socket's checks of each frame (see the module's docstring)."""

    stack: StackView
    request: Request | None
    identity: Identity | None
    revoked: bool
    signed_out: bool
    update_path: str
    all_over_websocket: bool

    if TYPE_CHECKING:

        async def close(self, code: int, reason: str) -> None: ...

        async def reply(self, message: Mapping[str, Any]) -> None: ...

        async def _recheck(self) -> bool: ...

        async def _reload_session(self) -> bool: ...

    async def on_frame(self, event: Mapping[str, Any]) -> bool:
        """Check one frame; ``True`` to pass it to Dash."""
        if self.signed_out:
            await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "signed out")
            return False
        text = event.get("text")
        if text is None:
            await self.close(1003, "dash-auth: binary messages are not accepted")
            return False
        limit = self.stack.max_body_size
        if limit is not None and len(text) > limit:
            await self.close(1009, "dash-auth: message too big")
            return False
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            await self.close(1007, "dash-auth: malformed JSON")
            return False
        if type(message) is not dict:
            await self.close(1008, "dash-auth: a message must be a JSON object")
            return False
        kind = message.get("type")
        if kind == "callback_request":
            return await self.on_callback(message)
        if kind == "heartbeat" or (kind == "get_props_response" and short_str(message.get("requestId"))):
            if await self._recheck():
                return True
            await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "signed out")
            return False
        renderer = message.get("rendererId")
        await self.reply({
            "type": "error",
            "rendererId": renderer if short_str(renderer) else "",
            "payload": {"message": "dash-auth: unknown or malformed message", "code": 400},
        })
        return False

    async def on_callback(self, message: Mapping[str, Any]) -> bool:
        request_id = message.get("requestId")
        renderer = message.get("rendererId", "")
        if not short_str(request_id) or not isinstance(renderer, str) or len(renderer) > _MAX_ID:
            await self.close(1008, "dash-auth: malformed callback request")
            return False
        payload = message.get("payload")
        base = self.request
        if base is None:
            await self.close(1011, "dash-auth: internal error")
            return False
        stack = self.stack
        if not await self._reload_session():
            await self._callback_error(request_id, renderer, "dash-auth: 503 the session store is unavailable")
            return False
        request = MessageRequest(base, payload, self.update_path, anonymous=self.revoked)
        result = await run_guard(stack.guard, lambda: request)
        authenticated = "identity" in request.state  # a malformed payload is refused before that
        identity = request.state.get("identity")
        if identity is not None and registry(stack).is_revoked(identity):
            identity = None
        if authenticated and self.identity is not None and (identity is None or identity.id != self.identity.id):
            await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "signed out")
            return False
        if result is not None:
            await self._refuse(request, result, request_id, renderer)
            return False
        app = stack.app
        output = payload.get("output") if isinstance(payload, dict) else None
        if not (self.all_over_websocket or app.callback_map.get(output, {}).get("websocket")):
            await self._callback_error(request_id, renderer, "dash-auth: this callback does not run over WebSocket")
            return False
        if identity is not None:
            self.identity = identity
        return True

    async def _refuse(self, request: MessageRequest, result: Response, request_id: str, renderer: str) -> None:
        try:
            body = json.loads(result.body)
            detail = f"{body.get('error')}: {body.get('message')}"
        except (ValueError, TypeError, AttributeError):
            detail = "refused"
        resource = request.state.get("resource")
        is_route = resource is not None and resource.kind is Kind.CALLBACK and resource.pathname is not None
        if result.status == 401 and is_route:
            # A private page asked for over the socket: the page reloads and the
            # full page load gets the login challenge.
            await self._callback_error(request_id, renderer, f"{LOGIN_REQUIRED} {detail}")
            await self.close(CLOSE_AUTH, AUTH_REASON_PREFIX + "sign-in required")
            return
        await self._callback_error(request_id, renderer, f"dash-auth: {result.status} {detail}")

    async def _callback_error(self, request_id: str, renderer: str, text: str) -> None:
        await self.reply({
            "type": "callback_response",
            "rendererId": renderer,
            "requestId": request_id,
            "payload": {"status": "error", "message": text},
        })
