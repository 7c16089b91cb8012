"""Background callbacks run by Celery workers: the login is checked again when the job starts.

Dash's ``CeleryManager`` runs a ``background=True`` callback in a worker
process, long after (and far from) the request that queued it. The identity
travels with the job (see :mod:`dash_auth_core.context`), so ``current_user()``
and group rules work there; this module makes the worker refuse a job whose
login was revoked (``revoke_user``, ``forget``, "sign out everywhere") after it
was queued: the job ends without running, as if it raised ``PreventUpdate``
(no output changes), and the worker logs why.

How: the worker imports the app module, which builds the stack; the stack
wraps the ``run`` of every Celery task Dash registered for a background
callback (again at ``worker_init`` and in each pool process, for callbacks
declared after the stack). The wrapper reads the revocation marks from the
shared state (the session store: a revocation made on any instance is seen
here; without a store only this worker's own, which is none) before calling
Dash's job. A store outage refuses the job too (fail closed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .context import identity_in
from .sessions.store import StoreUnavailable

if TYPE_CHECKING:
    from .stack_view import StackView

log = logging.getLogger("dash_auth")

#: Dash names the Celery task of each background callback ``background_callback_<key>``.
TASK_PREFIX = "background_callback_"
_GUARDED = "_dash_auth_guarded"


def install(stack: StackView) -> None:
    """Guard the Celery background jobs of ``stack``'s app (nothing to do without a CeleryManager)."""
    apps = _celery_apps(stack)
    if not apps:
        return
    from celery import signals  # type: ignore[import-untyped]

    for celery_app in apps:
        guard_tasks(stack, celery_app)

        def again(celery_app: Any = celery_app, **_: Any) -> None:
            guard_tasks(stack, celery_app)

        signals.worker_init.connect(again, weak=False)
        signals.worker_process_init.connect(again, weak=False)


def _celery_apps(stack: StackView) -> list[Any]:
    app = stack.app
    managers = getattr(app, "_background_managers", None)
    found: list[Any] = managers() if callable(managers) else [getattr(app, "_background_manager", None)]
    return [m.handle for m in found if m is not None and type(m).__name__ == "CeleryManager"
            and getattr(m, "handle", None) is not None]


def guard_tasks(stack: StackView, celery_app: Any) -> int:
    """Wrap every background-callback task of ``celery_app`` not wrapped yet; how many were."""
    wrapped = 0
    for name, task in list(celery_app.tasks.items()):
        if name.startswith(TASK_PREFIX) and not getattr(task.run, _GUARDED, False):
            task.run = _guarded(stack, task, task.run)
            wrapped += 1
    return wrapped


def refusal(stack: StackView, context: Mapping[str, Any] | None) -> str | None:
    """Why a job queued with callback ``context`` must not run, or ``None`` to run it."""
    identity = identity_in(context)
    if identity is None:
        return None  # queued by an anonymous caller: the guard allowed a public callback
    try:
        stack.shared_state.refresh()
    except StoreUnavailable:
        return "the session store is unavailable; the sign-in could not be checked"
    if stack.is_revoked(identity):
        return "the sign-in that started this job has ended"
    return None


def _guarded(stack: StackView, task: Any, run: Callable[..., Any]) -> Callable[..., Any]:
    def guarded_run(result_key: str, progress_key: str, user_callback_args: Any,
                    context: Mapping[str, Any] | None = None) -> Any:
        reason = refusal(stack, context)
        if reason is None:
            return run(result_key, progress_key, user_callback_args, context)
        log.warning("background job %s refused: %s", task.name, reason)
        # What Dash's own job writes for a callback that raised PreventUpdate: no output changes.
        task.backend.set(result_key, json.dumps({"_dash_no_update": "_dash_no_update"}))
        return None

    setattr(guarded_run, _GUARDED, True)
    return guarded_run
