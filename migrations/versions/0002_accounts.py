"""Built-in accounts: password hashes, and failed sign-ins for rate limiting.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_failures"),
    )
    op.create_index("ix_sign_in_failures_email_key_failed_at", "sign_in_failures", ["email_key", "failed_at"])
    op.create_index(
        "ix_sign_in_failures_client_address_failed_at", "sign_in_failures", ["client_address", "failed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_client_address_failed_at", table_name="sign_in_failures")
    op.drop_index("ix_sign_in_failures_email_key_failed_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_column("users", "password_hash")
