"""Every list query, scoped to one owner: no method can reach another owner's lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.concurrency import Precondition, check_precondition
from models.errors import DefaultListUndeletable, InvalidInput, ListNotFound
from models.timestamps import utc_now
from models.todo_list import DEFAULT_LIST_NAME, TodoList, TodoListCreate, TodoListUpdate
from models.user import Owner

# The owner's default list, made once: concurrent first requests all end up with the same row.
_ENSURE_DEFAULT_LIST = sa.text(
    """
    INSERT INTO task_lists (id, user_id, name, is_default, created_at, updated_at, version)
    VALUES (gen_random_uuid(), :user_id, :name, true, :now, :now, 1)
    ON CONFLICT (user_id) WHERE is_default DO NOTHING
    """
)


class TodoListRepository:
    def __init__(self, session: Session, owner: Owner) -> None:
        self._session = session
        self._owner = owner

    def default(self) -> TodoList:
        """The owner's default list, created (with the owner's row) on first need."""
        query = select(TodoList).where(TodoList.user_id == self._owner.id, col(TodoList.is_default))
        found = self._session.exec(query).first()
        if found is not None:
            return found
        self._session.execute(
            _ENSURE_DEFAULT_LIST, {"user_id": self._owner.id, "name": DEFAULT_LIST_NAME, "now": utc_now()}
        )
        created = self._session.exec(query).first()
        assert created is not None
        return created

    def page(self, limit: int, after: list[Any] | None = None) -> tuple[Sequence[TodoList], list[Any] | None]:
        """Up to ``limit`` lists in creation order (ties by id) after ``after``, and the position
        the next page starts after (None on the last page). The default list always exists."""
        self.default()
        query = select(TodoList).where(TodoList.user_id == self._owner.id)
        if after is not None:
            created_at, list_id = after
            query = query.where(
                sa.tuple_(col(TodoList.created_at), col(TodoList.id))
                > sa.tuple_(sa.cast(created_at, sa.DateTime(timezone=True)), sa.literal(UUID(list_id)))
            )
        query = query.order_by(col(TodoList.created_at), col(TodoList.id)).limit(limit + 1)
        rows = self._session.exec(query).all()
        if len(rows) <= limit:
            return rows, None
        page = rows[:limit]
        return page, [page[-1].created_at.isoformat(), str(page[-1].id)]

    def add(self, data: TodoListCreate) -> TodoList:
        self.default()  # the first list a user makes is never their default one
        now = utc_now()
        todo_list = TodoList.model_validate(
            data, update={"user_id": self._owner.id, "created_at": now, "updated_at": now}
        )
        self._session.add(todo_list)
        self._session.flush()
        return todo_list

    def get(self, list_id: UUID, *, for_update: bool = False) -> TodoList:
        query = select(TodoList).where(TodoList.id == list_id, TodoList.user_id == self._owner.id)
        if for_update:
            query = query.with_for_update()
        todo_list = self._session.exec(query).first()
        if todo_list is None:
            raise ListNotFound(list_id)
        return todo_list

    def for_task(self, list_id: UUID | None) -> UUID:
        """The list a task goes into: the given one (which must be the owner's) or the default.

        The list is locked against deletion (FOR KEY SHARE) until commit, so a task is never
        written into a list that a concurrent request is deleting.
        """
        if list_id is None:
            return self.default().id
        query = (
            select(TodoList.id)
            .where(TodoList.id == list_id, TodoList.user_id == self._owner.id)
            .with_for_update(key_share=True, read=True)
        )
        if self._session.exec(query).first() is None:
            raise InvalidInput([{"pointer": "/list_id", "detail": f"there is no list {list_id}"}])
        return list_id

    def lock_order(self, list_id: UUID) -> None:
        """Serialize manual moves within one list (held until commit)."""
        self._session.execute(
            select(TodoList.id).where(col(TodoList.id) == list_id).with_for_update(key_share=True)
        )

    def update(self, list_id: UUID, patch: TodoListUpdate, precondition: Precondition = None) -> TodoList:
        todo_list = self._get_for_change(list_id, precondition)
        for field, value in patch.model_dump(include=patch.model_fields_set).items():
            setattr(todo_list, field, value)
        todo_list.updated_at = utc_now()
        todo_list.version += 1
        self._session.add(todo_list)
        self._session.flush()
        return todo_list

    def delete(self, list_id: UUID, precondition: Precondition = None) -> None:
        """Deletes the list and, by the foreign key's cascade in the same statement, its tasks."""
        todo_list = self._get_for_change(list_id, precondition)
        if todo_list.is_default:
            raise DefaultListUndeletable
        self._session.execute(sa.delete(TodoList).where(col(TodoList.id) == todo_list.id))
        self._session.expunge(todo_list)

    def _get_for_change(self, list_id: UUID, precondition: Precondition) -> TodoList:
        todo_list = self.get(list_id, for_update=True)
        check_precondition(precondition, todo_list.version)
        return todo_list
