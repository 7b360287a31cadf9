"""Per-user text search: a GIN index whose keys carry their owner, replacing the global one.

With one GIN index over everyone's words, a search for a common prefix read every user's matches
before keeping the searcher's: one tenant's 500,000 tasks made everyone's searches slow. Here each
lexeme is prefixed with 8 hex digits of md5(owner), so a search reads only its owner's entries
(what a composite (user_id, search_vector) GIN index would do; the embedded PostgreSQL ships no
btree_gin).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER_LEXEMES_FUNCTION = """
CREATE FUNCTION tasks_owner_lexemes(owner text, document tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
-- Costly per row (it rebuilds a tsvector): said so, the planner reads a rare word from the index
-- rather than filtering the owner's tasks one by one in sort order.
COST 1000
RETURN array_to_tsvector(ARRAY(
    SELECT left(md5(owner), 8) || lexeme FROM unnest(tsvector_to_array(document)) AS lexeme
))
"""


def upgrade() -> None:
    op.execute(OWNER_LEXEMES_FUNCTION)
    op.create_index(
        "ix_tasks_owner_search",
        "tasks",
        [sa.text("tasks_owner_lexemes(user_id, search_vector)")],
        postgresql_using="gin",
    )
    # More sampled words (default 100): an unknown prefix is then estimated rare, as it usually is,
    # and read from the index rather than filtered out of the owner's tasks in sort order.
    op.execute("ALTER INDEX ix_tasks_owner_search ALTER COLUMN 1 SET STATISTICS 1000")
    op.drop_index("ix_tasks_search_vector", table_name="tasks")


def downgrade() -> None:
    op.create_index("ix_tasks_search_vector", "tasks", ["search_vector"], postgresql_using="gin")
    op.drop_index("ix_tasks_owner_search", table_name="tasks")
    op.execute("DROP FUNCTION tasks_owner_lexemes(text, tsvector)")
