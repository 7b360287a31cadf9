"""Users: built-in accounts (with a password hash) and identity-provider subjects (without)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.timestamps import utc_now


class UserBase(SQLModel):
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)


class UserRegistration(SQLModel):
    email: str
    name: str
    password: str


class Credentials(SQLModel):
    email: str
    password: str


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # Case-insensitive uniqueness: Ada@Example.com and ada@example.com are one account.
        sa.Index("uq_users_email_lower", sa.func.lower(sa.column("email")), unique=True),
    )

    id: str = Field(primary_key=True, max_length=128)
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utc_now, sa_type=sa.DateTime(timezone=True))


class UserPublic(UserBase):
    id: str
    created_at: datetime


class SignInFailure(SQLModel, table=True):
    """One failed token exchange; counted per account and per client address over a window."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        sa.Index("ix_sign_in_failures_email_key_failed_at", "email_key", "failed_at"),
        sa.Index("ix_sign_in_failures_client_address_failed_at", "client_address", "failed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email_key: str = Field(max_length=320)
    client_address: str = Field(max_length=64)
    failed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True)
class Owner:
    """Who a request acts for: the token's subject, with what its claims say about them."""

    id: str
    email: str | None = None
    name: str | None = None
