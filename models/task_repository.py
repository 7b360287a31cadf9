"""Every task query, scoped to one owner: no method can reach another owner's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.concurrency import Precondition, check_precondition
from models.errors import ListingTooSlow, PreconditionFailed, TaskNotFound, TaskQuotaExceeded
from models.fair_share import DEFAULT_FAIR_SHARE, FairShare
from models.manual_order import end_of_list, position_after
from models.task import Task, TaskCreate, TaskStatus, TaskUpdate
from models.task_query import TaskFilters, TaskOrder, limit_statement_time, statement_timed_out
from models.timestamps import utc_now
from models.todo_list_repository import TodoListRepository
from models.user import Owner

__all__ = ["Precondition", "TaskRepository"]  # Precondition: imported from here before 1.1

# The owner's tasks, counted no further than the quota; the owner's row stays locked until commit,
# so two creations at quota - 1 cannot both get through.
_TASKS_HELD = sa.text(
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE user_id = :owner LIMIT :quota) AS held)"
    " FROM users WHERE id = :owner FOR UPDATE"
)


class TaskRepository:
    def __init__(
        self,
        session: Session,
        owner: Owner,
        lists: TodoListRepository,
        fair_share: FairShare = DEFAULT_FAIR_SHARE,
    ) -> None:
        self._session = session
        self._owner = owner
        self._lists = lists
        self._fair_share = fair_share

    def page(
        self, filters: TaskFilters, order: TaskOrder, limit: int, after: list[Any] | None = None
    ) -> tuple[Sequence[Task], list[Any] | None]:
        """Up to ``limit`` matching tasks in ``order`` after the position ``after``, and the
        position the next page starts after (None on the last page)."""
        query = select(Task).where(Task.user_id == self._owner.id, *filters.conditions(self._owner.id))
        if after is not None:
            query = query.where(order.after(after))
        timeout_ms = self._fair_share.listing_timeout_ms
        limit_statement_time(self._session, timeout_ms)
        try:
            rows = self._session.exec(query.order_by(*order.order_by()).limit(limit + 1)).all()
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
        if self._session.scalar(_TASKS_HELD, {"owner": self._owner.id, "quota": quota}) >= quota:
            raise TaskQuotaExceeded(quota)
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
        task.position = end_of_list(self._session, list_id)
        task.set_status(data.status, now)
        self._session.add(task)
        self._session.flush()
        return task

    def get(self, task_id: UUID, *, for_update: bool = False) -> Task:
        query = select(Task).where(Task.id == task_id, Task.user_id == self._owner.id)
        if for_update:
            query = query.with_for_update()
        task = self._session.exec(query).first()
        if task is None:
            raise TaskNotFound(task_id)
        return task

    def replace(self, task_id: UUID, data: TaskCreate, precondition: Precondition = None) -> Task:
        task = self._get_for_change(task_id, precondition)
        now = utc_now()
        task.title = data.title
        task.description = data.description
        task.priority = data.priority
        task.due_at = data.due_at
        if data.list_id is not None:
            self._into_list(task, data.list_id)
        if data.tags is not None:
            task.set_tags(data.tags)
        task.set_status(data.status, now)
        return self._touch(task, now)

    def update(self, task_id: UUID, patch: TaskUpdate, precondition: Precondition = None) -> Task:
        task = self._get_for_change(task_id, precondition)
        now = utc_now()
        changes = patch.model_dump(include=patch.model_fields_set, exclude={"status", "list_id", "tags"})
        if patch.list_id is not None:
            self._into_list(task, patch.list_id)
        if patch.tags is not None:
            task.set_tags(patch.tags)
        for field, value in changes.items():
            setattr(task, field, value)
        if patch.status is not None:
            task.set_status(patch.status, now)
        return self._touch(task, now)

    def move(
        self, task_id: UUID, after: UUID | None, list_id: UUID | None, precondition: Precondition = None
    ) -> Task:
        """Place the task right after task ``after`` (None: first) in ``list_id`` (None: its own)."""
        task = self._get_for_change(task_id, precondition)
        target = self._lists.for_task(list_id) if list_id is not None else task.list_id
        self._lists.lock_order(target)
        task.position = position_after(self._session, self._owner.id, target, after, task.id)
        task.list_id = target
        return self._touch(task, utc_now())

    def _into_list(self, task: Task, list_id: UUID) -> None:
        """Moved to another list by a patch or a replacement: it goes to the end of that list."""
        target = self._lists.for_task(list_id)
        if target != task.list_id:
            task.list_id = target
            task.position = end_of_list(self._session, target)

    def toggle_completion(self, task_id: UUID, precondition: Precondition = None) -> Task:
        task = self._get_for_change(task_id, precondition)
        now = utc_now()
        completed = task.status == TaskStatus.COMPLETED
        task.set_status(TaskStatus.PENDING if completed else TaskStatus.COMPLETED, now)
        return self._touch(task, now)

    def delete(self, task_id: UUID, precondition: Precondition = None) -> None:
        self._session.delete(self._get_for_change(task_id, precondition))
        self._session.flush()

    def _get_for_change(self, task_id: UUID, precondition: Precondition) -> Task:
        """The task, locked until commit. The precondition is checked once the lock is held, so
        of two writers sending the same version, exactly one gets through.

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

    def _touch(self, task: Task, now: datetime) -> Task:
        task.updated_at = now
        task.version += 1
        self._session.add(task)
        self._session.flush()
        return task
