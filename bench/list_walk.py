"""Walk 100,000 tasks page by page through `tasks-api serve`: every task once, flat page latency.

    uv run python bench/list_walk.py [--tasks 100000] [--limit 100]

Runs on loopback against its own embedded PostgreSQL; every loop is bounded. Numbers are
recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from tasks_api import schema_migrations
from tasks_api.auth import TokenIssuer
from tasks_api.database import start_embedded_postgres

SECRET = "benchmark secret, thirty-two bytes or more"
TASKS_API = str(Path(sys.executable).parent / "tasks-api")


def seed(url: sa.URL, count: int) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (id, issuer, subject, created_at) VALUES "
                "('walker', 'urn:tasks-api:built-in', 'walker', now()), "
                "('other', 'urn:tasks-api:built-in', 'other', now())"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO task_lists (id, user_id, name, is_default, created_at, updated_at)"
                " SELECT gen_random_uuid(), id, 'Tasks', true, now(), now() FROM users"
            )
        )
        connection.execute(
            sa.text(
                """
                INSERT INTO tasks (id, user_id, title, status, priority, due_at, created_at, updated_at,
                                   list_id)
                SELECT gen_random_uuid(), CASE WHEN n % 10 = 0 THEN 'other' ELSE 'walker' END,
                       'task w' || (n % 4999) || ' ' || n, 'pending',
                       (ARRAY['low', 'normal', 'high'])[n % 3 + 1],
                       CASE WHEN n % 4 = 0 THEN NULL ELSE now() + n * interval '1 minute' END,
                       now() - n * interval '1 second', now(),
                       (SELECT id FROM task_lists
                        WHERE user_id = CASE WHEN n % 10 = 0 THEN 'other' ELSE 'walker' END)
                FROM generate_series(1, :count) n
                """
            ),
            {"count": count * 10 // 9},
        )
        connection.execute(sa.text("ANALYZE tasks"))
    engine.dispose()


def walk(http: httpx.Client, sort: str, limit: int) -> tuple[int, int, list[float]]:
    seen: set[str] = set()
    total, latencies, cursor = 0, [], None
    for _ in range(100_000):
        params: dict[str, str | int] = {"limit": limit, "sort": sort}
        if cursor:
            params["cursor"] = cursor
        began = time.perf_counter()
        response = http.get("/api/walker/tasks", params=params)
        latencies.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        page = response.json()
        total += len(page["items"])
        seen.update(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return total, len(seen), latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        url = start_embedded_postgres(Path(data_dir) / "postgres")
        schema_migrations.upgrade(url)
        seed(url, args.tasks)
        port = 8000 + os.getpid() % 1000
        env = {
            **os.environ,
            "DATABASE_URL": url.render_as_string(hide_password=False),
            "JWT_SECRET": SECRET,
            "TASKS_API_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen([TASKS_API, "serve", "--port", str(port)], env=env)
        try:
            token = TokenIssuer(SECRET, "tasks-api", "tasks-api", timedelta(hours=1)).issue("walker")[
                "access_token"
            ]
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as http:
                for _ in range(300):
                    try:
                        if http.get("/ready").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                print(f"{args.tasks} tasks, {args.limit} per page\n")
                print("| sort | pages | tasks seen | distinct | first 10 pages, median ms | last 10, ms |")
                print("|---|---|---|---|---|---|")
                for sort in ("created_at", "-updated_at", "due_at", "-priority"):
                    total, distinct, latencies = walk(http, sort, args.limit)
                    first, last = statistics.median(latencies[:10]), statistics.median(latencies[-10:])
                    print(f"| {sort} | {len(latencies)} | {total} | {distinct} | {first:.1f} | {last:.1f} |")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
