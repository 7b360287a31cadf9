"""Liveness and readiness probes, and the metrics."""

from __future__ import annotations

from handlers.context import HandlerResult, json_result, services
from tasks_api.metrics import EXPOSITION_MEDIA_TYPE
from tasks_api.problems import SERVICE_UNAVAILABLE, problem_exception
from tasks_api.schema_migrations import current_revision


def get_health() -> HandlerResult:
    return json_result({"status": "ok"})


def get_readiness() -> HandlerResult:
    expected = services().expected_migration()
    with services().database.engine.connect() as connection:
        revision = current_revision(connection)
    if revision != expected:
        raise problem_exception(
            SERVICE_UNAVAILABLE,
            f"The database schema is at {revision or 'no revision'}, not {expected}: "
            "run `tasks-api db upgrade`.",
            headers={"Retry-After": "30"},
        )
    return json_result({"status": "ready", "migration": revision})


def get_metrics() -> HandlerResult:
    return services().metrics.exposition(), 200, {"Content-Type": EXPOSITION_MEDIA_TYPE}
