"""Task responses are built from rows without pydantic (``task_json``); they must say exactly what
the public model ``TaskPublic`` says, field for field and in the same order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from models.task import Task, TaskPriority, TaskPublic, TaskStatus
from models.task_rows import TASK_COLUMNS, task_json
from tests.api.helpers import ApiClient, create_list, create_task

SUBJECT = "the subject clients know"


def public(task: Task) -> dict[str, Any]:
    return TaskPublic.of(task, user_id=SUBJECT).model_dump(mode="json")


@pytest.fixture
def representative_tasks(client: ApiClient) -> None:
    create_task(client, title="plain")
    create_task(
        client,
        title="full",
        description="words",
        priority="high",
        status="in_progress",
        due_at="2030-01-02T03:04:05.123456Z",
        tags=["Home", "errands"],
    )
    create_task(client, title="done", status="completed", due_at="2030-01-02T03:04:05+02:00")
    create_task(client, title="elsewhere", list_id=create_list(client)["id"], priority="low", tags=[])
    create_task(client, title="round time", due_at="2030-06-01T00:00:00.120000Z")


@pytest.mark.usefixtures("representative_tasks")
@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_rows_say_what_the_public_model_says(engine: sa.Engine, time_zone: str) -> None:
    """Whatever time zone the session reads timestamps in (psycopg2 gives them its offset)."""
    with Session(engine) as session:
        session.execute(sa.text("SELECT set_config('TimeZone', :zone, false)"), {"zone": time_zone})
        rows = session.connection().execute(sa.select(*TASK_COLUMNS)).all()
        tasks = {task.id: task for task in session.exec(select(Task)).all()}
        assert len(rows) == len(tasks) == 5
        for row in rows:
            expected = public(tasks[row.id])
            assert task_json(row, SUBJECT) == expected
            assert list(task_json(row, SUBJECT)) == list(expected)
            assert task_json(tasks[row.id], SUBJECT) == expected


def test_objects_not_yet_stored_say_the_same() -> None:
    """Creation answers from the object it stored, timestamps as Python made them."""
    task = Task(
        user_id="internal key",
        list_id=UUID("2f1c1c5e-8d2a-4b7e-9a51-0c3d6f2b9e10"),
        title="in another zone",
        status=TaskStatus.COMPLETED,
        priority=TaskPriority.LOW,
        tags=["a", "B"],
        position=65536,
        created_at=datetime(2030, 1, 1, tzinfo=UTC).astimezone(timezone(timedelta(hours=-3))),
        updated_at=datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        completed_at=datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    )

    assert task_json(task, SUBJECT) == public(task)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2030, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
        datetime(2030, 1, 2, 3, 4, 5, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        # Local mean time (Kolkata before 1900): RFC 3339 offsets have no seconds, and isoformat()
        # wrote them.
        datetime(1850, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=53, seconds=28))),
        datetime(2030, 1, 2, 3, 4, 5),
    ],
    ids=str,
)
def test_times_read_as_pydantic_writes_them(moment: datetime) -> None:
    task = Task(title="t", user_id="u", list_id=UUID(int=1), position=1, due_at=moment)
    assert task_json(task, SUBJECT)["due_at"] == public(task)["due_at"]
