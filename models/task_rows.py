"""Tasks as Core rows: the columns requests read and write, and their JSON for the contract.

Reads and changes of tasks run as Core statements (``SELECT``, ``UPDATE ... RETURNING``) and answer
with rows, not ORM objects: hydrating a ``Task`` and validating a ``TaskPublic`` per row cost more
CPU than the query. ``task_json`` says what ``TaskPublic.of(...).model_dump(mode="json")`` says,
field for field and in the same order (tests/test_task_json.py holds them equal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from models.concurrency import entity_tag
from models.task import Task, TaskStatus

TASKS: sa.Table = SQLModel.metadata.tables[str(Task.__tablename__)]

# What a client sees, plus the sort keys (priority_rank); not the search vector or the tag keys.
TASK_COLUMNS: tuple[sa.Column[Any], ...] = tuple(
    column for column in TASKS.columns if column.name not in {"search_vector", "tag_keys"}
)

# A task as read by a Core statement (attribute access as on a ``Task``).
TaskRow = sa.Row[Any]


def _json_time(value: datetime | None) -> str | None:
    """As pydantic writes an aware datetime in JSON mode: ISO 8601, UTC as ``Z``."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def task_json(task: TaskRow | Task, user_id: str) -> dict[str, Any]:
    """The task as the contract's ``Task``. ``user_id`` is the owner's subject, as clients know it
    (the row's ``user_id`` is the owner's internal key, which differs for identity-provider users)."""
    status = str(task.status)
    return {
        "title": task.title,
        "description": task.description,
        "status": status,
        "priority": str(task.priority),
        "due_at": _json_time(task.due_at),
        "id": str(task.id),
        "user_id": user_id,
        "list_id": str(task.list_id),
        "position": task.position,
        "tags": list(task.tags),
        "completed": status == TaskStatus.COMPLETED,
        "created_at": _json_time(task.created_at),
        "updated_at": _json_time(task.updated_at),
        "completed_at": _json_time(task.completed_at),
        "etag": entity_tag(task.version),
    }
