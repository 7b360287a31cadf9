"""Liveness and readiness probes."""

from __future__ import annotations

from typing import cast

from handlers.context import HandlerResult, app_state, json_result
from tasks_api.database import Database
from tasks_api.problems import SERVICE_UNAVAILABLE, problem_exception
from tasks_api.schema_migrations import current_revision


def get_health() -> HandlerResult:
    return json_result({"status": "ok"})


def get_readiness() -> HandlerResult:
    database = cast(Database, app_state("database"))
    expected = cast(str, app_state("expected_migration"))
    with database.engine.connect() as connection:
        revision = current_revision(connection)
    if revision != expected:
        raise problem_exception(
            SERVICE_UNAVAILABLE,
            f"The database schema is at {revision or 'no revision'}, not {expected}: "
            "run `tasks-api db upgrade`.",
            headers={"Retry-After": "30"},
        )
    return json_result({"status": "ready", "migration": revision})
