"""The OIDC plugin's routes: choosing a provider, signing in and out.

``/oidc/login``            the provider chooser (several providers, no ``idp_selection_route``)
``/oidc/<idp>/login``      starts a sign-in: a pending state, then the provider's authorization endpoint
``/oidc/<idp>/callback``   the provider's answer: state, issuer, code exchange, ID token, the session
``/oidc/logout``           GET: a confirmation page; POST (CSRF-checked): sign out, then the
                           provider's ``end_session_endpoint`` when it has one
``/oidc/logged-out``       where the provider sends the browser back: the app's ``logout_page``

Framework-neutral: the views take the core's :class:`~dash_auth_core.Request`
and return its :class:`~dash_auth_core.Response`; the backend adapter serves
them. Pages are the core's (:mod:`dash_auth_core.ui`) and the package's
``oidc_choose.html``. Protocol work is :mod:`.provider`'s and :mod:`.flow`'s.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from typing import Any

from dash_auth_core import BadRequest, Identity, Request, Response, csrf, redirect, with_next
from dash_auth_core.ui import (
    confirmation_page,
    error_page,
    render_page,
    signed_out_page,
    translate,
    unavailable_page,
)
from dash_auth_core.user_code import arity, as_response

from .base import OIDCBase
from .claims import build_identity, lookup, merge_userinfo
from .errors import BadCallback, LoginError, ProviderRefused, ProviderUnavailable
from .flow import NEXT_KEY, check_issuer
from .provider import Provider
from .state import PINNED, SESSION_BUDGET, STATE_KEY, login_state, session_size, token_state

log = logging.getLogger("dash_auth.oidc")


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class SignInViews:
    """The routes of one :class:`~dash_auth_oidc.base.OIDCBase` (the plugin's ``setup`` adds them)."""

    def __init__(self, plugin: OIDCBase) -> None:
        self.plugin = plugin

    def _error_page(self, request: Request, exc: LoginError, idp: Any = None) -> Response:
        plugin = self.plugin
        stack = plugin.require_stack()
        retry = None
        if exc.retry and isinstance(idp, str) and idp in plugin.providers:
            retry = plugin.login_url(idp)
        message = translate(request, exc.template, stack)
        if exc.params:
            message = message % exc.params
        heading = translate(request, exc.title, stack)
        if isinstance(exc, ProviderUnavailable):
            return unavailable_page(request, exc.status, message=message, heading=heading, retry_after=30,
                                    retry_url=retry or stack.requests_prefix)
        return error_page(request, exc.status, message, heading=heading, retry_url=retry, retry_id="oidc-retry",
                          stack=stack)

    # -- signing in ---------------------------------------------------------

    def choose(self, request: Request) -> Response:
        plugin = self.plugin
        next_url = plugin.next_url(request.args.get("next"))
        if len(plugin.providers) == 1:
            return redirect(with_next(plugin.login_url(next(iter(plugin.providers))), next_url))
        stack = plugin.require_stack()
        if not plugin.providers:
            log.warning("sign-in requested but no OIDC provider is registered")
            return unavailable_page(
                request, 503, message=translate(request, "No sign-in provider is configured for this app.", stack),
                retry_after=None, retry_url=stack.requests_prefix,
            )
        providers = [
            {"name": name, "label": p.config.display_name or name, "url": with_next(plugin.login_url(name), next_url)}
            for name, p in plugin.providers.items()
        ]
        return render_page(request, "oidc_choose.html", 200, stack=stack, providers=providers, next_url=next_url)

    def login(self, request: Request, idp: str) -> Response:
        plugin = self.plugin
        try:
            provider = plugin.provider(idp)
            provider.metadata()  # fail before recording a pending state
            remembered = request.session.pop(NEXT_KEY, None) if request.has_session_cookie else None
            next_url = plugin.next_url(request.args.get("next") or remembered)
            pending = plugin.pending.start(request.session, idp, next_url)
            # Pending logins in a session that is large already (a signed-in user with many
            # groups) must not push the cookie past what browsers keep: the oldest go first.
            while session_size(request.session) > SESSION_BUDGET and plugin.pending.drop_oldest(
                request.session, keep=pending.state
            ):
                pass
            url = provider.authorization_url(
                plugin.callback_url(request, idp), pending.state, pending.nonce, pending.code_verifier
            )
        except LoginError as exc:
            log.warning("OIDC sign-in via %r could not start: %s", idp, exc.reason)
            return self._error_page(request, exc, None)
        return redirect(url)

    def callback(self, request: Request, idp: str) -> Response:
        try:
            return self._complete(request, idp)
        except LoginError as exc:
            log.warning("OIDC sign-in via %r refused: %s", idp, exc.reason)
            return self._error_page(request, exc, idp)

    def _complete(self, request: Request, idp: str) -> Response:
        plugin = self.plugin
        provider = plugin.provider(idp)
        args = request.args
        error = args.get("error")
        if error is not None:
            # An error answer logs nobody in, so it is shown even when its state is
            # missing (some providers drop it); a matching pending state is used up.
            try:
                plugin.pending.finish(request.session, args.get("state"), idp)
                checked = "state ok"
            except BadCallback as exc:
                checked = exc.reason
            if provider.known_issuer is not None:
                # Another provider's error is not shown as this one's; a provider that cannot be
                # reached now is not asked just to show an error that logs nobody in.
                self._check_issuer(request, provider)
            error_code = str(error)[:64]
            description = str(args.get("error_description") or "")[:200]
            reason = f"provider answered error={error_code!r} {description!r} ({checked})"
            if error_code == "access_denied":
                raise ProviderRefused("You declined the sign-in, or the provider refused it.", reason=reason, status=403)
            raise ProviderRefused(
                "The sign-in provider reported an error (%(code)s).", reason=reason, status=401,
                params={"code": error_code},
            )
        pending = plugin.pending.finish(request.session, args.get("state"), idp)
        self._check_issuer(request, provider)  # before the code goes to any token endpoint
        code = args.get("code")
        if not isinstance(code, str) or not code or len(code) > 4096:
            raise BadCallback("The sign-in answer is incomplete. Sign in again.", reason="callback without a code")
        token = provider.exchange_code(code, plugin.callback_url(request, idp), pending.code_verifier)
        access_token = token.get("access_token")
        claims = provider.validate_id_token(
            token.get("id_token"), nonce=pending.nonce, access_token=access_token if isinstance(access_token, str) else None
        )
        user = merge_userinfo(claims, provider.userinfo(token))
        return self._log_in(request, provider, user, token, pending.next_url)

    @staticmethod
    def _check_issuer(request: Request, provider: Provider) -> None:
        """RFC 9207 mix-up defence: the answer's ``iss`` is the issuer of the provider the login started with."""
        meta = provider.metadata()
        check_issuer(
            [value for name, value in request.query_pairs if name == "iss"],
            meta["issuer"],
            meta.get("authorization_response_iss_parameter_supported") is True,
            provider.name,
        )

    def _log_in(
        self, request: Request, provider: Provider, user: dict[str, Any], token: dict[str, Any], next_url: str
    ) -> Response:
        plugin = self.plugin
        settings = plugin.settings
        idp = provider.name
        now = plugin.clock()
        session = request.session
        user = {k: v for k, v in user.items() if k not in ("nonce", "at_hash", "c_hash")}
        subject = str(user.get("sub"))  # as the validated token said, whatever the hooks do to ``user``
        before = copy.deepcopy(user)  # a hook may edit nested values in place
        hooked = as_response(plugin.after_logged_in(user, idp, dict(token)), "after_logged_in", "using the default redirect")
        extras = {
            k: v for k, v in user.items()
            if (k not in before or before[k] != v) and _json_safe(v)
        }
        groups_claim = plugin.groups_claim(provider)
        identity = build_identity(
            user, idp,
            groups_claim=groups_claim,
            user_groups=settings.user_groups,
            session_claims=settings.session_claims,
            auth_time=now,
        )
        # The login this session held ends, unless it is this user's (by the provider's
        # subject: a login_user_callback may have renamed it), before anything rewrites it.
        held = login_state(request)
        if not (held is not None and held.get("p") == idp and held.get("s") == subject):
            plugin.require_stack().end_replaced_login(request)
        callback = plugin.login_user_callback(provider)
        response: Response | None = hooked
        if callback is not None:
            # Seed-style mixed logins: the callback writes the session itself.
            session.clear()
            try:
                native = callback(user, idp) if arity(callback) >= 2 else callback(user)
            except BaseException:
                session.clear()  # what it wrote before refusing (or failing) signs nobody in
                raise
            written = session.get("user")
            kept = {k: v for k, v in session.items() if k != "user"}
            merged = {**identity.to_session(), **extras, **(dict(written) if isinstance(written, Mapping) else {})}
            # The login's time, not the provider's ``auth_time`` claim the callback may have
            # copied (an older single sign-on would make the core see an expired login).
            merged["auth_time"] = identity.auth_time
            identity = Identity.from_session(merged) or identity
            identity = self._stack_login(identity, request)
            for key, value in kept.items():
                session.setdefault(key, value)
            session["user"] = {**merged, "groups": list(identity.groups)}
            response = as_response(native, "login_user_callback", "using the default redirect") or response
        else:
            identity = self._stack_login(identity, request)
            if extras:
                session["user"] = {**extras, **identity.to_session()}
        session["idp"] = idp
        stored = {"rt": token.get("refresh_token"), "it": token.get("id_token")}
        if settings.store_access_token:
            stored["at"] = token.get("access_token")
        stored = {k: v for k, v in stored.items() if isinstance(v, str) and v}
        if stored:
            plugin.store.save(session, stored)
        # The provider's subject, which a refreshed ID token names again (a login_user_callback
        # may have given the identity another id, such as the e-mail address).
        state = token_state(idp, subject, token, now, bool(stored.get("rt")), settings.refresh_leeway)
        # Whether after_logged_in chose the groups (then refreshes leave them), said on every login.
        state[PINNED] = int(bool(groups_claim and lookup(before, groups_claim) != lookup(user, groups_claim)))
        session[STATE_KEY] = state
        size = session_size(session)
        if size > SESSION_BUDGET and "it" in stored:
            # The ID token only names the user to the provider's logout page
            # (which asks them itself without it): not worth a cookie browsers drop.
            del stored["it"]
            plugin.store.save(session, stored)
            size = session_size(session)
        if size > SESSION_BUDGET:
            log.warning(
                "the session of %s is about %d bytes; browsers drop cookies over 4 KB and the user "
                "would have to sign in again and again: keep fewer session_claims, or use a "
                "server-side session or token store", subject, size,
            )
        if settings.log_signins:
            log.info("OIDC sign-in of %s (%s) via %r", identity.id, identity.email or "-", idp)
        return response or redirect(next_url)

    def _stack_login(self, identity: Identity, request: Request) -> Identity:
        """Rotate the session, store the identity, run ``on_login``; the identity as stored.

        (The core applies an app-wide ``user_groups`` there, if the stack has one.)
        """
        stored = self.plugin.require_stack().login(identity, request, end_previous=False)  # ended in _log_in
        return stored if isinstance(stored, Identity) else identity

    # -- signing out --------------------------------------------------------

    def logout(self, request: Request) -> Response:
        plugin = self.plugin
        stack = plugin.require_stack()
        url = plugin.url(plugin.settings.routes.logout)
        if request.method != "POST":
            return confirmation_page(request, stack, url, button_id="oidc-logout")
        try:
            submitted = request.form.get(csrf.FIELD)
        except BadRequest:
            submitted = None
        if not csrf.check(request, submitted):
            log.warning("OIDC sign-out refused: no valid CSRF token or a cross-site origin")
            return confirmation_page(request, stack, url, status=403, error="csrf", button_id="oidc-logout")
        session = request.session
        provider = plugin.provider_of(session.get(STATE_KEY))
        tokens = plugin.store.load(session) if provider is not None else None
        stack.logout(request)  # on_logout: before_logout, the refresh token revoked
        if provider is not None:
            end = provider.end_session_url(
                id_token_hint=(tokens or {}).get("it"),
                post_logout_redirect_uri=plugin.post_logout_url(request, provider),
            )
            if end:
                log.info("OIDC sign-out continues at %r's end_session_endpoint", provider.name)
                return redirect(end, 303)
        return self.logged_out(request)

    def logged_out(self, request: Request) -> Response:
        """The app's ``logout_page``, else the core's signed-out page (never cached)."""
        page = self.plugin.settings.logout_page
        if callable(page) and not isinstance(page, Response):
            page = page()
        response = as_response(page, "logout_page", "using the default page") if page is not None else None
        if response is None:
            response = signed_out_page(request, self.plugin.require_stack(), message_id="oidc-signed-out")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Clear-Site-Data", '"cache"')
        return response
