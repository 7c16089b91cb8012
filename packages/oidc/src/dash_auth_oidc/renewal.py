"""Keeping a signed-in browser's tokens fresh: the refresh, and the groups it re-reads.

When a login's tokens are due (``"r"`` in its state, see :mod:`.state`), the
next HTTP request of that browser refreshes them at the provider's token
endpoint. Concurrent requests of one session share one refresh; a provider
that cannot be reached postpones it while the tokens are still valid; any
other failure ends the login. A refresh also re-reads the user's groups
(from a new ID token and the userinfo endpoint), unless the app chose them at
sign-in, so a group taken away at the provider goes within a token lifetime.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from dash_auth_core import PROVIDER_GROUPS_CLAIM, SESSION_KEY, Identity, Reject, Request

from .base import OIDCBase, allow_blocking
from .claims import build_identity, lookup, merge_userinfo
from .errors import LoginError, ProviderUnavailable, TokenValidationError
from .provider import Provider
from .state import PINNED, STATE_KEY, pinned, token_state

log = logging.getLogger("dash_auth.oidc")
T = TypeVar("T")

#: How long the result of one refresh is reused by concurrent requests of the same session (seconds).
REFRESH_REUSE_SECONDS = 30.0
#: After a refresh failed because the provider was unreachable, wait this long before trying again.
REFRESH_RETRY_SECONDS = 15.0

#: Stored claims a refresh never carries over to the claims it re-reads.
_NOT_CARRIED = frozenset({PROVIDER_GROUPS_CLAIM, "email", "email_verified", "phone_number", "phone_number_verified"})


class RefreshCache:
    """One refresh per refresh token at a time; concurrent requests of a session share its result."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._locks: OrderedDict[str, threading.Lock] = OrderedDict()
        self._results: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def run(self, refresh_token: str, call: Callable[[], T]) -> T:
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        with self._lock:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
                while len(self._locks) > self._size:
                    self._locks.popitem(last=False)
        with lock:
            hit = self._results.get(key)
            if hit is not None and time.monotonic() - hit[0] < REFRESH_REUSE_SECONDS:
                return hit[1]
            result = call()
            with self._lock:
                self._results[key] = (time.monotonic(), result)
                while len(self._results) > self._size:
                    self._results.popitem(last=False)
            return result


class TokenRenewal:
    """Refreshes the tokens of the logins of one :class:`~dash_auth_oidc.base.OIDCBase`."""

    def __init__(self, plugin: OIDCBase) -> None:
        self.plugin = plugin
        self._refreshes = RefreshCache()

    def renew(self, request: Request, state: dict[str, Any]) -> Reject | None:
        """Refresh the tokens of ``request``'s login; ``REJECT`` when the login ends instead.

        ``None`` leaves the identity to the core's session reader (renewed, or
        still valid while the provider cannot be reached).
        """
        plugin = self.plugin
        allow_blocking(request)  # the refresh calls the provider: off the event loop on async backends
        now = plugin.clock()
        session = request.session
        provider = plugin.provider_of(state)
        if provider is None:
            return plugin.end_login(request, f"provider {state.get('p')!r} is no longer registered")
        expires = state.get("e")
        still_valid = isinstance(expires, (int, float)) and now < expires
        tokens = plugin.store.load(session) or {}
        refresh_token = tokens.get("rt")
        if not isinstance(refresh_token, str) or not refresh_token:
            if still_valid:
                session[STATE_KEY] = {**state, "r": expires}  # nothing to refresh with: check again at expiry
                return None
            return plugin.end_login(request, f"tokens from {provider.name!r} expired and there is no refresh token")
        subject = str(state.get("s"))
        regroup = self.follows_groups(provider, state)
        try:
            fresh, user = self._refreshes.run(
                refresh_token, lambda: self._refresh(provider, refresh_token, subject, regroup)
            )
        except ProviderUnavailable as exc:
            if still_valid:
                log.warning("OIDC token refresh postponed: %s", exc.reason)
                session[STATE_KEY] = {**state, "r": int(now + REFRESH_RETRY_SECONDS)}
                return None
            return plugin.end_login(request, exc.reason)
        except LoginError as exc:
            return plugin.end_login(request, exc.reason)
        stored = {
            "rt": fresh.get("refresh_token") or refresh_token,
            # The login's ID token, never a refreshed one, names the user in the provider's
            # logout URL: it carries the login's nonce, so no bearer check accepts it, and the
            # cookie keeps the size it had at sign-in (where it may have been left out).
            "it": tokens.get("it"),
        }
        if plugin.settings.store_access_token and fresh.get("access_token"):
            stored["at"] = fresh["access_token"]
        plugin.store.save(session, {k: v for k, v in stored.items() if isinstance(v, str) and v})
        leeway = plugin.settings.refresh_leeway
        session[STATE_KEY] = {**token_state(provider.name, subject, fresh, now, True, leeway), **pinned(state)}
        log.info("OIDC tokens of %s refreshed with %r", subject, provider.name)
        if user is not None:
            self._regroup(session, provider, user)
        return None

    def follows_groups(self, provider: Provider, state: Mapping[str, Any]) -> bool:
        """Whether a refresh re-reads the user's groups from ``provider``.

        Not when the app chose them at sign-in: a ``login_user_callback`` wrote
        the stored user, or ``after_logged_in`` changed the groups claim (the
        login's state says so); neither runs again at a refresh.
        """
        plugin = self.plugin
        if not plugin.groups_claim(provider) or plugin.login_user_callback(provider) is not None:
            return False
        if PINNED in state:
            return not state[PINNED]
        # A login from before the mark: its hook may have chosen the groups.
        return (provider.config.after_logged_in or plugin.settings.after_logged_in) is None

    def _refresh(
        self, provider: Provider, refresh_token: str, subject: str, regroup: bool
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """New tokens, and the user's claims as the provider gives them now (``None`` when not re-read).

        The claims come from a new ID token, if the answer has one, and from the
        userinfo endpoint; both must name the login's subject. A userinfo
        endpoint that fails leaves the login's claims standing.
        """
        fresh = provider.refresh(refresh_token)
        claims = None
        new_id_token = fresh.get("id_token")
        if new_id_token:
            claims = provider.validate_id_token(new_id_token, nonce=None, access_token=fresh.get("access_token"))
            if claims.get("sub") != subject:
                raise TokenValidationError("refreshed ID token is for another user", reason="refreshed ID token names another sub")
        if not regroup:
            return fresh, None
        try:
            info = provider.userinfo(fresh)
        except ProviderUnavailable as exc:
            log.warning("OIDC claims of %s not re-read after the refresh; the login's stand: %s", subject, exc.reason)
            info = None
        if claims is None and not info:
            return fresh, None
        return fresh, merge_userinfo(claims or {"sub": subject, "iss": provider.metadata().get("issuer")}, info)

    def _regroup(self, session: Any, provider: Provider, user: Mapping[str, Any]) -> None:
        """Store the groups the provider gives the user now (a group taken away at the provider goes).

        Claims that do not mention the groups claim leave the login's groups as they are.
        """
        plugin = self.plugin
        groups_claim = plugin.groups_claim(provider)
        stored = session.get(SESSION_KEY)
        current = Identity.from_session(stored)
        if not groups_claim or current is None or not isinstance(stored, Mapping) or lookup(user, groups_claim) is None:
            return
        # user_groups see what they saw at sign-in as far as the session kept it, updated; an
        # address or number counts as verified only with the flag that comes with it now.
        kept = {k: v for k, v in current.claims.items() if k not in _NOT_CARRIED}
        user = {**kept, **user}
        try:
            latest = build_identity(
                user, provider.name, groups_claim=groups_claim, user_groups=plugin.settings.user_groups,
                session_claims=(), auth_time=current.auth_time,
            )
            latest = plugin.require_stack().groups_for(latest)
        except Exception:  # an app's user_groups that fails: the login's groups stand
            log.exception("OIDC groups of %s not re-read after the refresh", current.id)
            return
        if latest.groups == current.groups:
            return
        updated = {**stored, "groups": list(latest.groups)}
        claims = dict(stored.get("claims") or {})
        if PROVIDER_GROUPS_CLAIM in latest.claims:
            claims[PROVIDER_GROUPS_CLAIM] = latest.claims[PROVIDER_GROUPS_CLAIM]
        top = groups_claim.split(".")[0]
        if top in claims and top in user:
            claims[top] = user[top]  # the raw claim the groups came from, kept current too
        if claims:
            updated["claims"] = claims
        session[SESSION_KEY] = updated
        log.info("OIDC groups of %s changed at %r: %s", current.id, provider.name, ", ".join(latest.groups) or "none")
