"""Instructions per request of one worker, counted by valgrind: a figure the machine's load cannot move.

    uv run --group bench python -m bench.instructions [--tree DIR ...] [--fastapi] [--requests 300]

Serves each ``--tree`` (default: this checkout; an older commit can be exported with
``git archive <commit> | tar -x -C /tmp/old``) with ``tasks-api serve --workers 1``, and with
``--fastapi`` the comparator under one uvicorn worker, inside ``valgrind --tool=callgrind`` on the
bench database (``bench/dataset.py``). One client sends the same seeded sequence of the CRUD mix
(``bench/mix.lua``'s shares, one request at a time) to each: a warm-up, then ``--requests`` with
counting switched on (``callgrind_control -i on``) and off again. Every instruction the worker's
process ran in between, in all its threads, is divided by the requests.

CPU time and req/s on a shared machine move by 10-40 % between runs of the same code; this count
moves by well under 1 %, so a change of a few percent in the work per request can be seen. It
counts instructions, not cycles (a cache miss costs nothing here), and nothing that runs outside
the worker (PostgreSQL, the kernel). The callgrind files are kept in ``.bench/callgrind/`` for
``callgrind_annotate``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import dataset
from bench.harness import BIN, DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE, REPO, free_port, service_env

USERS = 50
WARM_UP = 60
CREATE = b'{"title": "Bench task", "description": "made by the bench", "priority": "high"}'
PATCH = b'{"title": "Renamed by the bench", "priority": "low", "description": null}'


class Mix:
    """bench/mix.lua's requests, from a seeded generator: every server gets the same sequence."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client
        self._random = random.Random(20261123)
        self._tokens = {number: dataset.token_for(number) for number in range(1, USERS + 1)}
        self._created: list[tuple[str, dict[str, str], str]] = []

    def send(self) -> None:
        number = self._random.randint(1, USERS)
        user = dataset.user_id(number)
        auth = {"Authorization": f"Bearer {self._tokens[number]}"}
        tasks = f"/api/{user}/tasks"
        seeded = self._random.randint(1, dataset.TASKS_PER_MIX_USER)
        task = f"{tasks}/{number:08x}-0000-4000-8000-{seeded:012x}"
        roll = self._random.randint(1, 100)
        if roll <= 50:
            response = self._client.get(tasks, headers=auth)
        elif roll <= 70:
            response = self._client.get(task, headers=auth)
        elif roll <= 80 or (roll > 95 and not self._created):
            json_body = {**auth, "Content-Type": "application/json"}
            response = self._client.post(tasks, headers=json_body, content=CREATE)
            if response.status_code == 201:
                self._created.append((tasks, auth, response.json()["id"]))
        elif roll <= 90:
            merge_patch = {**auth, "Content-Type": "application/merge-patch+json"}
            response = self._client.patch(task, headers=merge_patch, content=PATCH)
        elif roll <= 95:
            response = self._client.patch(f"{task}/complete", headers=auth)
        else:
            owner_tasks, owner_auth, victim = self._created.pop()
            response = self._client.delete(f"{owner_tasks}/{victim}", headers=owner_auth)
        if response.status_code >= 300:
            raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code}")


@dataclass(frozen=True)
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path


def count(server: Server, requests: int, out_dir: Path, number: int) -> float:
    """Millions of instructions per request of the server's one process."""
    name = f"server-{number}"
    port = free_port()
    out = out_dir / f"{name}.out"
    for stale in out_dir.glob(f"{name}.out*"):
        stale.unlink()
    process = subprocess.Popen(
        [
            *("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"),
            *server.command,
            *("--port", str(port)),
        ],
        env=server.env,
        cwd=server.cwd,
        stdout=(out_dir / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
    )

    def switch(state: str) -> None:
        subprocess.run(["callgrind_control", "-i", state, str(process.pid)], check=True, capture_output=True)

    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 600  # an import under valgrind takes 20-60 s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {out_dir / name}.log")
            try:
                if httpx.get(f"{base}/health", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        with httpx.Client(base_url=base, timeout=300) as client:
            mix = Mix(client)
            for _ in range(WARM_UP):
                mix.send()
            switch("on")
            for _ in range(requests):
                mix.send()
            switch("off")
    finally:
        process.terminate()
        process.wait(timeout=120)
    return total_instructions(out) / requests / 1e6


def total_instructions(out: Path) -> int:
    for line in out.read_text(errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, action="append", help="a source tree to serve (repeatable)")
    parser.add_argument("--fastapi", action="store_true", help="count the FastAPI comparator too")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--data-dir", type=Path, default=REPO / ".bench")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install -y valgrind")

    database = dataset.start_postgres(args.data_dir)
    dataset.seed(database)
    out_dir = args.data_dir / "callgrind"
    out_dir.mkdir(parents=True, exist_ok=True)
    env = service_env(database, 1, DEFAULT_POOL_SIZE, DEFAULT_MAX_OVERFLOW)
    serve = [str(BIN / "python"), "-c", "from tasks_api.cli import main; main()", "serve", "--workers", "1"]
    servers = [
        Server(str(tree), serve, {**env, "PYTHONPATH": str(tree)}, tree)
        for tree in (path.resolve() for path in args.tree or [REPO])
    ]
    if args.fastapi:
        uvicorn = [str(BIN / "uvicorn"), "bench.fastapi_tasks:app", "--no-access-log"]
        servers.append(Server("FastAPI comparator", [*uvicorn, "--log-level", "warning"], env, REPO))
    print(f"| server | million instructions per request ({args.requests} requests of the mix) |")
    print("|---|---|")
    for number, server in enumerate(servers):
        print(f"| {server.name} | {count(server, args.requests, out_dir, number):.3f} |", flush=True)
    print(f"\ncallgrind files: {out_dir}/server-N.out (N: the row, from 0)")


if __name__ == "__main__":
    main()
