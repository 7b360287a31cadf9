"""tasks-api against its FastAPI + SQLModel equivalent, side by side, on the same data and machine.

    uv run --group bench python -m bench.compare [--workers 2] [--connections 32] [--seconds 20]
                                                 [--rounds 2] [--soak 0] [--tasks-api-src DIR]

Starts an embedded PostgreSQL (kept in ``.bench/``; seeded once), both services with the same
worker count and pool (tasks-api through ``tasks-api serve``, as production runs it), and drives
the authenticated CRUD mix (``bench/mix.lua``) with wrk from its own process, alternating A B A B
(A B C A B C with ``--tasks-api-src``: this tree, that tree, FastAPI). Then: the first page of a
1,000,000-task user against a 1,000-task user; latency at 70% of tasks-api's peak; optionally RSS
over a long (``--soak``) run. Prints markdown tables; the numbers recorded in docs/performance.md
come from here. Every loop is bounded; all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import dataset
from bench.harness import (
    DEFAULT_MAX_OVERFLOW,
    DEFAULT_POOL_SIZE,
    REPO,
    Service,
    ensure_wrk,
    fastapi_service,
    run_wrk,
    service_env,
    tasks_api_service,
    wait_for_rate,
)

BEFORE = "tasks-api-before"
# The load average is the machine's (1 minute, at the end of the run): on a shared machine it says
# how much of the two cores the services had.
# CPU per request (the workers', and the whole machine's: PostgreSQL, wrk and the kernel too) is
# what decides throughput when the cores are busy, and it moves far less than req/s with the load.
TABLE_HEAD = (
    "| run | req/s | p50 ms | p95 ms | p99 ms | errors by status | CPU ms/request: workers "
    "| PostgreSQL | machine | RSS per worker MB | load avg |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def _row(name: str, result: dict[str, Any], rss: list[float]) -> str:
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(result["statuses"].items()))
    errors = ", ".join(
        f"{status}: {count}" for status, count in sorted(result["statuses"].items()) if int(status) >= 400
    )
    return (
        f"| {name} | {result['rps']:.0f} | {result['p50_us'] / 1000:.1f} | {result['p95_us'] / 1000:.1f} "
        f"| {result['p99_us'] / 1000:.1f} | {errors or 'none'} ({result['socket_errors']} socket) "
        f"| {result.get('worker_cpu_ms', 0):.2f} | {result.get('postgres_cpu_ms', 0):.2f} "
        f"| {result.get('machine_cpu_ms', 0):.2f} "
        f"| {' / '.join(f'{size:.0f}' for size in rss)} | {os.getloadavg()[0]:.1f} |  <!-- {statuses} -->"
    )


def measured_run(
    args: argparse.Namespace,
    wrk: str,
    users_lua: Path,
    service: Service,
    *,
    seconds: int,
    delay_ms: float = 0.0,
) -> dict[str, Any]:
    """One wrk run of the mix against ``service``, with the CPU each request cost."""
    return run_wrk(
        wrk,
        service.url,
        users_lua,
        seconds=seconds,
        connections=args.connections,
        delay_ms=delay_ms,
        service=service,
        postmaster=args.postmaster,
    )


def compare(args: argparse.Namespace, wrk: str, users_lua: Path, services: list[Service]) -> dict[str, float]:
    print(f"\n## The mix: {args.connections} connections, {args.seconds} s per run, runs interleaved\n")
    print(TABLE_HEAD)
    for service in services:  # warm each: imports done, pools filled, caches hot
        run_wrk(wrk, service.url, users_lua, seconds=args.warmup, connections=args.connections)
    throughput: dict[str, list[float]] = {service.name: [] for service in services}
    worker_cpu: dict[str, list[float]] = {service.name: [] for service in services}
    postgres_cpu: dict[str, list[float]] = {service.name: [] for service in services}
    for round_number in range(1, args.rounds + 1):
        for service in services:
            result = measured_run(args, wrk, users_lua, service, seconds=args.seconds)
            throughput[service.name].append(result["rps"])
            worker_cpu[service.name].append(result["worker_cpu_ms"])
            postgres_cpu[service.name].append(result["postgres_cpu_ms"])
            print(_row(f"{service.name} #{round_number}", result, service.worker_rss_mb()), flush=True)
    medians = {name: statistics.median(values) for name, values in throughput.items()}
    cpu = {name: statistics.median(values) for name, values in worker_cpu.items()}
    print("\nmedian throughput: " + ", ".join(f"{name} {rps:.0f} req/s" for name, rps in medians.items()))
    print("median worker CPU per request: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items()))
    print(
        "median PostgreSQL CPU per request: "
        + ", ".join(f"{name} {statistics.median(ms):.2f} ms" for name, ms in postgres_cpu.items())
    )
    if "fastapi" in medians:
        for name, rps in medians.items():
            if name != "fastapi":
                print(
                    f"ratio {name} / fastapi: {rps / medians['fastapi']:.2f}x throughput, "
                    f"{cpu['fastapi'] / cpu[name]:.2f}x requests per worker CPU second"
                )
    if BEFORE in medians and "tasks-api" in medians:
        print(f"ratio tasks-api / {BEFORE}: {medians['tasks-api'] / medians[BEFORE]:.2f}x")
    return medians


def first_page_latency(service: Service, requests: int) -> None:
    """Sequential first pages of the deep and the shallow user, interleaved, one connection each."""
    timings: dict[str, list[float]] = {"1,000,000 tasks": [], "1,000 tasks": []}
    users = {"1,000,000 tasks": dataset.DEEP_USER, "1,000 tasks": dataset.SHALLOW_USER}
    clients = {
        label: httpx.Client(
            base_url=service.url,
            headers={"Authorization": f"Bearer {dataset.token_for(number)}"},
        )
        for label, number in users.items()
    }
    for index in range(requests + 20):
        for label, number in users.items():
            began = time.perf_counter()
            response = clients[label].get(f"/api/{dataset.user_id(number)}/tasks")
            elapsed = (time.perf_counter() - began) * 1000
            response.raise_for_status()
            if index >= 20:  # the first requests warm the pages the query reads
                timings[label].append(elapsed)
    for client in clients.values():
        client.close()
    print(f"\n## First page (20 items), {requests} sequential requests each\n")
    print("| user | median ms | p95 ms |\n|---|---|---|")
    for label, samples in timings.items():
        ordered = sorted(samples)
        print(f"| {label} | {statistics.median(ordered):.2f} | {ordered[int(len(ordered) * 0.95)]:.2f} |")
    deep, shallow = (statistics.median(samples) for samples in timings.values())
    print(f"\nratio 1,000,000 / 1,000: {deep / shallow:.2f}x")


def latency_at(
    *, args: argparse.Namespace, wrk: str, users_lua: Path, service: Service, peak: float, fraction: float
) -> None:
    """Offered load held near ``fraction`` of the peak: each connection waits between requests."""
    target = peak * fraction
    wait_ms = wait_for_rate(wrk, service.url, users_lua, connections=args.connections, target=target)
    result = measured_run(args, wrk, users_lua, service, seconds=args.seconds, delay_ms=wait_ms)
    print(f"\n## {service.name} at {fraction:.0%} of its peak ({target:.0f} req/s offered)\n")
    print(TABLE_HEAD)
    print(_row(f"{service.name} ({result['rps'] / peak:.0%} of peak)", result, service.worker_rss_mb()))


def soak(args: argparse.Namespace, wrk: str, users_lua: Path, service: Service) -> None:
    print(f"\n## RSS over {args.soak} s of the mix at full load ({service.name})\n")
    print("| after s | req/s | worker CPU ms/request | RSS per worker MB |\n|---|---|---|---|")
    slices = max(1, args.soak // 30)
    for index in range(1, slices + 1):
        result = measured_run(args, wrk, users_lua, service, seconds=30)
        rss = " / ".join(f"{size:.0f}" for size in service.worker_rss_mb())
        print(f"| {index * 30} | {result['rps']:.0f} | {result['worker_cpu_ms']:.2f} | {rss} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=DEFAULT_POOL_SIZE)
    parser.add_argument("--max-overflow", type=int, default=DEFAULT_MAX_OVERFLOW)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20, help="per measured run")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="A B rounds (2: A B A B)")
    parser.add_argument("--first-page-requests", type=int, default=200)
    parser.add_argument("--soak", type=int, default=0, help="seconds of RSS tracking at the end (0: skip)")
    parser.add_argument(
        "--only", choices=["tasks-api", BEFORE, "fastapi"], action="append", help="run these services alone"
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / ".bench")
    parser.add_argument(
        "--tasks-api-src",
        type=Path,
        help="also serve tasks-api from this source tree (e.g. `git archive main | tar -x -C DIR`), as "
        f"'{BEFORE}': the before/after comparison, in the same rounds against the same comparator",
    )
    args = parser.parse_args()

    wrk = ensure_wrk()
    database = dataset.start_postgres(args.data_dir)
    dataset.seed(database)
    args.postmaster = dataset.postmaster_pid(args.data_dir)
    env = service_env(database, args.workers, args.pool_size, args.max_overflow)
    with tempfile.TemporaryDirectory() as scratch:
        ours = tasks_api_service(env, args.workers)
        services = [ours, fastapi_service(env, args.workers)]
        if args.tasks_api_src:
            before = tasks_api_service(env, args.workers, args.tasks_api_src)
            before.name = BEFORE
            services.insert(1, before)
            print(f"{BEFORE}: tasks-api served from {args.tasks_api_src}")
        if args.only:
            services = [service for service in services if service.name in args.only]
        users_lua = dataset.tokens_file(Path(scratch) / "users.lua")
        try:
            for service in services:
                service.start(Path(scratch) / f"{service.name}.log")
            print(f"workers: {args.workers}, pool: {args.pool_size} + {args.max_overflow} per worker")
            for service in services:
                print(f"{service.name}: /health answered {service.started_in:.2f} s after start")
            medians = compare(args, wrk, users_lua, services)
            if ours in services:
                first_page_latency(ours, args.first_page_requests)
                latency_at(
                    args=args,
                    wrk=wrk,
                    users_lua=users_lua,
                    service=ours,
                    peak=medians[ours.name],
                    fraction=0.7,
                )
                if args.soak:
                    soak(args, wrk, users_lua, ours)
        finally:
            for service in services:
                service.stop()


if __name__ == "__main__":
    main()
