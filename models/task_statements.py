"""The statements that read or change one task, built once per shape with bound parameters.

Building a statement of this size (a CTE, fifteen returned columns) and computing its cache key
cost more Python time than the ORM path it replaced (~0.8 ms a request on the bench machine); a
statement object is immutable and remembers its cache key, so each shape is built once
(``lru_cache``) and only its parameters change from request to request.

Parameters: ``task_id``, ``owner``; ``versions`` when the change is conditional; ``now`` for every
change; ``new_<column>`` for each column set to a value; ``target`` when the task may move to
another list.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from models.manual_order import end_of_list_sql
from models.task import TaskStatus
from models.task_rows import TASK_COLUMNS, TASKS

_NOW = sa.bindparam("now", type_=TASKS.c.updated_at.type)
_TARGET = sa.bindparam("target", type_=TASKS.c.list_id.type)
_IS_COMPLETED = TASKS.c.status == TaskStatus.COMPLETED.value
_OWNED = (
    TASKS.c.id == sa.bindparam("task_id", type_=TASKS.c.id.type),
    TASKS.c.user_id == sa.bindparam("owner", type_=TASKS.c.user_id.type),
)

# How a column gets its new value, by name (a shape is a tuple of (column, how) pairs).
_NEW_VALUE: dict[str, Callable[[str], sa.ColumnElement[Any]]] = {
    # the parameter new_<column>
    "value": lambda column: sa.bindparam(f"new_{column}", type_=TASKS.c[column].type),
    "none": lambda _: sa.null(),
    # completed_at of a task that is (or stays) completed: the first completion is kept
    "completed_since": lambda _: sa.func.coalesce(TASKS.c.completed_at, _NOW),
    "toggled_status": lambda _: sa.case(
        (_IS_COMPLETED, TaskStatus.PENDING.value), else_=TaskStatus.COMPLETED.value
    ),
    "toggled_completed_at": lambda _: sa.case((_IS_COMPLETED, sa.null()), else_=_NOW),
    # position of a task moved into list :target: the end of it, unless it is already there
    "end_of_target": lambda _: sa.case(
        (TASKS.c.list_id == _TARGET, TASKS.c.position), else_=end_of_list_sql(_TARGET)
    ),
    "target": lambda _: _TARGET,
}

Shape = tuple[tuple[str, str], ...]


class TaskChange:
    """The new values of a change, collected as a shape (which statement) and its parameters."""

    def __init__(self) -> None:
        self._shape: set[tuple[str, str]] = set()
        self.parameters: dict[str, Any] = {}

    @property
    def shape(self) -> Shape:
        """In a stable order, so that the same columns always find the same statement."""
        return tuple(sorted(self._shape))

    def set(self, column: str, value: Any) -> None:
        self._shape.add((column, "value"))
        self.parameters[f"new_{column}"] = value

    def compute(self, column: str, how: str) -> None:
        self._shape.add((column, how))

    def set_status(self, status: TaskStatus) -> None:
        """A new status, ``completed_at`` consistent with it (the table's CHECK insists): set when
        the task becomes completed, kept while it stays completed, cleared otherwise."""
        self.set("status", status.value)
        self.compute("completed_at", "completed_since" if status == TaskStatus.COMPLETED else "none")

    def set_tags(self, tags: list[str]) -> None:
        """``tags`` already normalized (the input models do it), and their keys for the filter."""
        self.set("tags", tags)
        self.set("tag_keys", [tag.lower() for tag in tags])

    def move_into(self, list_id: Any) -> None:
        """To the end of list ``list_id``, unless the task is in it already."""
        self.compute("list_id", "target")
        self.compute("position", "end_of_target")
        self.parameters["target"] = list_id


@lru_cache(maxsize=1)
def get_task() -> sa.Select[Any]:
    return sa.select(*TASK_COLUMNS).where(*_OWNED)


@lru_cache(maxsize=256)
def change_task(shape: Shape, *, conditional: bool) -> sa.Select[Any]:
    """``UPDATE`` setting the columns of ``shape`` (and ``updated_at``, ``version``), returning the
    task; ``conditional``: only a version in ``versions``. See ``with_seen`` for the rest."""
    values = {column: _NEW_VALUE[how](column) for column, how in shape}
    update = (
        sa.update(TASKS)
        .where(*_condition(conditional))
        .values(**values, updated_at=_NOW, version=TASKS.c.version + 1)
        .returning(*TASK_COLUMNS)
    )
    return _with_seen(update)


@lru_cache(maxsize=2)
def delete_task(*, conditional: bool) -> sa.Select[Any]:
    return _with_seen(sa.delete(TASKS).where(*_condition(conditional)).returning(TASKS.c.id))


def _condition(conditional: bool) -> list[sa.ColumnElement[bool]]:
    if not conditional:
        return list(_OWNED)
    return [*_OWNED, TASKS.c.version.in_(sa.bindparam("versions", expanding=True))]


def _with_seen(change: sa.Update | sa.Delete) -> sa.Select[Any]:
    """``change`` as a CTE, beside the task as it was when the statement began (``seen_id``): one
    row when the task was seen, its changed columns null when the change found nothing."""
    changed = change.cte("changed")
    seen = sa.select(TASKS.c.id.label("seen_id")).where(*_OWNED).cte("seen")
    return sa.select(seen.c.seen_id, *changed.c).select_from(seen.outerjoin(changed, sa.true()))
