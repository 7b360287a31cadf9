"""Task versions (ETags), indexes for every sort order and for text search, idempotency keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column(
        "tasks",
        sa.Column(
            "priority_rank",
            sa.SmallInteger(),
            sa.Computed("CASE priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END", persisted=True),
            nullable=False,
        ),
    )
    op.add_column(
        "tasks",
        sa.Column(
            "search_vector",
            TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, title || ' ' || coalesce(description, ''))", persisted=True
            ),
            nullable=False,
        ),
    )
    op.create_index("ix_tasks_user_id_updated_at_id", "tasks", ["user_id", "updated_at", "id"])
    op.create_index(
        "ix_tasks_user_id_due_at_last_id",
        "tasks",
        ["user_id", sa.text("coalesce(due_at, 'infinity'::timestamptz)"), "id"],
    )
    op.create_index(
        "ix_tasks_user_id_due_at_last_desc_id",
        "tasks",
        ["user_id", sa.text("coalesce(due_at, '-infinity'::timestamptz)"), "id"],
    )
    op.create_index("ix_tasks_user_id_priority_rank_id", "tasks", ["user_id", "priority_rank", "id"])
    op.create_index("ix_tasks_search_vector", "tasks", ["search_vector"], postgresql_using="gin")
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", JSONB(), nullable=False),
        sa.Column("headers", JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_tasks_search_vector", table_name="tasks")
    op.drop_index("ix_tasks_user_id_priority_rank_id", table_name="tasks")
    op.drop_index("ix_tasks_user_id_due_at_last_desc_id", table_name="tasks")
    op.drop_index("ix_tasks_user_id_due_at_last_id", table_name="tasks")
    op.drop_index("ix_tasks_user_id_updated_at_id", table_name="tasks")
    op.drop_column("tasks", "search_vector")
    op.drop_column("tasks", "priority_rank")
    op.drop_column("tasks", "version")
