"""What the HTTP edge's bounds cost: uvicorn's plain httptools protocol against ours, under wrk.

    uv run python bench/edge_throughput.py [--seconds 10] [--rounds 2]

Serves the app (one worker) with each protocol in turn, A B A B, and drives ``GET /health`` (no
database work, so the protocol's share shows) with wrk, 32 connections on one thread. Needs wrk
(`apt-get install -y wrk`). Everything on loopback; every run bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import httpx

PROTOCOLS = {
    "uvicorn httptools": "httptools",
    "tasks-api bounded httptools": "tasks_api.http_edge:BoundedHttpToolsProtocol",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def requests_per_second(protocol: str, seconds: float) -> float:
    port = free_port()
    env = {
        **os.environ,
        # /health never touches the database: any well-formed URL will do.
        "DATABASE_URL": "postgresql://bench@127.0.0.1:1/bench",
        "JWT_SECRET": "a bench-only secret of at least thirty-two bytes",
        "TASKS_API_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "uvicorn", "tasks_api.app:create_app_from_environment", "--factory"]
    command += ["--port", str(port), "--http", protocol, "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        output = subprocess.run(
            ["wrk", "-t1", "-c32", f"-d{seconds:.0f}s", f"http://127.0.0.1:{port}/health"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match, output
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    results: dict[str, list[float]] = {name: [] for name in PROTOCOLS}
    for _ in range(args.rounds):
        for name, protocol in PROTOCOLS.items():
            results[name].append(requests_per_second(protocol, args.seconds))
    print("| protocol | GET /health requests/s, each round |\n|---|---|")
    for name, rates in results.items():
        print(f"| {name} | {', '.join(f'{rate:.0f}' for rate in rates)} |")


if __name__ == "__main__":
    main()
