"""Every task query, scoped to one owner: no method can reach another owner's rows.

Reads and changes are Core statements answered with rows (``models.task_rows``), not ORM objects;
a change is one ``UPDATE/DELETE ... RETURNING`` with the If-Match condition in its WHERE, never a
locked read followed by a write. Creation and manual moves, which read other rows first, still
go through the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.concurrency import Precondition, check_precondition
from models.errors import ListingTooSlow, PreconditionFailed, TaskNotFound, TaskQuotaExceeded
from models.fair_share import DEFAULT_FAIR_SHARE, FairShare
from models.manual_order import end_of_list_sql, position_after
from models.task import Task, TaskCreate, TaskUpdate
from models.task_query import TaskFilters, TaskOrder, page_statement, statement_timed_out
from models.task_rows import TaskRow
from models.task_statements import TaskChange, change_task, delete_task, get_task
from models.timestamps import utc_now
from models.todo_list_repository import TodoListRepository
from models.user import Owner

__all__ = ["Precondition", "TaskRepository"]  # Precondition: imported from here before 1.1

# The owner's tasks, counted no further than the quota; the owner's row stays locked until commit,
# so two creations at quota - 1 cannot both get through. With them, the owner's default list (NULL
# until it is first needed), where a task goes unless it names a list: no round trip of its own.
_TASKS_HELD_AND_DEFAULT_LIST = sa.text(
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE user_id = :owner LIMIT :quota) AS held),"
    " (SELECT id FROM task_lists WHERE user_id = :owner AND is_default)"
    " FROM users WHERE id = :owner FOR UPDATE"
)


def _version_condition(precondition: Precondition) -> dict[str, Any]:
    """The ``versions`` parameter of a conditional change; none without If-Match or with ``*``."""
    versions = precondition.versions_to_match() if precondition is not None else None
    return {} if versions is None else {"versions": versions}


class TaskRepository:
    def __init__(
        self,
        session: Session,
        owner: Owner,
        lists: TodoListRepository,
        fair_share: FairShare = DEFAULT_FAIR_SHARE,
        *,
        connection: Callable[[], sa.Connection] | None = None,
    ) -> None:
        self._session = session
        self._connection = connection or session.connection
        self._owner = owner
        self._lists = lists
        self._fair_share = fair_share

    def _execute(
        self, statement: sa.Executable, parameters: dict[str, Any] | None = None
    ) -> sa.CursorResult[Any]:
        """On the unit of work's connection (the session's, in its transaction if it has one),
        past ``Session.execute``, whose ORM layer cost more than the statement itself."""
        return self._connection().execute(statement, parameters)

    def _owned(self, task_id: UUID) -> dict[str, Any]:
        """The parameters that scope a statement of ``models.task_statements`` to this owner."""
        return {"task_id": task_id, "owner": self._owner.id}

    def page(
        self, filters: TaskFilters, order: TaskOrder, limit: int, after: list[Any] | None = None
    ) -> tuple[Sequence[TaskRow], list[Any] | None]:
        """Up to ``limit`` matching tasks in ``order`` after the position ``after``, and the
        position the next page starts after (None on the last page)."""
        timeout_ms = self._fair_share.listing_timeout_ms
        shape, filter_values = filters.statement_inputs()
        statement = page_statement(shape, order, after is not None, timeout_ms)
        parameters = {"owner": self._owner.id, "row_limit": limit + 1, **filter_values}
        if after is not None:
            parameters |= order.position_parameters(after)
        try:
            rows = self._execute(statement, parameters).all()
        except sa.exc.DBAPIError as error:
            if statement_timed_out(error):
                raise ListingTooSlow(timeout_ms) from None
            raise
        if len(rows) <= limit:
            return rows, None
        page = rows[:limit]
        return page, order.position_of(page[-1])

    def add(self, data: TaskCreate) -> Task:
        # The owner's row exists: admission found (or, for a provider's subject, made) it.
        quota = self._fair_share.tasks_per_user
        owner = self._session.execute(
            _TASKS_HELD_AND_DEFAULT_LIST, {"owner": self._owner.id, "quota": quota}
        ).one()
        held: int = owner[0]
        default_list: UUID | None = owner[1]
        if held >= quota:
            raise TaskQuotaExceeded(quota)
        if data.list_id is None and default_list is not None:
            list_id = default_list
        else:
            # A named list, checked and locked; or the default list, made on first need.
            list_id = self._lists.for_task(data.list_id)
        now = utc_now()
        task = Task.model_validate(
            data,
            update={
                "user_id": self._owner.id,
                "list_id": list_id,
                "tags": [],
                "created_at": now,
                "updated_at": now,
            },
        )
        task.set_tags(data.tags or [])
        # Computed by the INSERT itself (and read back through its RETURNING): no SELECT before it.
        # The owner's row, locked by the quota count above, keeps concurrent creates in order.
        task.position = end_of_list_sql(list_id)  # type: ignore[assignment]  # a SQL expression
        task.set_status(data.status, now)
        self._session.add(task)
        self._session.flush()
        return task

    def get(self, task_id: UUID) -> TaskRow:
        row = self._execute(get_task(), self._owned(task_id)).first()
        if row is None:
            raise TaskNotFound(task_id)
        return row

    def replace(self, task_id: UUID, data: TaskCreate, precondition: Precondition = None) -> TaskRow:
        change = TaskChange()
        for column in ("title", "description", "due_at"):
            change.set(column, getattr(data, column))
        change.set("priority", data.priority.value)
        change.set_status(data.status)
        if data.list_id is not None:
            change.move_into(self._lists.for_task(data.list_id))
        if data.tags is not None:
            change.set_tags(data.tags)
        return self._change(task_id, change, precondition)

    def update(self, task_id: UUID, patch: TaskUpdate, precondition: Precondition = None) -> TaskRow:
        change = TaskChange()
        fields = patch.model_dump(include=patch.model_fields_set, exclude={"status", "list_id", "tags"})
        for column, value in fields.items():
            change.set(column, value)
        if patch.list_id is not None:
            change.move_into(self._lists.for_task(patch.list_id))
        if patch.tags is not None:
            change.set_tags(patch.tags)
        if patch.status is not None:
            change.set_status(patch.status)
        return self._change(task_id, change, precondition)

    def toggle_completion(self, task_id: UUID, precondition: Precondition = None) -> TaskRow:
        change = TaskChange()
        change.compute("status", "toggled_status")
        change.compute("completed_at", "toggled_completed_at")
        return self._change(task_id, change, precondition)

    def delete(self, task_id: UUID, precondition: Precondition = None) -> None:
        condition = _version_condition(precondition)
        self._changed_row(task_id, delete_task(conditional=bool(condition)), condition, precondition)

    def move(
        self, task_id: UUID, after: UUID | None, list_id: UUID | None, precondition: Precondition = None
    ) -> Task:
        """Place the task right after task ``after`` (None: first) in ``list_id`` (None: its own)."""
        task = self._locked(task_id, precondition)
        target = self._lists.for_task(list_id) if list_id is not None else task.list_id
        self._lists.lock_order(target)
        task.position = position_after(self._session, self._owner.id, target, after, task.id)
        task.list_id = target
        task.updated_at = utc_now()
        task.version += 1
        self._session.add(task)
        self._session.flush()
        return task

    def _change(self, task_id: UUID, change: TaskChange, precondition: Precondition) -> TaskRow:
        """A list move by PUT or PATCH has checked and locked the list (``for_task``) already."""
        condition = _version_condition(precondition)
        statement = change_task(change.shape, conditional=bool(condition))
        parameters = {**change.parameters, **condition, "now": utc_now()}
        return self._changed_row(task_id, statement, parameters, precondition)

    def _changed_row(
        self, task_id: UUID, statement: sa.Select[Any], parameters: dict[str, Any], precondition: Precondition
    ) -> TaskRow:
        """Run a change (``models.task_statements``): one statement with the If-Match condition in
        its WHERE, returning the row it changed; and say why it changed nothing.

        PostgreSQL re-checks that WHERE on the newest version of the row once the row lock is
        granted, so of two writers sending the same version exactly one gets through. The same
        statement also looks the task up as it was when the statement began (``seen_id``): a task
        seen but not changed either failed the condition or was deleted by a writer we waited for;
        a conditional request then lost a race (412); otherwise (or not seen at all) there is no
        such task (404). No second round trip, on success or failure.
        """
        row = self._execute(statement, {**parameters, **self._owned(task_id)}).first()
        changed = row is not None and row._mapping["id"] is not None  # by name: see task_json
        if row is None or (not changed and precondition is None):
            raise TaskNotFound(task_id)
        if not changed:
            raise PreconditionFailed
        return row

    def _locked(self, task_id: UUID, precondition: Precondition) -> Task:
        """The task as an object, locked until commit, the precondition checked once the lock is
        held (a move reads its neighbours before it writes, so it cannot be one statement).

        One statement reads the task twice: as it was when the statement began (``seen``) and
        once its lock is granted (``locked``). A task seen but gone by then was deleted by a
        writer we waited for: a conditional request lost that race (412), it did not name a
        missing task (404).
        """
        mine = (col(Task.id) == task_id, col(Task.user_id) == self._owner.id)
        seen = sa.select(col(Task.id)).where(*mine).cte("seen")
        locked = select(Task).where(*mine).with_for_update().cte("locked")
        locked_task = aliased(Task, locked)
        row = self._session.exec(
            select(seen.c.id, locked_task).select_from(seen).outerjoin(locked, sa.true())
        ).first()
        task = row[1] if row is not None else None
        if task is None:
            if row is not None and precondition is not None:
                raise PreconditionFailed
            raise TaskNotFound(task_id)
        check_precondition(precondition, task.version)
        return task
