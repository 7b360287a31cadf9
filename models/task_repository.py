"""Every task query, scoped to one owner: no method can reach another owner's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlmodel import Session, select

from models.concurrency import Precondition, check_precondition
from models.errors import TaskNotFound
from models.manual_order import end_of_list, position_after
from models.task import Task, TaskCreate, TaskStatus, TaskUpdate
from models.task_query import TaskFilters, TaskOrder
from models.timestamps import utc_now
from models.todo_list_repository import TodoListRepository
from models.user import Owner
from models.user_repository import UserRepository

__all__ = ["Precondition", "TaskRepository"]  # Precondition: imported from here before 1.1


class TaskRepository:
    def __init__(
        self, session: Session, owner: Owner, users: UserRepository, lists: TodoListRepository
    ) -> None:
        self._session = session
        self._owner = owner
        self._users = users
        self._lists = lists

    def page(
        self, filters: TaskFilters, order: TaskOrder, limit: int, after: list[Any] | None = None
    ) -> tuple[Sequence[Task], list[Any] | None]:
        """Up to ``limit`` matching tasks in ``order`` after the position ``after``, and the
        position the next page starts after (None on the last page)."""
        query = select(Task).where(Task.user_id == self._owner.id, *filters.conditions())
        if after is not None:
            query = query.where(order.after(after))
        rows = self._session.exec(query.order_by(*order.order_by()).limit(limit + 1)).all()
        if len(rows) <= limit:
            return rows, None
        page = rows[:limit]
        return page, order.position_of(page[-1])

    def add(self, data: TaskCreate) -> Task:
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
        of two writers sending the same version, exactly one gets through."""
        task = self.get(task_id, for_update=True)
        check_precondition(precondition, task.version)
        return task

    def _touch(self, task: Task, now: datetime) -> Task:
        task.updated_at = now
        task.version += 1
        self._session.add(task)
        self._session.flush()
        return task
