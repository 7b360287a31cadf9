"""Users: one per (issuer, subject). Built-in accounts (this service's issuer, with a password
hash) and identity-provider subjects (without); failed sign-ins and registrations, counted for limits.

``id`` is the internal key that owns tasks; ``subject`` is what the issuer calls the user (the
``sub`` claim, the ``{user_id}`` of paths, the ``user_id`` clients see). For built-in accounts and
rows from before identities were per issuer the two are equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.timestamps import utc_now

# The issuer of tokens signed with this service's own secret (HS256), whatever their `iss` says:
# a namespace no identity provider can claim, since it is not a URL.
BUILT_IN_ISSUER = "urn:tasks-api:built-in"
EMAIL_MAX_LENGTH = 320
NAME_MAX_LENGTH = 200
SUBJECT_MAX_LENGTH = 128
ISSUER_MAX_LENGTH = 512
# Client addresses are stored normalised (an IPv6 /64, an IPv4 address, or a digest of anything
# else), so no value a client sends can outgrow the column.
ADDRESS_KEY_MAX_LENGTH = 64


class UserBase(SQLModel):
    email: str | None = Field(default=None, max_length=EMAIL_MAX_LENGTH)
    name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)


class UserRegistration(SQLModel):
    email: str
    name: str
    password: str


class Credentials(SQLModel):
    email: str
    password: str


class PasswordChange(SQLModel):
    current_password: str
    new_password: str


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # Case-insensitive uniqueness: Ada@Example.com and ada@example.com are one account.
        sa.Index("uq_users_email_lower", sa.func.lower(sa.column("email")), unique=True),
        sa.UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),
    )

    id: str = Field(primary_key=True, max_length=SUBJECT_MAX_LENGTH)
    issuer: str = Field(max_length=ISSUER_MAX_LENGTH)
    subject: str = Field(max_length=SUBJECT_MAX_LENGTH)
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utc_now, sa_type=sa.DateTime(timezone=True))
    # Tokens issued at or before this instant are refused (sign-out, password change).
    tokens_valid_after: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # The `iat` of the provider token whose claims set email and name: older tokens never undo newer.
    profile_issued_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # The per-user request rate: a fixed window and the requests counted in it.
    request_window_started_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    request_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class UserPublic(UserBase):
    id: str
    created_at: datetime


class SignInFailure(SQLModel, table=True):
    """One failed (or still unverified) token exchange; counted per account, per address, and per
    (account, address) over a window."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        sa.Index("ix_sign_in_failures_email_key_failed_at", "email_key", "failed_at"),
        sa.Index("ix_sign_in_failures_client_address_failed_at", "client_address", "failed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email_key: str = Field(max_length=EMAIL_MAX_LENGTH)
    client_address: str = Field(max_length=ADDRESS_KEY_MAX_LENGTH)
    failed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class RegistrationAttempt(SQLModel, table=True):
    """One registration, counted per address and over all addresses."""

    __tablename__ = "registration_attempts"
    __table_args__ = (
        sa.Index("ix_registration_attempts_client_address_attempted_at", "client_address", "attempted_at"),
        sa.Index("ix_registration_attempts_attempted_at", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_address: str = Field(max_length=ADDRESS_KEY_MAX_LENGTH)
    attempted_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True)
class Owner:
    """Who a request acts for. ``id`` is the internal key every owner-scoped query uses;
    ``subject`` is the token's ``sub`` (the path's ``{user_id}``)."""

    id: str
    email: str | None = None
    name: str | None = None
    subject: str | None = None

    @property
    def public_id(self) -> str:
        return self.subject if self.subject is not None else self.id
