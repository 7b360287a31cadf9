"""`tasks-api serve` as a subprocess, for tests that need the production process model."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import psutil

from tests.conftest import free_port

# Bounds, not timings: at load average 40 a fresh import took 82 s, and graceful shutdown of a
# supervisor and its workers takes seconds on a loaded machine.
READY_WITHIN_SECONDS = 900
STOPPED_WITHIN_SECONDS = 120
TASKS_API = str(Path(sys.executable).parent / "tasks-api")


def tasks_api_serve(env: Mapping[str, str], log_path: Path, workers: int) -> Iterator[str]:
    """Runs `tasks-api serve` with ``env`` and yields its base URL once ``/ready`` answers 200 and
    every worker listens (``/ready`` answers as soon as one does); stops it (SIGTERM, then SIGKILL)
    when the generator is closed. Its output goes to ``log_path``."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [TASKS_API, "serve", "--port", str(port), "--workers", str(workers)],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        # One client for every poll: httpx.get builds a TLS context per call (30 ms of CPU).
        probe = httpx.Client()
        try:
            deadline = time.monotonic() + READY_WITHIN_SECONDS
            while not _ready(probe, base) or len(listening_sockets(port)) < workers:
                if time.monotonic() > deadline or process.poll() is not None:
                    log.flush()
                    raise RuntimeError(
                        f"tasks-api serve did not become ready:\n{log_path.read_text()[-2000:]}"
                    )
                time.sleep(0.1)
            yield base
        finally:
            probe.close()
            process.terminate()
            try:
                process.wait(timeout=STOPPED_WITHIN_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(probe: httpx.Client, base: str) -> bool:
    try:
        return probe.get(f"{base}/ready").status_code == 200
    except httpx.TransportError:
        return False


def listening_sockets(port: int) -> dict[int, set[str]]:
    """This process's descendants (``serve``, its workers) -> the sockets (``socket:[inode]``) each
    listens on at ``port``. Per process: a socket that several processes share is listed for each
    (the system-wide view names one of them)."""
    listening: dict[int, set[str]] = {}
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess, FileNotFoundError):
            for connection in process.net_connections(kind="tcp"):
                if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                    target = os.readlink(f"/proc/{process.pid}/fd/{connection.fd}")
                    listening.setdefault(process.pid, set()).add(target)
    return listening
