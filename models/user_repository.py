"""Users: registration, lookup by email, and rows for identity-provider subjects."""

from __future__ import annotations

from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from models.errors import EmailAlreadyRegistered
from models.timestamps import utc_now
from models.user import Owner, User, UserRegistration

# A subject's row, made once; an email already taken (say, by a built-in account) is left out.
_ENSURE_USER = sa.text(
    """
    INSERT INTO users (id, email, name, created_at)
    SELECT :id,
           CASE WHEN EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(:email)) THEN NULL
                ELSE :email END,
           :name, :created_at
    ON CONFLICT (id) DO NOTHING
    """
)


class UserRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def register(self, registration: UserRegistration, password_hash: str) -> User:
        user = User(
            id=str(uuid4()),
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

    def ensure(self, owner: Owner) -> User:
        """The owner's row, created on first sight."""
        self._session.execute(
            _ENSURE_USER,
            {"id": owner.id, "email": owner.email, "name": owner.name, "created_at": utc_now()},
        )
        user = self._session.get(User, owner.id)
        assert user is not None
        return user
