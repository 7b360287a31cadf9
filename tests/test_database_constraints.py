"""PostgreSQL refuses rows that break the contract, whatever the code above it does."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import DataError, IntegrityError

VALID_TASK: dict[str, Any] = {
    "title": "Buy milk",
    "description": None,
    "status": "pending",
    "priority": "normal",
    "completed_at": None,
}


@pytest.fixture
def owner(engine: sa.Engine, database_url: URL) -> str:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (id, issuer, subject, created_at) VALUES ('alice', 'i', 'alice', now())"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO task_lists (id, user_id, name, is_default, created_at, updated_at)"
                " SELECT gen_random_uuid(), id, 'Tasks', true, now(), now() FROM users"
            )
        )
    return "alice"


def insert_task(engine: sa.Engine, **overrides: Any) -> None:
    row = {**VALID_TASK, **overrides}
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO tasks (id, user_id, title, description, status, priority, created_at,"
                " updated_at, completed_at, list_id) SELECT gen_random_uuid(), 'alice', :title,"
                " :description, :status, :priority, now(), now(), :completed_at, id"
                " FROM task_lists WHERE user_id = 'alice'"
            ),
            row,
        )


def test_a_valid_row_is_accepted(engine: sa.Engine, owner: str) -> None:
    insert_task(engine)


@pytest.mark.parametrize(
    "overrides",
    [
        {"title": ""},
        {"title": " \t\n "},
        {"title": "x" * 201},
        {"description": "x" * 4001},
        {"status": "done"},
        {"priority": "urgent"},
        {"status": "completed", "completed_at": None},
        {"status": "pending", "completed_at": "2026-01-01T00:00:00Z"},
    ],
)
def test_rows_breaking_the_contract_are_refused(
    engine: sa.Engine, owner: str, overrides: dict[str, Any]
) -> None:
    # A length is refused by the column type (DataError), everything else by a CHECK constraint.
    with pytest.raises((IntegrityError, DataError), match=r"check constraint|value too long"):
        insert_task(engine, **overrides)


def test_deleting_a_user_deletes_their_tasks(engine: sa.Engine, owner: str) -> None:
    insert_task(engine)

    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM users WHERE id = 'alice'"))
        assert connection.scalar(sa.text("SELECT count(*) FROM tasks")) == 0


def test_emails_are_unique_whatever_their_case(engine: sa.Engine, database_url: URL) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (id, issuer, subject, email, created_at) "
                "VALUES ('a', 'i', 'a', 'Ada@Example.com', now())"
            )
        )

    with pytest.raises(IntegrityError, match="uq_users_email_lower"), engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (id, issuer, subject, email, created_at) "
                "VALUES ('b', 'i', 'b', 'ada@example.COM', now())"
            )
        )
