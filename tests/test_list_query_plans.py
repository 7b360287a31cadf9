"""A deep page of a large list is an index range scan, never a table scan (EXPLAIN says so)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.task_query import TaskFilters, TaskOrder
from models.task_repository import TaskRepository
from models.todo_list_repository import TodoListRepository
from models.user import Owner
from tasks_api import schema_migrations
from tests.api.helpers import SORTS
from tests.conftest import create_database

TASKS_PER_USER = 20_000


@pytest.fixture(scope="module")
def large_list(postgres_admin_url: URL) -> Iterator[sa.Engine]:
    """Three users with 20,000 tasks each, statistics up to date; 60 tasks mention a needle, and
    the same 60 carry the tag "Urgent"."""
    url = create_database(postgres_admin_url, "tasks_large_list")
    schema_migrations.upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (id, issuer, subject, created_at) "
                "SELECT 'user' || n, 'urn:tasks-api:built-in', 'user' || n, now() "
                "FROM generate_series(1, 3) n"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO task_lists (id, user_id, name, is_default, created_at, updated_at)"
                " SELECT gen_random_uuid(), id, 'Tasks', true, now(), now() FROM users"
            )
        )
        connection.execute(
            sa.text(
                """
                INSERT INTO tasks (id, user_id, title, description, status, priority, due_at,
                                   created_at, updated_at, version, list_id)
                SELECT gen_random_uuid(), 'user' || (n % 3 + 1),
                       -- a vocabulary of some 8,000 words, so the statistics look like real text
                       'task w' || (n % 4999) || ' v' || (n % 3001) || ' ' || n,
                       CASE WHEN n % 1000 = 0 THEN 'needle in the haystack' END,
                       'pending', (ARRAY['low', 'normal', 'high'])[n % 3 + 1],
                       CASE WHEN n % 5 = 0 THEN NULL ELSE now() + n * interval '1 minute' END,
                       now() - n * interval '1 second', now() - (n % 997) * interval '1 second', 1,
                       (SELECT id FROM task_lists WHERE user_id = 'user' || (n % 3 + 1))
                FROM generate_series(1, :count) n
                """
            ),
            {"count": TASKS_PER_USER * 3},
        )
        connection.execute(
            sa.text(
                "UPDATE tasks SET tags = ARRAY['Urgent'], tag_keys = ARRAY['urgent']"
                " WHERE description IS NOT NULL"
            )
        )
        connection.execute(sa.text("ANALYZE tasks"))
    yield engine
    engine.dispose()


def plan_of_page(engine: sa.Engine, sort: str, filters: TaskFilters, depth: int) -> dict[str, Any]:
    """EXPLAIN of the exact statement the repository runs for the page after ``depth`` tasks."""
    session_factory = sessionmaker(engine, class_=Session)
    order = TaskOrder.parse(sort)
    with session_factory() as session:
        owner = Owner("user1")
        repository = TaskRepository(session, owner, TodoListRepository(session, owner))
        position = None
        statements: list[tuple[str, Any]] = []
        # Reach the deep position in big steps, then capture the next page's query.
        for _ in range(depth // 100):
            _, position = repository.page(filters, order, 100, position)

        def capture(*event: Any) -> None:
            _connection, _cursor, statement, parameters, *_ = event
            statements.append((statement, parameters))

        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            repository.page(filters, order, 20, position)
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)
        statement, parameters = statements[-1]
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        row = cursor.fetchone()
        assert row is not None
        plan: dict[str, Any] = row[0][0]["Plan"]
        cursor.close()
        return plan


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


@pytest.mark.parametrize("sort", SORTS)
def test_a_deep_page_is_an_index_range_scan(large_list: sa.Engine, sort: str) -> None:
    plan = plan_of_page(large_list, sort, TaskFilters(), depth=15_000)

    node_types = [node["Node Type"] for node in nodes(plan)]
    assert "Seq Scan" not in node_types, json.dumps(plan, indent=1)
    assert "Sort" not in node_types, json.dumps(plan, indent=1)
    index_names = {node.get("Index Name") for node in nodes(plan)}
    assert any(name and name.startswith("ix_tasks_user_id_") for name in index_names), index_names


def test_text_search_uses_the_gin_index(large_list: sa.Engine) -> None:
    plan = plan_of_page(large_list, "created_at", TaskFilters(q="needle"), depth=0)

    index_names = {node.get("Index Name") for node in nodes(plan)}
    assert "ix_tasks_owner_search" in index_names, json.dumps(plan, indent=1)
    assert "Seq Scan" not in [node["Node Type"] for node in nodes(plan)]


def test_a_tag_filter_uses_the_tag_index(large_list: sa.Engine) -> None:
    plan = plan_of_page(large_list, "created_at", TaskFilters(tag=["URGENT"]), depth=0)

    index_names = {node.get("Index Name") for node in nodes(plan)}
    assert "ix_tasks_tag_keys" in index_names, json.dumps(plan, indent=1)
    assert "Seq Scan" not in [node["Node Type"] for node in nodes(plan)]
