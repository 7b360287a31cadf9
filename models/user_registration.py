"""Registrations counted per client address and over all addresses, so that nobody can make the
service hash passwords without end (each Argon2id hash costs 64 MiB and a core for ~100 ms)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, delete

from models.errors import TooManyRegistrations
from models.sliding_window import seconds_until_under_limit
from models.user import RegistrationAttempt

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class RegistrationLimits:
    per_address_per_hour: int
    per_minute: int


class Registrations:
    def __init__(self, session: Session, limits: RegistrationLimits) -> None:
        self._session = session
        self._limits = limits

    def admit(self, client_address: str, now: datetime) -> None:
        """Record one registration, or TooManyRegistrations. The caller commits (before hashing)."""
        # One lock for all registrations: the checks are exact across workers, and the transaction
        # is a few short statements.
        self._session.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended("register", 0)))
        )
        self._session.execute(
            delete(RegistrationAttempt).where(col(RegistrationAttempt.attempted_at) <= now - HOUR)
        )
        wait = max(
            self._wait(
                col(RegistrationAttempt.client_address) == client_address,
                self._limits.per_address_per_hour,
                HOUR,
                now,
            ),
            self._wait(sa.true(), self._limits.per_minute, MINUTE, now),
        )
        if wait > 0:
            raise TooManyRegistrations(retry_after_seconds=wait)
        self._session.add(RegistrationAttempt(client_address=client_address, attempted_at=now))

    def _wait(self, matches: sa.ColumnElement[bool], limit: int, window: timedelta, now: datetime) -> int:
        return seconds_until_under_limit(
            self._session, RegistrationAttempt.attempted_at, matches, limit=limit, window=window, now=now
        )
