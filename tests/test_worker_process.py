"""What a worker process does to itself once its app is built (uvicorn's factory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy.engine import URL

from tasks_api.app import WORKER_GC_THRESHOLDS
from tests.conftest import TEST_JWT_SECRET

_REPORT = (
    "import gc, json; from tasks_api.app import create_app_from_environment; "
    "before = gc.get_freeze_count(); create_app_from_environment(); "
    "print(json.dumps({'before': before, 'frozen': gc.get_freeze_count(), 'thresholds': gc.get_threshold()}))"
)


def test_a_worker_freezes_what_it_built_and_collects_the_young_generation_less_often(
    database_url: URL,
) -> None:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "JWT_SECRET": TEST_JWT_SECRET,
    }

    report = subprocess.run(
        [sys.executable, "-c", _REPORT],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    state = json.loads(report.stdout.strip().splitlines()[-1])
    assert state["before"] == 0
    assert state["frozen"] > 50_000  # the app's long-lived objects, out of every later collection
    assert tuple(state["thresholds"]) == WORKER_GC_THRESHOLDS
