"""`tasks-api serve` on the embedded PostgreSQL: stopping it stops the database it started."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port

TASKS_API = str(Path(sys.executable).parent / "tasks-api")
START_BOUND_SECONDS = 300  # a bound, not a target: a loaded 2-core machine


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short: the server's unix socket lives in it, and socket paths are limited in length.
    folder = Path(tempfile.mkdtemp(prefix="tapg-"))
    yield folder
    postmaster = postmaster_pid(folder)
    if postmaster is not None and psutil.pid_exists(postmaster):  # never leave one behind
        psutil.Process(postmaster).kill()
    shutil.rmtree(folder, ignore_errors=True)


def postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    return int(pid_file.read_text().splitlines()[0]) if pid_file.exists() else None


def serve(data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DATABASE_URL_UNPOOLED", "JWT_SECRET"}
    }
    port = free_port()
    process = subprocess.Popen(
        [TASKS_API, "serve", "--port", str(port)],
        env={**env, "TASKS_API_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_BOUND_SECONDS
    with httpx.Client() as probe:  # one for every poll: httpx.get costs 30 ms of CPU a call
        while True:
            try:
                if probe.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("tasks-api serve did not become ready")
            time.sleep(0.2)


def stopped(pid: int) -> bool:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
        psutil.Process(pid).wait(timeout=60)  # serve stops it before exiting; this is a bound
    return not psutil.pid_exists(pid)


def test_stopping_serve_stops_the_embedded_postgres_even_after_an_unclean_exit(data_dir: Path) -> None:
    """Issue 9: after one unclean exit left a dead pid in .handle_pids.json, every later
    `tasks-api serve` left PostgreSQL running when it exited."""
    crashed = serve(data_dir)
    crashed.kill()  # kill -9: no clean-up runs
    crashed.wait()
    orphan = postmaster_pid(data_dir)
    assert orphan is not None
    assert psutil.pid_exists(orphan)
    assert crashed.pid in json.loads((data_dir / "postgres" / ".handle_pids.json").read_text())

    for stop in (signal.SIGINT, signal.SIGTERM):
        running = serve(data_dir)
        postmaster = postmaster_pid(data_dir)
        assert postmaster is not None

        running.send_signal(stop)

        assert running.wait(timeout=START_BOUND_SECONDS) == 0
        assert stopped(postmaster), f"PostgreSQL outlived serve after {stop.name}"
