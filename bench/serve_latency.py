"""Start-up time and request latency of `tasks-api serve` on the embedded PostgreSQL.

    uv run python -m bench.serve_latency [--requests 300] [--workers 1]

Everything runs on loopback; every loop is bounded. Numbers are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.harness import free_port
from bench.start_up import serve


def start(data_dir: str, port: int, workers: int) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    process = serve(data_dir, port, workers)
    deadline = started + 60
    with httpx.Client() as http:  # one: httpx.get costs 30 ms of CPU a call (a TLS context)
        while time.perf_counter() < deadline:
            try:
                if http.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                    return process, time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.05)
    process.kill()
    raise RuntimeError("the service did not become ready within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def timed(requests: int, call: Callable[[int], httpx.Response]) -> list[float]:
    samples = []
    for index in range(requests):
        began = time.perf_counter()
        response = call(index)
        samples.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return samples


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"| {name} | {len(samples)} | {statistics.median(ordered):.2f} | {p95:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        process, cold = start(data_dir, port, args.workers)
        stop(process)
        process, warm = start(data_dir, port, args.workers)
        print(f"start-up to /ready: first run {cold:.2f} s (initdb + migrations), later runs {warm:.2f} s\n")
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
                created = [
                    http.post("/api/bench/tasks", json={"title": f"task {i}"}).json()["id"] for i in range(20)
                ]
                rows = [
                    summary("GET /health", timed(args.requests, lambda _: http.get("/health"))),
                    summary(
                        "POST /api/{user_id}/tasks",
                        timed(
                            args.requests, lambda i: http.post("/api/bench/tasks", json={"title": f"t{i}"})
                        ),
                    ),
                    summary(
                        "GET /api/{user_id}/tasks/{task_id}",
                        timed(args.requests, lambda i: http.get(f"/api/bench/tasks/{created[i % 20]}")),
                    ),
                    summary(
                        "PATCH /api/{user_id}/tasks/{task_id}",
                        timed(
                            args.requests,
                            lambda i: http.patch(
                                f"/api/bench/tasks/{created[i % 20]}", json={"priority": "high"}
                            ),
                        ),
                    ),
                ]
            print("| request (sequential) | n | median ms | p95 ms |\n|---|---|---|---|")
            print("\n".join(rows))

            per_client: int = args.requests // args.concurrency

            def get_one(index: int) -> int:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
                    for _ in range(per_client):
                        http.get(f"/api/bench/tasks/{created[index % 20]}").raise_for_status()
                return per_client

            began = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                total = sum(pool.map(get_one, range(args.concurrency)))
            elapsed = time.perf_counter() - began
            print(
                f"\nGET one task, {args.concurrency} concurrent clients, {args.workers} worker(s): "
                f"{total / elapsed:.0f} requests/s"
            )
        finally:
            stop(process)


if __name__ == "__main__":
    main()
