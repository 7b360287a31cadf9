"""Tasks as Core rows: the columns requests read and write, and their JSON for the contract.

Reads and changes of tasks run as Core statements (``SELECT``, ``UPDATE ... RETURNING``) and answer
with rows, not ORM objects: hydrating a ``Task`` and validating a ``TaskPublic`` per row cost more
CPU than the query. ``task_json`` says what ``TaskPublic.of(...).model_dump(mode="json")`` says,
field for field and in the same order (tests/test_task_json.py holds them equal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
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
    """As pydantic writes a datetime in JSON mode: RFC 3339, UTC as ``Z``, an offset in hours and
    minutes only. orjson writes it four times faster than ``isoformat()``; a page has some 60."""
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()


class _TaskAttributes:
    """A ``Task`` object read by column name, like a row's ``_mapping``."""

    __slots__ = ("_task",)

    def __init__(self, task: Task) -> None:
        self._task = task

    def __getitem__(self, name: str) -> Any:
        return getattr(self._task, name)


def task_version(task: TaskRow | Task) -> int:
    """The task's version, read from a row by name (see ``task_json``)."""
    version: int = task._mapping["version"] if isinstance(task, sa.Row) else task.version
    return version


def task_json(task: TaskRow | Task, user_id: str) -> dict[str, Any]:
    """The task as the contract's ``Task``. ``user_id`` is the owner's subject, as clients know it
    (the row's ``user_id`` is the owner's internal key, which differs for identity-provider users)."""
    # By name through the row's mapping: a row's attribute access first fails as an attribute,
    # and the AttributeError it formats cost more than the rest of this function.
    column = task._mapping if isinstance(task, sa.Row) else _TaskAttributes(task)
    status = str(column["status"])
    return {
        "title": column["title"],
        "description": column["description"],
        "status": status,
        "priority": str(column["priority"]),
        "due_at": _json_time(column["due_at"]),
        "id": str(column["id"]),
        "user_id": user_id,
        "list_id": str(column["list_id"]),
        "position": column["position"],
        "tags": list(column["tags"]),
        "completed": status == TaskStatus.COMPLETED,
        "created_at": _json_time(column["created_at"]),
        "updated_at": _json_time(column["updated_at"]),
        "completed_at": _json_time(column["completed_at"]),
        "etag": entity_tag(column["version"]),
    }
