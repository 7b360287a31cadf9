"""Every task query, scoped to one owner: no method can reach another owner's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlmodel import Session, col, select

from models.errors import TaskNotFound
from models.task import Task, TaskCreate, TaskStatus, TaskUpdate
from models.timestamps import utc_now
from models.user import Owner
from models.user_repository import UserRepository


class TaskRepository:
    def __init__(self, session: Session, owner: Owner, users: UserRepository) -> None:
        self._session = session
        self._owner = owner
        self._owner_id = owner.id
        self._users = users

    def list(self) -> Sequence[Task]:
        query = (
            select(Task).where(Task.user_id == self._owner_id).order_by(col(Task.created_at), col(Task.id))
        )
        return self._session.exec(query).all()

    def add(self, data: TaskCreate) -> Task:
        self._users.ensure(self._owner)
        now = utc_now()
        task = Task.model_validate(
            data, update={"user_id": self._owner_id, "created_at": now, "updated_at": now}
        )
        task.set_status(data.status, now)
        self._session.add(task)
        self._session.flush()
        return task

    def get(self, task_id: UUID, *, for_update: bool = False) -> Task:
        query = select(Task).where(Task.id == task_id, Task.user_id == self._owner_id)
        if for_update:
            query = query.with_for_update()
        task = self._session.exec(query).first()
        if task is None:
            raise TaskNotFound(task_id)
        return task

    def replace(self, task_id: UUID, data: TaskCreate) -> Task:
        task = self.get(task_id, for_update=True)
        now = utc_now()
        task.title = data.title
        task.description = data.description
        task.priority = data.priority
        task.due_at = data.due_at
        task.set_status(data.status, now)
        return self._touch(task, now)

    def update(self, task_id: UUID, patch: TaskUpdate) -> Task:
        task = self.get(task_id, for_update=True)
        now = utc_now()
        changes = patch.model_dump(include=patch.model_fields_set, exclude={"status"})
        for field, value in changes.items():
            setattr(task, field, value)
        if patch.status is not None:
            task.set_status(patch.status, now)
        return self._touch(task, now)

    def toggle_completion(self, task_id: UUID) -> Task:
        task = self.get(task_id, for_update=True)
        now = utc_now()
        completed = task.status == TaskStatus.COMPLETED
        task.set_status(TaskStatus.PENDING if completed else TaskStatus.COMPLETED, now)
        return self._touch(task, now)

    def delete(self, task_id: UUID) -> None:
        self._session.delete(self.get(task_id, for_update=True))
        self._session.flush()

    def _touch(self, task: Task, now: datetime) -> Task:
        task.updated_at = now
        self._session.add(task)
        self._session.flush()
        return task
