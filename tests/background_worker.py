"""The Celery worker's entry: ``celery -A background_worker:celery_app worker`` (see background_app.py)."""

import os

from background_app import build

app, celery_app = build(os.environ["DASH_AUTH_TEST_STORE"], os.environ["DASH_AUTH_TEST_BROKER"],
                        os.environ["DASH_AUTH_TEST_MARKS"])
