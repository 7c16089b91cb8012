"""Background callbacks in a real Celery worker (Redis broker): the user and group rules reach the job,
and a login revoked after the job was queued is refused when it starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dash_auth_core import revoke_user
from dash_auth_core.testing import basic_header, callback_body

HERE = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.backends("flask", reason="the worker runs jobs without a web server; the web side is Flask")


@pytest.fixture
def setup(redis_server, redis_url, tmp_path):
    settings = {"DASH_AUTH_TEST_STORE": redis_url, "DASH_AUTH_TEST_BROKER": redis_url.replace("/0", "/1"),
                "DASH_AUTH_TEST_MARKS": str(tmp_path)}
    sys.path.insert(0, str(HERE))
    from background_app import build

    app, _celery = build(settings["DASH_AUTH_TEST_STORE"], settings["DASH_AUTH_TEST_BROKER"], str(tmp_path))
    workers = []

    def start_worker():
        log = open(tmp_path / f"worker-{len(workers)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "background_worker:celery_app", "worker", "--pool=solo",
             "--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=HERE, env={**os.environ, **settings, "PYTHONPATH": str(HERE)}, stdout=log, stderr=subprocess.STDOUT)
        workers.append((process, log))
        return process

    yield app, start_worker, tmp_path
    for process, log in workers:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def run_job(app, headers, n, timeout=60.0):
    """Queue the job, then poll as Dash's renderer does; the output's value (``None``: no update)."""
    client = app.server.test_client()
    body = callback_body(app, "o.children", [n])
    first = client.post("/_dash-update-component", json=body, headers=headers)
    assert first.status_code in (200, 202), first.data[:300]
    handle = json.loads(first.data)
    return handle, lambda: poll(client, body, handle, headers, timeout)


def poll(client, body, handle, headers, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.post(f"/_dash-update-component?cacheKey={handle['cacheKey']}&job={handle['job']}",
                               json=body, headers=headers)
        if response.status_code == 204:
            return None
        data = json.loads(response.data) if response.data else {}
        if "response" in data:
            return data["response"]["o"]["children"]
        time.sleep(0.2)
    raise AssertionError("the background job did not finish")


def test_the_job_sees_the_user_and_the_group_rules(setup):
    app, start_worker, _marks = setup
    start_worker()
    _, result = run_job(app, basic_header("alice", "wonderland"), 1)
    assert result() == "bg:alice analyst:True"
    _, result = run_job(app, basic_header("bob", "builder"), 2)
    assert result() == "bg:bob analyst:False"


def test_a_login_revoked_before_the_job_starts_is_refused(setup):
    app, start_worker, marks = setup
    alice = basic_header("alice", "wonderland")
    _, result = run_job(app, alice, 7)  # queued; no worker runs yet
    revoke_user(app, "alice")
    start_worker()
    assert result() is None  # no update: the job did not run
    assert not (marks / "alice-7").exists()
    # A job queued after signing in again runs.
    _, result = run_job(app, alice, 8)
    assert result() == "bg:alice analyst:True"
    assert (marks / "alice-8").exists()
