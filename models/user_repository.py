"""Users: registration, lookup, revocation of their tokens, and deletion."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select

from models.errors import EmailAlreadyRegistered, TokenRevoked
from models.task import Task
from models.user import BUILT_IN_ISSUER, Owner, User, UserRegistration

ONE_SECOND = timedelta(seconds=1)


def revocation_instant(now: datetime) -> datetime:
    """Tokens carry whole-second ``iat``s: everything issued in or before this second is revoked."""
    return now.replace(microsecond=0)


class UserRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def register(self, registration: UserRegistration, password_hash: str) -> User:
        key = str(uuid4())
        user = User(
            id=key,
            issuer=BUILT_IN_ISSUER,
            subject=key,
            email=registration.email,
            name=registration.name,
            password_hash=password_hash,
        )
        self._session.add(user)
        try:
            self._session.flush()
        except IntegrityError as error:
            if "uq_users_email_lower" in str(error.orig):
                raise EmailAlreadyRegistered from None
            raise
        return user

    def by_email(self, email: str) -> User | None:
        query = select(User).where(func.lower(User.email) == email.lower())
        return self._session.exec(query).first()

    def get(self, owner: Owner) -> User:
        user = self._session.get(User, owner.id)
        if user is None:  # deleted since the request was admitted
            raise TokenRevoked
        return user

    def revoke_tokens(self, owner: Owner, now: datetime) -> datetime:
        """Every token issued until now stops working, on every worker, from the next request.
        Returns the instant after which new tokens are valid."""
        user = self.get(owner)
        user.tokens_valid_after = revocation_instant(now)
        self._session.add(user)
        self._session.flush()
        return user.tokens_valid_after + ONE_SECOND

    def delete(self, owner: Owner, now: datetime) -> None:
        """The user's tasks and, for a built-in account, the user. A provider's subject keeps an
        empty row that refuses its earlier tokens (the provider would otherwise re-create it from
        the very next one); its later tokens start afresh."""
        user = self.get(owner)
        self._session.execute(delete(Task).where(col(Task.user_id) == user.id))
        if user.issuer == BUILT_IN_ISSUER:
            self._session.delete(user)
        else:
            user.email = user.name = None
            user.tokens_valid_after = revocation_instant(now)
            self._session.add(user)
        self._session.flush()

    def lock(self, owner: Owner) -> None:
        """Serialise changes to one user's credentials."""
        self._session.execute(sa.select(col(User.id)).where(col(User.id) == owner.id).with_for_update())
