"""Where the latency tail at 70 % of peak is: the service's own latency histogram, per operation.

    uv run --group bench python -m bench.tail_by_operation [--seconds 20] [--fraction 0.7]

Serves tasks-api (2 workers) on the bench database, finds its peak on the mix (``bench/mix.lua``),
holds the offered load near ``--fraction`` of it, and prints the client's p50/p99 (wrk's) beside
each operation's server-side latency (``tasks_api_request_duration_seconds``, scraped from
``/metrics`` before and after the run): the bucket holding its median and its 99th percentile, and
the share of its requests over 50 ms. A tail the server already sees is in the workers (CPU, GIL,
PostgreSQL), not in the kernel's queues or the load generator.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import httpx

from bench import dataset
from bench.harness import (
    DEFAULT_MAX_OVERFLOW,
    DEFAULT_POOL_SIZE,
    REPO,
    ensure_wrk,
    run_wrk,
    service_env,
    tasks_api_service,
    wait_for_rate,
)

METRICS_TOKEN = "bench-metrics-token-" + "x" * 20
CONNECTIONS = 32
WORKERS = 2
BUCKET = re.compile(r"^tasks_api_request_duration_seconds_bucket\{(?P<labels>[^}]*)\} (?P<count>\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')

Histograms = dict[str, dict[float, float]]  # operation -> upper bound (s) -> cumulative count


def scrape(url: str) -> Histograms:
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30).text
    histograms: Histograms = defaultdict(lambda: defaultdict(float))
    for line in text.splitlines():
        if match := BUCKET.match(line):
            labels = dict(LABEL.findall(match["labels"]))
            bound = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            histograms[labels["operation"]][bound] += float(match["count"])  # statuses added up
    return histograms


def bucket_of(cumulative: dict[float, float], quantile: float) -> float:
    """The upper bound (s) of the bucket holding ``quantile`` of the requests."""
    total = cumulative[float("inf")]
    return next(bound for bound, count in sorted(cumulative.items()) if count >= quantile * total)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--fraction", type=float, default=0.7)
    args = parser.parse_args()

    wrk = ensure_wrk()
    database = dataset.start_postgres(REPO / ".bench")
    dataset.seed(database)
    env = service_env(database, WORKERS, DEFAULT_POOL_SIZE, DEFAULT_MAX_OVERFLOW)
    env["TASKS_API_METRICS_TOKEN"] = METRICS_TOKEN
    with tempfile.TemporaryDirectory() as scratch:
        users_lua = dataset.tokens_file(Path(scratch) / "users.lua")
        service = tasks_api_service(env, WORKERS)
        service.start(Path(scratch) / "tasks-api.log")
        try:
            run_wrk(wrk, service.url, users_lua, seconds=5, connections=CONNECTIONS)  # warm-up
            peak = run_wrk(wrk, service.url, users_lua, seconds=12, connections=CONNECTIONS)["rps"]
            target = args.fraction * peak
            wait_ms = wait_for_rate(wrk, service.url, users_lua, connections=CONNECTIONS, target=target)
            before = scrape(service.url)
            run = run_wrk(
                wrk, service.url, users_lua, seconds=args.seconds, connections=CONNECTIONS, delay_ms=wait_ms
            )
            after = scrape(service.url)
        finally:
            service.stop()

    print(
        f"peak {peak:.0f} req/s; at {run['rps']:.0f} req/s ({run['rps'] / peak:.0%} of it) the client "
        f"saw p50 {run['p50_us'] / 1000:.1f} ms, p99 {run['p99_us'] / 1000:.1f} ms\n"
    )
    print("| operation | requests | server p50 within ms | server p99 within ms | over 50 ms |")
    print("|---|---|---|---|---|")
    for operation, cumulative in sorted(after.items()):
        during = {
            bound: count - before.get(operation, {}).get(bound, 0.0) for bound, count in cumulative.items()
        }
        total = during[float("inf")]
        if total < 1 or operation == "getMetrics":
            continue
        over_50_ms = 1 - during[0.05] / total
        print(
            f"| {operation} | {total:.0f} | {1000 * bucket_of(during, 0.5):.0f} | "
            f"{1000 * bucket_of(during, 0.99):.0f} | {over_50_ms:.1%} |"
        )


if __name__ == "__main__":
    main()
