"""Admission: one statement per authenticated request that finds the user by (issuer, subject),
refuses a revoked token, counts the request against the user's rate window, and returns the
user's internal key.

It runs on its own, autocommitted, before the request's unit of work: the user's row is locked only
for that statement, so a user's concurrent requests never queue behind each other's transactions.
Built-in tokens only ever update an existing row (a deleted account stays deleted); a provider's
token makes its subject's row on first sight and refreshes email and name from newer tokens.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models.errors import RequestRateExceeded, TokenRevoked
from models.user import Owner

logger = logging.getLogger(__name__)

RATE_WINDOW = timedelta(minutes=1)

_COUNTED = """
    request_window_started_at = CASE WHEN u.request_window_started_at IS NULL
        OR u.request_window_started_at <= :window_start THEN :now ELSE u.request_window_started_at END,
    request_count = CASE WHEN u.request_window_started_at IS NULL
        OR u.request_window_started_at <= :window_start THEN 1 ELSE u.request_count + 1 END
"""
_RETURNED = "u.id, u.subject, u.email, u.name, u.request_count, u.request_window_started_at"
# The returned columns, declared: SQLAlchemy then describes the result once per statement, not from
# the cursor on every admission.
_RETURNED_COLUMNS: list[sa.ColumnClause[Any]] = [
    sa.column(name)
    for name in ("id", "subject", "email", "name", "request_count", "request_window_started_at")
]
_NOT_REVOKED = "(u.tokens_valid_after IS NULL OR u.tokens_valid_after < :issued_at)"

# A rate counter lost in a crash costs nothing, so admission does not wait for the WAL to reach
# disk (a synchronous commit cost ~10 ms of fsync per request on the bench machine). The two
# statements travel in one simple query, which PostgreSQL runs as one implicit transaction, so
# SET LOCAL applies to the write alone and it is still one round trip.
_ASYNCHRONOUS = "SET LOCAL synchronous_commit = off;"

_ADMIT_EXISTING = sa.text(
    f"""
    {_ASYNCHRONOUS}
    UPDATE users AS u SET {_COUNTED}
    WHERE u.issuer = :issuer AND u.subject = :subject AND {_NOT_REVOKED}
    RETURNING {_RETURNED}
    """
).columns(*_RETURNED_COLUMNS)

# The email is kept only when no other user holds it (a built-in account's address cannot be
# claimed by a provider's user); the profile follows the newest token. ``created`` (no earlier row
# version: xmax is 0) tells a first sight from a returning user.
_ADMIT_OR_CREATE = sa.text(
    f"""
    {_ASYNCHRONOUS}
    INSERT INTO users AS u (id, issuer, subject, email, name, profile_issued_at, created_at,
                            request_window_started_at, request_count)
    VALUES (:new_key, :issuer, :subject,
            (SELECT CAST(:email AS VARCHAR) WHERE NOT EXISTS (
                SELECT 1 FROM users AS other WHERE lower(other.email) = lower(:email)
                AND NOT (other.issuer = :issuer AND other.subject = :subject))),
            :name, :issued_at, :now, :now, 1)
    ON CONFLICT (issuer, subject) DO UPDATE SET {_COUNTED},
        email = CASE WHEN u.profile_issued_at IS NULL OR :issued_at > u.profile_issued_at
                     THEN EXCLUDED.email ELSE u.email END,
        name = CASE WHEN u.profile_issued_at IS NULL OR :issued_at > u.profile_issued_at
                    THEN EXCLUDED.name ELSE u.name END,
        profile_issued_at = GREATEST(u.profile_issued_at, EXCLUDED.profile_issued_at)
    WHERE {_NOT_REVOKED}
    RETURNING {_RETURNED}, (u.xmax = 0) AS created
    """
).columns(*_RETURNED_COLUMNS, sa.column("created"))


@dataclass(frozen=True)
class Identity:
    """What a verified token says about its user."""

    issuer: str
    subject: str
    issued_at: datetime
    may_create: bool  # a provider's subject becomes a user on first sight; a built-in one never
    email: str | None = None
    name: str | None = None


def admit(connection: sa.Connection, identity: Identity, requests_per_window: int, now: datetime) -> Owner:
    """The request's owner, or TokenRevoked (no such user, or the token predates a revocation) or
    RequestRateExceeded. ``connection`` must be in autocommit mode."""
    parameters = {
        "issuer": identity.issuer,
        "subject": identity.subject,
        "issued_at": identity.issued_at,
        "now": now,
        "window_start": now - RATE_WINDOW,
    }
    if identity.may_create:
        parameters |= {"new_key": str(uuid4()), "email": identity.email, "name": identity.name}
        try:
            row = connection.execute(_ADMIT_OR_CREATE, parameters).first()
        except IntegrityError:
            # Another user took the email in the same instant: this one goes without it.
            row = connection.execute(_ADMIT_OR_CREATE, parameters | {"email": None}).first()
        if row is not None and row.created and identity.email is not None and row.email is None:
            # Once, when the user is made: later requests with the same token would say it again.
            logger.info(
                "Provider user %r of %s stored without its email: another account has that address",
                identity.subject,
                identity.issuer,
            )
    else:
        row = connection.execute(_ADMIT_EXISTING, parameters).first()
    if row is None:
        raise TokenRevoked
    # By name through the row's mapping: a row's attribute access first fails as an attribute and
    # formats an AttributeError (models.task_rows.task_json says the same).
    user = row._mapping
    if user["request_count"] > requests_per_window:
        window_ends = user["request_window_started_at"] + RATE_WINDOW
        raise RequestRateExceeded(
            limit=requests_per_window,
            window_seconds=int(RATE_WINDOW.total_seconds()),
            retry_after_seconds=max(1, math.ceil((window_ends - now).total_seconds())),
        )
    return Owner(id=user["id"], email=user["email"], name=user["name"], subject=user["subject"])
