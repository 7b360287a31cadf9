"""How long ``tasks-api serve`` takes to answer, started again and again on one data folder.

    uv run python -m bench.start_up [--starts 5] [--workers 1]

The first start (initdb, the migrations) is reported apart; then each start is timed from the
command to the first 200 from ``/health``, and from there to ``/ready``. On an idle machine these
are the figures in docs/performance.md ("Start-up, fifth pass"). Every wait is bounded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import free_port

TASKS_API = str(Path(sys.executable).parent / "tasks-api")
DEADLINE_SECONDS = 120


def _first_200(http: httpx.Client, url: str, deadline: float) -> float:
    while time.perf_counter() < deadline:
        try:
            if http.get(url).status_code == 200:
                return time.perf_counter()
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"no 200 from {url} within {DEADLINE_SECONDS} s")


def serve(data_dir: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """``tasks-api serve`` on the embedded PostgreSQL in ``data_dir``, quietly."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"TASKS_API_DATA_DIR": data_dir, "TASKS_API_LOG_LEVEL": "warning"}
    return subprocess.Popen(
        [TASKS_API, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def one_start(data_dir: str, workers: int) -> tuple[float, float]:
    """Seconds from the command to /health's first 200, and to /ready's."""
    port = free_port()
    started = time.perf_counter()
    process = serve(data_dir, port, workers)
    try:
        deadline = started + DEADLINE_SECONDS
        # One client: httpx.get builds a TLS context per call, 30 ms of CPU, so polling every
        # 10 ms with it took most of a core from the server it timed (on 2 cores).
        with httpx.Client(timeout=1) as http:
            health = _first_200(http, f"http://127.0.0.1:{port}/health", deadline)
            ready = _first_200(http, f"http://127.0.0.1:{port}/ready", deadline)
        return health - started, ready - started
    finally:
        process.terminate()
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        first_health, first_ready = one_start(data_dir, args.workers)
        print(f"first start (initdb, migrations): /health {first_health:.2f} s, /ready {first_ready:.2f} s")
        print(f"load average {os.getloadavg()[0]:.1f}\n")
        print("| start | /health s | /ready s |\n|---|---|---|")
        timings = []
        for number in range(1, args.starts + 1):
            health, ready = one_start(data_dir, args.workers)
            timings.append((health, ready))
            print(f"| {number} | {health:.2f} | {ready:.2f} |", flush=True)
        print(
            f"\nmedian: /health {statistics.median(t[0] for t in timings):.2f} s, "
            f"/ready {statistics.median(t[1] for t in timings):.2f} s ({args.workers} worker(s), "
            f"load average {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
