"""The change feed's rows: one per creation, update and deletion of a task or a list.

PostgreSQL writes them, from triggers on ``tasks`` and ``task_lists`` (migration 0005), so no code
path (a cascade included: deleting a list deletes its tasks) can change data without a row here.
Each row keeps the id of the transaction that wrote it (``xid``): a sync token holds a snapshot,
and "committed since that snapshot" is exact even when transactions commit out of order.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class ChangedEntity(StrEnum):
    TASK = "task"
    LIST = "list"


class ChangeOperation(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class Change(SQLModel, table=True):
    __tablename__ = "changes"
    __table_args__ = (
        sa.CheckConstraint("entity IN ('task', 'list')", name="ck_changes_entity"),
        sa.CheckConstraint("operation IN ('created', 'updated', 'deleted')", name="ck_changes_operation"),
        # A feed page reads one user's changes from transactions at or after a snapshot's xmin.
        sa.Index("ix_changes_user_id_xid", "user_id", "xid"),
        sa.Index("ix_changes_changed_at", "changed_at"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, primary_key=True))
    user_id: str = Field(max_length=128)
    entity: ChangedEntity = Field(sa_type=sa.String(8))
    operation: ChangeOperation = Field(sa_type=sa.String(8))
    entity_id: UUID
    version: int
    # The row as it was written (null for a deletion): the feed serves it as the resource.
    data: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))
    # pg_current_xact_id() of the writing transaction (xid8, as a bigint so that it is indexable).
    xid: int = Field(sa_type=sa.BigInteger)
    changed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
