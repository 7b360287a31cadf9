"""The ``users`` table: one row per owner, keyed by the identity provider's subject."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.timestamps import utc_now


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # Case-insensitive uniqueness: Ada@Example.com and ada@example.com are one account.
        sa.Index("uq_users_email_lower", sa.func.lower(sa.column("email")), unique=True),
    )

    id: str = Field(primary_key=True, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utc_now, sa_type=sa.DateTime(timezone=True), nullable=False)
