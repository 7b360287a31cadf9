"""One identity per (issuer, subject); revocable tokens; the per-user request rate; registrations.

Existing users keep their id (the internal key their tasks point to) as their subject. Accounts
with a password become built-in accounts; rows without one were made from tokens: they are bound
to the identity provider configured when this migration runs (BETTER_AUTH_URL / JWKS_ISSUER), or,
with none, to the built-in issuer (then they could only have come from tokens signed with
JWT_SECRET).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tasks_api.settings import Settings

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUILT_IN_ISSUER = "urn:tasks-api:built-in"  # models.user.BUILT_IN_ISSUER, frozen here


def _provider_issuer() -> str | None:
    provider = Settings().identity_provider
    return provider[1] if provider else None


def upgrade() -> None:
    op.add_column("users", sa.Column("issuer", sa.String(length=512), nullable=True))
    op.add_column("users", sa.Column("subject", sa.String(length=128), nullable=True))
    op.execute(
        sa.text(
            "UPDATE users SET subject = id, issuer = CASE WHEN password_hash IS NOT NULL "
            "THEN :built_in ELSE coalesce(:provider, :built_in) END"
        ).bindparams(built_in=BUILT_IN_ISSUER, provider=_provider_issuer())
    )
    op.alter_column("users", "issuer", nullable=False)
    op.alter_column("users", "subject", nullable=False)
    op.create_unique_constraint("uq_users_issuer_subject", "users", ["issuer", "subject"])
    for column in ("tokens_valid_after", "profile_issued_at", "request_window_started_at"):
        op.add_column("users", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("request_count", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "registration_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registration_attempts"),
    )
    op.create_index(
        "ix_registration_attempts_client_address_attempted_at",
        "registration_attempts",
        ["client_address", "attempted_at"],
    )
    op.create_index("ix_registration_attempts_attempted_at", "registration_attempts", ["attempted_at"])


def downgrade() -> None:
    op.drop_index("ix_registration_attempts_attempted_at", table_name="registration_attempts")
    op.drop_index("ix_registration_attempts_client_address_attempted_at", table_name="registration_attempts")
    op.drop_table("registration_attempts")
    for column in ("request_count", "request_window_started_at", "profile_issued_at", "tokens_valid_after"):
        op.drop_column("users", column)
    op.drop_constraint("uq_users_issuer_subject", "users", type_="unique")
    # Users of other issuers whose subject collides with a kept id cannot be told apart any more.
    op.execute(sa.text("DELETE FROM users WHERE id <> subject"))
    op.drop_column("users", "subject")
    op.drop_column("users", "issuer")
