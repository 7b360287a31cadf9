"""Task lists (each user's default one holds every existing task), tags, manual order, and the
change feed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row in `changes` per row written to tasks or task_lists, in the writing transaction.
RECORD_CHANGE = """
CREATE FUNCTION record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO changes (user_id, entity, operation, entity_id, version, data, xid, changed_at)
    VALUES (OLD.user_id, TG_ARGV[0], 'deleted', OLD.id, OLD.version, NULL,
            pg_current_xact_id()::text::bigint, now());
    RETURN OLD;
  END IF;
  INSERT INTO changes (user_id, entity, operation, entity_id, version, data, xid, changed_at)
  VALUES (NEW.user_id, TG_ARGV[0], CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END,
          NEW.id, NEW.version, to_jsonb(NEW) - 'search_vector' - 'priority_rank' - 'tag_keys',
          pg_current_xact_id()::text::bigint, now());
  RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "task_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            r"char_length(name) BETWEEN 1 AND 200 AND btrim(name, E' \t\n\r\f\x0B') <> ''",
            name="ck_task_lists_name",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name="fk_task_lists_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_task_lists"),
        sa.UniqueConstraint("id", "user_id", name="uq_task_lists_id_user_id"),
    )
    op.create_index("ix_task_lists_user_id_created_at_id", "task_lists", ["user_id", "created_at", "id"])
    op.create_index(
        "uq_task_lists_one_default_per_user",
        "task_lists",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    # Every existing user gets a default list now, and every existing task goes into it.
    op.execute(
        """
        INSERT INTO task_lists (id, user_id, name, is_default, created_at, updated_at, version)
        SELECT gen_random_uuid(), id, 'Tasks', true, now(), now(), 1 FROM users
        """
    )
    op.add_column("tasks", sa.Column("list_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE tasks SET list_id = task_lists.id FROM task_lists "
        "WHERE task_lists.user_id = tasks.user_id AND task_lists.is_default"
    )
    op.alter_column("tasks", "list_id", nullable=False)
    op.create_foreign_key(
        "fk_tasks_list_id_user_id_task_lists",
        "tasks",
        "task_lists",
        ["list_id", "user_id"],
        ["id", "user_id"],
        ondelete="CASCADE",
    )
    op.create_index("ix_tasks_list_id_created_at_id", "tasks", ["list_id", "created_at", "id"])
    for column in ("tags", "tag_keys"):
        op.add_column(
            "tasks", sa.Column(column, ARRAY(sa.String(length=40)), server_default="{}", nullable=False)
        )
    op.create_check_constraint(
        "ck_tasks_tags", "tasks", "cardinality(tags) <= 20 AND cardinality(tag_keys) = cardinality(tags)"
    )
    op.create_index("ix_tasks_tag_keys", "tasks", ["tag_keys"], postgresql_using="gin")
    # Manual order: existing tasks keep their creation order, 65536 apart.
    op.add_column("tasks", sa.Column("position", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(
        """
        UPDATE tasks SET position = numbered.n * 65536
        FROM (SELECT id, row_number() OVER (PARTITION BY list_id ORDER BY created_at, id) AS n
              FROM tasks) AS numbered
        WHERE tasks.id = numbered.id
        """
    )
    op.create_index("ix_tasks_user_id_position_id", "tasks", ["user_id", "position", "id"])

    op.create_table(
        "changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", JSONB(), nullable=True),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("entity IN ('task', 'list')", name="ck_changes_entity"),
        sa.CheckConstraint("operation IN ('created', 'updated', 'deleted')", name="ck_changes_operation"),
        sa.PrimaryKeyConstraint("id", name="pk_changes"),
    )
    op.create_index("ix_changes_user_id_xid", "changes", ["user_id", "xid"])
    op.create_index("ix_changes_changed_at", "changes", ["changed_at"])
    op.execute(RECORD_CHANGE)
    for table, entity in (("tasks", "task"), ("task_lists", "list")):
        op.execute(
            f"CREATE TRIGGER {table}_record_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION record_change('{entity}')"
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER task_lists_record_change ON task_lists")
    op.execute("DROP TRIGGER tasks_record_change ON tasks")
    op.execute("DROP FUNCTION record_change()")
    op.drop_index("ix_changes_changed_at", table_name="changes")
    op.drop_index("ix_changes_user_id_xid", table_name="changes")
    op.drop_table("changes")
    op.drop_index("ix_tasks_user_id_position_id", table_name="tasks")
    op.drop_column("tasks", "position")
    op.drop_index("ix_tasks_tag_keys", table_name="tasks")
    op.drop_constraint("ck_tasks_tags", "tasks", type_="check")
    op.drop_column("tasks", "tag_keys")
    op.drop_column("tasks", "tags")
    op.drop_index("ix_tasks_list_id_created_at_id", table_name="tasks")
    op.drop_constraint("fk_tasks_list_id_user_id_task_lists", "tasks", type_="foreignkey")
    op.drop_column("tasks", "list_id")
    op.drop_index("uq_task_lists_one_default_per_user", table_name="task_lists")
    op.drop_index("ix_task_lists_user_id_created_at_id", table_name="task_lists")
    op.drop_table("task_lists")
