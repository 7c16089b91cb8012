"""A Dash app with a background callback run by a real Celery worker (Redis broker and results).

The test process and the worker both call :func:`build` with the same
settings, from ``DASH_AUTH_TEST_STORE`` (sessions), ``DASH_AUTH_TEST_BROKER``
and ``DASH_AUTH_TEST_MARKS`` (a folder where each job that runs leaves a file:
the test sees which bodies ran). The worker: ``celery -A background_worker:celery_app worker``.
"""

from __future__ import annotations

from pathlib import Path

from dash import CeleryManager, Dash, Input, Output, html

USERS = {"alice": "wonderland", "bob": "builder"}
SECRET = "background-secret-0123456789abcdef"


def build(store: str, broker: str, marks: str):
    from celery import Celery

    from dash_auth_basic import BasicAuth
    from dash_auth_core import current_user
    from dash_auth_groups import check_groups

    celery_app = Celery(__name__, broker=broker, backend=broker)
    app = Dash(__name__, background_callback_manager=CeleryManager(celery_app))
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"), background=True, prevent_initial_call=True)
    def report(n):
        user = current_user()
        name = user.id if user else "nobody"
        Path(marks, f"{name}-{n}").write_text("ran")
        return f"bg:{name} analyst:{check_groups(['analysts'])}"

    BasicAuth(app, USERS, secret_key=SECRET, session_store=store, user_groups={"alice": ["analysts"]})
    return app, celery_app
