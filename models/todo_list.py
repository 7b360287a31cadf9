"""Task lists: the SQLModel family TodoListBase / TodoListCreate / TodoListUpdate / TodoList(table) /
TodoListPublic.

Named "todo list" because the contract's ``TaskList`` already means a page of tasks, a name that
generated clients of 1.0 depend on. Every user has exactly one default list (a partial unique
index says so); tasks created without a list go there, and it cannot be deleted.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.concurrency import entity_tag
from models.timestamps import utc_now

LIST_NAME_MAX_LENGTH = 200
DEFAULT_LIST_NAME = "Tasks"


class TodoListBase(SQLModel):
    name: str = Field(max_length=LIST_NAME_MAX_LENGTH)


class TodoListCreate(TodoListBase):
    """A new list."""


class TodoListUpdate(SQLModel):
    """A merge patch of a list."""

    name: str | None = None


class TodoList(TodoListBase, table=True):
    __tablename__ = "task_lists"
    __table_args__ = (
        sa.CheckConstraint(
            f"char_length(name) BETWEEN 1 AND {LIST_NAME_MAX_LENGTH}"
            r" AND btrim(name, E' \t\n\r\f\x0B') <> ''",
            name="ck_task_lists_name",
        ),
        # Tasks reference (list id, owner id), so a task can never sit in another user's list.
        sa.UniqueConstraint("id", "user_id", name="uq_task_lists_id_user_id"),
        sa.Index("ix_task_lists_user_id_created_at_id", "user_id", "created_at", "id"),
        sa.Index(
            "uq_task_lists_one_default_per_user",
            "user_id",
            unique=True,
            postgresql_where=sa.text("is_default"),
        ),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=128)
    is_default: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utc_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utc_now, sa_type=sa.DateTime(timezone=True))
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class TodoListPublic(TodoListBase):
    id: UUID
    user_id: str
    is_default: bool
    created_at: datetime
    updated_at: datetime
    etag: str

    @classmethod
    def of(cls, todo_list: TodoList) -> TodoListPublic:
        return cls.model_validate(todo_list, update={"etag": entity_tag(todo_list.version)})
