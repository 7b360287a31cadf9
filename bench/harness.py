"""What the bench scripts share: wrk (installed if missing), services as child processes, RSS."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import URL

from bench.dataset import BENCH_SECRET, DEEP_TASKS
from tasks_api.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
BIN = Path(sys.executable).parent


def ensure_wrk() -> str:
    """wrk from the Debian packages (apt-get as root) when it is not on the PATH."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it from the Debian packages ...")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, check=False, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, timeout=600)
        subprocess.run(install, check=True, timeout=600)
    return shutil.which("wrk") or "wrk"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    """A server under test: a uvicorn master process and its workers."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    cwd: Path = REPO
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> None:
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [*self.command, "--port", str(self.port)],
            env=self.env,
            cwd=self.cwd,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = began + 120
        with httpx.Client(timeout=2) as http:  # one: httpx.get costs 30 ms of CPU a call
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited; see {log}")
                try:
                    if http.get(f"{self.url}/health").status_code == 200:
                        self.started_in = time.perf_counter() - began
                        return
                except httpx.TransportError:
                    time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer /health within 120 s; see {log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def worker_pids(self) -> list[int]:
        """uvicorn's worker processes (spawned children), not multiprocessing's resource tracker;
        with one worker, uvicorn serves from the process itself."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        workers = []
        for pid in children:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                workers.append(int(pid))
        return workers or [self.process.pid]

    def worker_cpu_seconds(self) -> float:
        """User + system CPU the workers have used so far (their threads included)."""
        return sum(process_cpu_seconds(pid) for pid in self.worker_pids())

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes


_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU of a process; ``reaped_children``: plus that of its children that have
    exited (PostgreSQL's backends, once the postmaster has reaped them)."""
    # /proc/<pid>/stat: the command may hold spaces, so fields are counted after its ")".
    fields = [int(field) for field in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:15]]
    utime, stime, cutime, cstime = fields
    return (utime + stime + (cutime + cstime if reaped_children else 0)) / _TICKS_PER_SECOND


def postgres_cpu_seconds(postmaster: int) -> float:
    """CPU the whole PostgreSQL server has used: the postmaster, its live processes, and every
    backend that has exited (a connection opened and closed by a pool's overflow counts too)."""
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    live = 0.0
    for child in children:
        try:
            live += process_cpu_seconds(int(child))
        except FileNotFoundError:  # exited since the list was read; counted once reaped
            continue
    return process_cpu_seconds(postmaster, reaped_children=True) + live


def machine_busy_seconds() -> float:
    """CPU time every core of this machine has spent not idle: services, PostgreSQL (its
    short-lived backends included), the load generator, the kernel and anyone else."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / _TICKS_PER_SECOND


# tasks-api's defaults; the comparator gets the same unless a bench says otherwise.
DEFAULT_POOL_SIZE: int = Settings.model_fields["db_pool_size"].default
DEFAULT_MAX_OVERFLOW: int = Settings.model_fields["db_max_overflow"].default


def service_env(database: URL, workers: int, pool_size: int, max_overflow: int) -> dict[str, str]:
    """One environment for both services (each reads what it knows). The per-user request rate and
    the task quota are raised past what the bench reaches: the mix is 32 connections over 1,000
    users, and one seeded user holds 1,000,000 tasks."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TASKS_API_")}
    env.update(
        {
            "DATABASE_URL": database.render_as_string(hide_password=False),
            "JWT_SECRET": BENCH_SECRET,
            "TASKS_API_LOG_LEVEL": "warning",
            "TASKS_API_WORKERS": str(workers),
            "TASKS_API_DB_POOL_SIZE": str(pool_size),
            "TASKS_API_DB_MAX_OVERFLOW": str(max_overflow),
            "TASKS_API_MIGRATE_ON_START": "false",
            "TASKS_API_REQUESTS_PER_USER_PER_MINUTE": str(10**9),
            "TASKS_API_TASKS_PER_USER": str(2 * DEEP_TASKS),
        }
    )
    env.pop("DATABASE_URL_UNPOOLED", None)
    return env


def tasks_api_service(env: dict[str, str], workers: int, source: Path | None = None) -> Service:
    """tasks-api as production runs it: ``tasks-api serve`` (its HTTP edge, logging, metrics
    directory and worker start-up checks included). ``source``: serve that source tree instead
    (``git archive <commit> | tar -x -C DIR``), first on the import path."""
    serve = [str(BIN / "python"), "-c", "from tasks_api.cli import main; main()", "serve"]
    service = Service("tasks-api", [*serve, "--workers", str(workers)], env)
    if source is not None:
        service.env = {**env, "PYTHONPATH": str(source.resolve())}
        service.cwd = source.resolve()
    return service


def _uvicorn(app: str, workers: int) -> list[str]:
    """The comparator under the uvicorn settings ``tasks-api serve`` uses where they bear on speed
    (no access log, no server header). The worker health-check timeout is raised because on a
    loaded 2-core machine an import can take longer than uvicorn's default 5 s."""
    return [
        str(BIN / "uvicorn"),
        app,
        "--workers",
        str(workers),
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
        "--timeout-worker-healthcheck",
        "120",
    ]


def fastapi_service(env: dict[str, str], workers: int) -> Service:
    return Service("fastapi", _uvicorn("bench.fastapi_tasks:app", workers), env)


def run_wrk(
    wrk: str,
    url: str,
    users_lua: Path,
    *,
    seconds: int,
    connections: int,
    delay_ms: float = 0.0,
    service: Service | None = None,
    postmaster: int | None = None,
) -> dict[str, Any]:
    """One wrk run of the mix; its Lua ``done`` prints one BENCH-RESULT line of JSON. With
    ``service``, also the CPU each request cost: its workers' (``worker_cpu_ms``), PostgreSQL's
    (``postgres_cpu_ms``, given the ``postmaster``'s pid) and the whole machine's
    (``machine_cpu_ms``)."""
    command = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH_DIR / "mix.lua"),
        url,
        "--",
        str(users_lua),
        str(delay_ms),
    ]
    workers_before = service.worker_cpu_seconds() if service else 0.0
    postgres_before = postgres_cpu_seconds(postmaster) if postmaster else 0.0
    machine_before = machine_busy_seconds()
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    machine_used = machine_busy_seconds() - machine_before
    postgres_used = postgres_cpu_seconds(postmaster) - postgres_before if postmaster else 0.0
    workers_used = service.worker_cpu_seconds() - workers_before if service else 0.0
    line = next(line for line in output.splitlines() if line.startswith("BENCH-RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH-RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if service is not None and result["requests"]:
        result["worker_cpu_ms"] = 1000 * workers_used / result["requests"]
        result["machine_cpu_ms"] = 1000 * machine_used / result["requests"]
        result["postgres_cpu_ms"] = 1000 * postgres_used / result["requests"]
    return result


def wait_for_rate(wrk: str, url: str, users_lua: Path, *, connections: int, target: float) -> float:
    """The wait (ms) each connection takes between requests so that the mix is offered at about
    ``target`` req/s. A closed loop: rate = connections / (latency + wait); calibrated once."""
    wait_ms = 1000 * connections / target
    probe = run_wrk(wrk, url, users_lua, seconds=5, connections=connections, delay_ms=wait_ms)
    service_ms = max(0.0, 1000 * connections / float(probe["rps"]) - wait_ms)
    return max(0.0, 1000 * connections / target - service_ms)
