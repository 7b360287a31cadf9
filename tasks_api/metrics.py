"""Prometheus metrics: requests, latency, in-flight requests, the connection pool, refusals.

Several worker processes serve one port, so a scrape reaches one worker at random. With
``PROMETHEUS_MULTIPROC_DIR`` set (``tasks-api serve`` sets it to a fresh folder), every worker
writes its values to files there and ``/metrics`` adds them up, whichever worker answers
(prometheus_client's multiprocess mode). Without it (tests, one process) values stay in memory.
Each app gets its own registry: no module-level metric, so apps can be built more than once.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format (0.0.4, what generate_latest writes), which Prometheus reads as plain
# text/plain; Connexion compares media types without parameters to the contract's.
EXPOSITION_MEDIA_TYPE = "text/plain"
# Latency buckets from 5 ms (a cached read) to 10 s (the statement timeout).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNROUTED = "unrouted"  # requests no operation answered (unknown paths, CORS preflights)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR_VARIABLE))


class Metrics:
    def __init__(self) -> None:
        self._registry = CollectorRegistry()
        registry = self._registry
        self.requests = Counter(
            "tasks_api_requests",
            "Requests answered, by operationId and status code.",
            ["operation", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "tasks_api_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by operationId and status.",
            ["operation", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "tasks_api_requests_in_flight",
            "Requests being handled now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_checked_out = Gauge(
            "tasks_api_db_pool_checked_out",
            "Database connections lent to requests now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_overflow = Gauge(
            "tasks_api_db_pool_overflow",
            "Connections open beyond the pool size now (TASKS_API_DB_MAX_OVERFLOW at most).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_exhausted = Counter(
            "tasks_api_db_pool_exhausted",
            "Checkouts that took a worker's last free connection: until one comes back, its next "
            "requests wait (up to the connect timeout, then 503).",
            registry=registry,
        )
        self.sign_in_refusals = Counter(
            "tasks_api_sign_in_refusals",
            "Token exchanges refused: wrong email or password (401), or too many failures (429).",
            ["reason"],
            registry=registry,
        )
        self.database_unavailable = Counter(
            "tasks_api_database_unavailable",
            "Requests answered 503 because the database could not be reached in time.",
            registry=registry,
        )

    def observe_request(self, operation: str, status: int, seconds: float) -> None:
        labels = (operation, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)
        if operation == "createToken" and status in {401, 429}:
            self.sign_in_refusals.labels(
                "invalid_credentials" if status == 401 else "too_many_failures"
            ).inc()

    def count_database_unavailable(self) -> None:
        self.database_unavailable.inc()

    def instrument_pool(self, engine: Engine, capacity: int) -> None:
        """Follow the pool through SQLAlchemy's events (its own counters are per process)."""
        pool = engine.pool

        @event.listens_for(pool, "checkout")
        def _checked_out(*_: Any) -> None:
            self.pool_checked_out.inc()
            self.pool_overflow.set(max(0, pool.overflow()))  # type: ignore[attr-defined]
            if pool.checkedout() >= capacity:  # type: ignore[attr-defined]
                self.pool_exhausted.inc()

        @event.listens_for(pool, "checkin")
        def _checked_in(*_: Any) -> None:
            self.pool_checked_out.dec()
            self.pool_overflow.set(max(0, pool.overflow()))  # type: ignore[attr-defined]

    def exposition(self) -> bytes:
        if not multiprocess_mode():
            return generate_latest(self._registry)
        # Every worker's files, added up: this process's registry alone would show one worker.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    @staticmethod
    def process_stopped() -> None:
        """A stopping worker's in-flight and pool gauges must stop counting (``livesum``)."""
        if multiprocess_mode():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
