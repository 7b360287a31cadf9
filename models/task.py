"""Tasks: the SQLModel family TaskBase / TaskCreate / TaskUpdate / Task(table) / TaskPublic.

The contract (``openapi/tasks-api.yaml``) validates every request before it gets here; the
CHECK constraints on the table repeat its rules so that PostgreSQL refuses a bad row even if code
is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID, uuid4

import sqlalchemy as sa
from pydantic import AwareDatetime, field_validator
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlmodel import Field, SQLModel

from models.concurrency import entity_tag
from models.tags import MAX_TAGS_PER_TASK, TAG_MAX_LENGTH, normalized_tags
from models.timestamps import utc_now

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 4000

PRIORITY_RANK_SQL = "CASE priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END"
SEARCH_VECTOR_SQL = "to_tsvector('simple'::regconfig, title || ' ' || coalesce(description, ''))"
# The function is created by migration 0006: each word of search_vector behind its owner's tag.
OWNER_LEXEMES_SQL = "tasks_owner_lexemes(user_id, search_vector)"
OWNER_TAG_HEX_DIGITS = 8
# "No due date" sorts after every date in both directions.
DUE_AT_NULLS_LAST_ASCENDING = "coalesce(due_at, 'infinity'::timestamptz)"
DUE_AT_NULLS_LAST_DESCENDING = "coalesce(due_at, '-infinity'::timestamptz)"


class TaskStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class TaskPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


def _to_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as error:  # e.g. 9999-12-31T23:00:00-05:00 is past year 9999 in UTC
        raise ValueError("is outside the range of representable dates in UTC") from error


def _normalized_tags(tags: list[str] | None) -> list[str] | None:
    return None if tags is None else normalized_tags(tags)


class TaskBase(SQLModel):
    title: str = Field(max_length=TITLE_MAX_LENGTH)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX_LENGTH)
    status: TaskStatus = Field(default=TaskStatus.PENDING, sa_type=sa.String(16))
    priority: TaskPriority = Field(default=TaskPriority.NORMAL, sa_type=sa.String(16))
    due_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class TaskCreate(TaskBase):
    """A new task, or the full replacement of one. Without ``list_id``, a new task goes to the
    default list and a replaced one stays where it is (so clients of 1.0 never move tasks)."""

    due_at: AwareDatetime | None = None
    list_id: UUID | None = None
    # Left out of a replacement: kept, like list_id.
    tags: list[str] | None = None

    _tags_normalized = field_validator("tags")(_normalized_tags)

    _due_at_in_utc = field_validator("due_at")(_to_utc)


class TaskUpdate(SQLModel):
    """A merge patch: only the fields the client sent are set (``model_fields_set``)."""

    title: str | None = None
    description: str | None = None
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_at: AwareDatetime | None = None
    list_id: UUID | None = None
    tags: list[str] | None = None

    _tags_normalized = field_validator("tags")(_normalized_tags)
    _due_at_in_utc = field_validator("due_at")(_to_utc)


class Task(TaskBase, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.CheckConstraint(
            f"char_length(title) BETWEEN 1 AND {TITLE_MAX_LENGTH}"
            r" AND btrim(title, E' \t\n\r\f\x0B') <> ''",
            name="ck_tasks_title",
        ),
        sa.CheckConstraint(
            f"description IS NULL OR char_length(description) <= {DESCRIPTION_MAX_LENGTH}",
            name="ck_tasks_description",
        ),
        sa.CheckConstraint("status IN ('pending', 'in_progress', 'completed')", name="ck_tasks_status"),
        sa.CheckConstraint("priority IN ('low', 'normal', 'high')", name="ck_tasks_priority"),
        sa.CheckConstraint(
            "(status = 'completed') = (completed_at IS NOT NULL)", name="ck_tasks_completed_at"
        ),
        # One index per sort order, each ending in id (the tiebreak), so that every page of a
        # keyset walk is an index range scan however deep it is.
        sa.Index("ix_tasks_user_id_created_at_id", "user_id", "created_at", "id"),
        sa.Index("ix_tasks_user_id_updated_at_id", "user_id", "updated_at", "id"),
        sa.Index("ix_tasks_user_id_due_at_last_id", "user_id", sa.text(DUE_AT_NULLS_LAST_ASCENDING), "id"),
        sa.Index(
            "ix_tasks_user_id_due_at_last_desc_id", "user_id", sa.text(DUE_AT_NULLS_LAST_DESCENDING), "id"
        ),
        sa.Index("ix_tasks_user_id_priority_rank_id", "user_id", "priority_rank", "id"),
        # Text search per owner: keys are the owner's tag + a word (migration 0006 says why).
        sa.Index("ix_tasks_owner_search", sa.text(OWNER_LEXEMES_SQL), postgresql_using="gin"),
        # The list must be the owner's own: (list_id, user_id) references the list's (id, user_id).
        # Deleting a list deletes its tasks in the same statement.
        sa.ForeignKeyConstraint(
            ["list_id", "user_id"],
            ["task_lists.id", "task_lists.user_id"],
            ondelete="CASCADE",
            name="fk_tasks_list_id_user_id_task_lists",
        ),
        sa.Index("ix_tasks_list_id_created_at_id", "list_id", "created_at", "id"),
        sa.CheckConstraint(
            f"cardinality(tags) <= {MAX_TAGS_PER_TASK} AND cardinality(tag_keys) = cardinality(tags)",
            name="ck_tasks_tags",
        ),
        sa.Index("ix_tasks_tag_keys", "tag_keys", postgresql_using="gin"),
        sa.Index("ix_tasks_user_id_position_id", "user_id", "position", "id"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", max_length=128)
    list_id: UUID
    tags: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(ARRAY(sa.String(TAG_MAX_LENGTH)), nullable=False, server_default="{}"),
    )
    position: int = Field(
        default=0,
        sa_type=sa.BigInteger,
        sa_column_kwargs={"server_default": "0"},
        description="Manual order in its list (models/manual_order.py).",
    )
    tag_keys: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(ARRAY(sa.String(TAG_MAX_LENGTH)), nullable=False, server_default="{}"),
    )
    created_at: datetime = Field(default_factory=utc_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utc_now, sa_type=sa.DateTime(timezone=True))
    completed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    version: int = Field(
        default=1,
        sa_column_kwargs={"server_default": "1"},
        description="Goes up by one on every change; the ETag.",
    )
    priority_rank: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.SmallInteger, sa.Computed(PRIORITY_RANK_SQL, persisted=True), nullable=False),
    )
    search_vector: str | None = Field(
        default=None,
        sa_column=sa.Column(TSVECTOR, sa.Computed(SEARCH_VECTOR_SQL, persisted=True), nullable=False),
    )

    def set_tags(self, tags: list[str]) -> None:
        """``tags`` already normalized (the input models do it)."""
        self.tags = tags
        self.tag_keys = [tag.lower() for tag in tags]

    def set_status(self, status: TaskStatus, now: datetime) -> None:
        """Change status, keeping ``completed_at`` consistent with it."""
        if status == TaskStatus.COMPLETED and self.completed_at is None:
            self.completed_at = now
        elif status != TaskStatus.COMPLETED:
            self.completed_at = None
        self.status = status


class TaskPublic(TaskBase):
    id: UUID
    user_id: str
    list_id: UUID
    position: int
    tags: list[str]
    completed: bool
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    etag: str

    @classmethod
    def of(cls, task: Task, *, user_id: str) -> TaskPublic:
        """``user_id`` is the owner's subject, as clients know it (``task.user_id`` is the owner's
        internal key, which differs for identity-provider users)."""
        derived = {
            "completed": task.status == TaskStatus.COMPLETED,
            "etag": entity_tag(task.version),
            "user_id": user_id,
        }
        return cls.model_validate(task, update=derived)
