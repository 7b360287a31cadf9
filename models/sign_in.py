"""Exchanging email and password for an account, with failures limited per account and address.

Failures are rows in PostgreSQL, so the limits hold across every worker and machine.
"""

from __future__ import annotations

import math
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select

from models.errors import InvalidCredentials, TooManySignInFailures
from models.user import Credentials, SignInFailure, User
from models.user_repository import UserRepository


@dataclass(frozen=True)
class SignInLimits:
    failures_per_account: int
    failures_per_address: int
    window: timedelta


@cache
def _decoy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("decoy password, never anyone's")


def _password_matches(hasher: PasswordHasher, user: User | None, password: str) -> bool:
    if user is None or user.password_hash is None:
        # Spend the same time as a real check, so response times do not reveal who has an account.
        with suppress(VerificationError):
            hasher.verify(_decoy_hash(hasher), password)
        return False
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class SignIn:
    def __init__(self, session: Session, users: UserRepository, limits: SignInLimits) -> None:
        self._session = session
        self._users = users
        self._limits = limits

    def authenticate(
        self, credentials: Credentials, client_address: str, hasher: PasswordHasher, now: datetime
    ) -> User:
        """The account, or InvalidCredentials (the failure is committed) or TooManySignInFailures.

        The caller commits on success; the failure path commits itself so the count survives.
        """
        email_key = credentials.email.lower()
        # Concurrent attempts on one account queue here, so none slips past the limit.
        self._session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(email_key))))
        self._refuse_if_limited(email_key, client_address, now)
        user = self._users.by_email(email_key)
        if not _password_matches(hasher, user, credentials.password):
            self._record_failure(email_key, client_address, now)
            self._session.commit()
            raise InvalidCredentials
        assert user is not None
        assert user.password_hash is not None
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(credentials.password)
        self._session.execute(delete(SignInFailure).where(col(SignInFailure.email_key) == email_key))
        return user

    def _refuse_if_limited(self, email_key: str, client_address: str, now: datetime) -> None:
        since = now - self._limits.window
        by_account = col(SignInFailure.email_key) == email_key
        by_address = col(SignInFailure.client_address) == client_address
        longest = max(
            self._wait(by_account, self._limits.failures_per_account, since, now),
            self._wait(by_address, self._limits.failures_per_address, since, now),
        )
        if longest > 0:
            raise TooManySignInFailures(retry_after_seconds=longest)

    def _wait(self, matches: sa.ColumnElement[bool], limit: int, since: datetime, now: datetime) -> int:
        """Seconds until fewer than ``limit`` failures remain in the window (0: not limited)."""
        query = (
            select(SignInFailure.failed_at)
            .where(matches, col(SignInFailure.failed_at) > since)
            .order_by(col(SignInFailure.failed_at).desc())
            .offset(limit - 1)
            .limit(1)
        )
        oldest_that_counts = self._session.exec(query).first()
        if oldest_that_counts is None:
            return 0
        return max(1, math.ceil((oldest_that_counts + self._limits.window - now).total_seconds()))

    def _record_failure(self, email_key: str, client_address: str, now: datetime) -> None:
        self._session.execute(
            delete(SignInFailure).where(col(SignInFailure.failed_at) <= now - self._limits.window)
        )
        self._session.add(SignInFailure(email_key=email_key, client_address=client_address, failed_at=now))
