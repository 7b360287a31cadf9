"""Idempotent creation: the first response to a key is stored, and replayed to every retry.

Keys are per user and live 24 hours, in PostgreSQL so that every worker sees them. A transaction
holds an advisory lock on the key while it works, so a concurrent retry is told "in flight"
instead of creating a second task, and a crashed request leaves no lock behind.

A user may hold a bounded number of live keys (``FairShare.idempotency_keys_per_day``): each is a
stored response, so without a bound one client could fill the table for everyone.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, Session, SQLModel, col, delete, select

from models.errors import IdempotencyKeyInFlight, IdempotencyKeyQuotaExceeded, IdempotencyKeyReused

KEY_LIFETIME = timedelta(hours=24)
EXPIRED_ROWS_PURGED_PER_REQUEST = 100


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.Index("ix_idempotency_keys_expires_at", "expires_at"),)

    user_id: str = Field(primary_key=True, max_length=128)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: dict[str, Any] = Field(sa_column=sa.Column(JSONB, nullable=False))
    headers: dict[str, str] = Field(sa_column=sa.Column(JSONB, nullable=False))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]


def fingerprint(body: Any) -> str:
    """The same for the same JSON, whatever its key order or spacing."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class IdempotencyKeys:
    def __init__(self, session: Session, owner_id: str, keys_per_day: int = 10_000) -> None:
        self._session = session
        self._owner_id = owner_id
        self._keys_per_day = keys_per_day

    def claim(self, key: str, request_fingerprint: str, now: datetime) -> StoredResponse | None:
        """The stored response for ``key``, or None when this request is the first (it then holds
        the key until its transaction ends). Raises IdempotencyKeyInFlight or IdempotencyKeyReused."""
        lock = sa.func.pg_try_advisory_xact_lock(sa.func.hashtextextended(f"{self._owner_id}\x1f{key}", 0))
        if not self._session.scalar(sa.select(lock)):
            raise IdempotencyKeyInFlight
        self._purge_expired(now)
        record = self._session.get(IdempotencyRecord, (self._owner_id, key))
        if record is None or record.expires_at <= now:
            return None
        if record.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused
        return StoredResponse(record.status_code, record.body, record.headers)

    def remember(self, key: str, request_fingerprint: str, response: StoredResponse, now: datetime) -> None:
        """Store the first response to ``key``. Raises IdempotencyKeyQuotaExceeded when the owner
        already holds ``keys_per_day`` live keys; call it after ``TaskRepository.add``, whose
        lock on the owner's row makes the count exact under concurrent requests."""
        self._check_quota(now)
        record = IdempotencyRecord(
            user_id=self._owner_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=response.status_code,
            body=response.body,
            headers=response.headers,
            created_at=now,
            expires_at=now + KEY_LIFETIME,
        )
        self._session.merge(record)
        self._session.flush()

    def _check_quota(self, now: datetime) -> None:
        live = (
            select(IdempotencyRecord.expires_at)
            .where(IdempotencyRecord.user_id == self._owner_id, col(IdempotencyRecord.expires_at) > now)
            .limit(self._keys_per_day)
            .subquery()
        )
        row = self._session.execute(
            sa.select(sa.func.count(), sa.func.min(live.c.expires_at)).select_from(live)
        ).one()
        held: int = row[0]
        first_expiry: datetime | None = row[1]
        if held >= self._keys_per_day:
            assert isinstance(first_expiry, datetime)
            retry_after = max(1, math.ceil((first_expiry - now).total_seconds()))
            raise IdempotencyKeyQuotaExceeded(self._keys_per_day, retry_after)

    def _purge_expired(self, now: datetime) -> None:
        """A few expired keys go with every claim, so the table cleans itself under traffic."""
        expired = (
            select(IdempotencyRecord.user_id, IdempotencyRecord.key)
            .where(col(IdempotencyRecord.expires_at) <= now)
            .limit(EXPIRED_ROWS_PURGED_PER_REQUEST)
        )
        self._session.execute(
            delete(IdempotencyRecord).where(
                sa.tuple_(col(IdempotencyRecord.user_id), col(IdempotencyRecord.key)).in_(expired)
            )
        )
