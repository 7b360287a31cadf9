"""Exchanging email and password for an account, limited so that attackers are slowed and owners
are not locked out.

A sign-in is two short transactions around the password check, which runs with no connection or
lock held: the first takes advisory locks on the account and the address (always in that order),
checks the limits and records the attempt as a failure; the check runs; on success the second
deletes that (account, address) pair's failures. Recording before checking makes the limits exact
under any concurrency, across every worker.

Refused with 429, per the README's security model:

* an (account, address) pair with ``failures_per_account`` failures in the window;
* an address with ``failures_per_address`` failures in the window, whatever the accounts;
* an address that already failed on an account which has had ``failures_per_account_per_hour``
  failures from all addresses in the last hour (a spread-out attack gets one guess per address
  per hour); an address with no failure on the account, such as its owner's, still gets in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, delete, func, select

from models.errors import TooManySignInFailures
from models.sliding_window import seconds_until_under_limit
from models.user import BUILT_IN_ISSUER, SignInFailure, User

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class SignInLimits:
    failures_per_account: int
    failures_per_address: int
    window: timedelta
    failures_per_account_per_hour: int = 50


@dataclass(frozen=True)
class SignInAttempt:
    """What the password check needs, read while the attempt was recorded."""

    email_key: str
    client_address: str
    user_id: str | None
    password_hash: str | None


def _advisory_lock(session: Session, key: str) -> None:
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(key, 0))))


class SignIn:
    def __init__(self, session: Session, limits: SignInLimits) -> None:
        self._session = session
        self._limits = limits

    def begin(self, email: str, client_address: str, now: datetime) -> SignInAttempt:
        """Check the limits (TooManySignInFailures) and record this attempt as a failure until
        ``succeeded`` says otherwise. The caller commits."""
        email_key = email.lower()
        _advisory_lock(self._session, f"sign-in account\x1f{email_key}")
        _advisory_lock(self._session, f"sign-in address\x1f{client_address}")
        self._refuse_if_limited(email_key, client_address, now)
        self._session.execute(
            delete(SignInFailure).where(col(SignInFailure.failed_at) <= now - max(HOUR, self._limits.window))
        )
        self._session.add(SignInFailure(email_key=email_key, client_address=client_address, failed_at=now))
        user = self._session.exec(
            select(User).where(func.lower(User.email) == email_key, User.issuer == BUILT_IN_ISSUER)
        ).first()
        return SignInAttempt(
            email_key, client_address, user.id if user else None, user.password_hash if user else None
        )

    def succeeded(self, attempt: SignInAttempt, new_password_hash: str | None = None) -> User | None:
        """The owner's typos are forgiven: this pair's failures go (others' stay). The account, or
        None if it was deleted meanwhile. The caller commits."""
        self._session.execute(
            delete(SignInFailure).where(
                col(SignInFailure.email_key) == attempt.email_key,
                col(SignInFailure.client_address) == attempt.client_address,
            )
        )
        user = self._session.get(User, attempt.user_id) if attempt.user_id else None
        if user is not None and new_password_hash is not None:
            user.password_hash = new_password_hash
        return user

    def _refuse_if_limited(self, email_key: str, client_address: str, now: datetime) -> None:
        limits = self._limits
        by_account = col(SignInFailure.email_key) == email_key
        by_address = col(SignInFailure.client_address) == client_address
        waits = [
            self._wait(sa.and_(by_account, by_address), limits.failures_per_account, limits.window, now),
            self._wait(by_address, limits.failures_per_address, limits.window, now),
        ]
        if self._wait(sa.and_(by_account, by_address), 1, HOUR, now):
            waits.append(self._wait(by_account, limits.failures_per_account_per_hour, HOUR, now))
        longest = max(waits)
        if longest > 0:
            raise TooManySignInFailures(retry_after_seconds=longest)

    def _wait(self, matches: sa.ColumnElement[bool], limit: int, window: timedelta, now: datetime) -> int:
        return seconds_until_under_limit(
            self._session, SignInFailure.failed_at, matches, limit=limit, window=window, now=now
        )
