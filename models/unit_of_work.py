"""A unit of work per request: one session, committed only when asked, rolled back otherwise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.change_feed import ChangeFeed
from models.fair_share import DEFAULT_FAIR_SHARE, FairShare
from models.idempotency import IdempotencyKeys
from models.sign_in import SignIn, SignInLimits
from models.tags import tag_page
from models.task_repository import TaskRepository
from models.todo_list_repository import TodoListRepository
from models.user import Owner
from models.user_registration import RegistrationLimits, Registrations
from models.user_repository import UserRepository


class UnitOfWork:
    """``with UnitOfWork(...) as uow: ...; uow.commit()`` -- leaving the block without
    ``commit()`` (an exception, an early return) rolls everything back; the session is always
    closed. Task access exists only for an owner, and only to that owner's tasks.

    A ``read_only`` unit of work is for an operation that reads in a single statement (one task,
    one page): its session is autocommitted, so the driver sends neither ``BEGIN`` nor, at the
    end, ``ROLLBACK`` (two round trips of three, for a read). It has nothing to commit: each
    statement is its own transaction, so several statements would not share one snapshot. Its
    task reads go over a connection of their own, without the session's machinery (a session
    transaction begun and closed around one statement): ``lent_connection``'s if it gives one
    (an autocommitted connection this unit of work then closes as its own), else a new one.
    """

    users: UserRepository

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sign_in_limits: SignInLimits,
        owner: Owner | None = None,
        registration_limits: RegistrationLimits | None = None,
        fair_share: FairShare = DEFAULT_FAIR_SHARE,
        *,
        read_only: bool = False,
        lent_connection: Callable[[], Connection | None] = lambda: None,
    ) -> None:
        self._session_factory = session_factory
        self._lent_connection = lent_connection
        self._read_only = read_only
        self._sign_in_limits = sign_in_limits
        self._registration_limits = registration_limits
        self._owner = owner
        self._fair_share = fair_share

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        self._reading_connection: Connection | None = None
        self.users = UserRepository(self._session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._reading_connection is not None:
                self._reading_connection.close()
        finally:
            # Closing ends the open transaction with a rollback; a rollback() first did that
            # work twice over in Python (the session's transaction, then its closing).
            self._session.close()

    def _read_connection(self) -> Connection:
        if self._reading_connection is None:
            # An autocommitted connection already checked out for this request (admission's), or a
            # new one from the session's engine (autocommitted, for a read-only unit of work).
            self._reading_connection = self._lent_connection() or self._session.get_bind().engine.connect()
        return self._reading_connection

    @property
    def tasks(self) -> TaskRepository:
        if self._owner is None:
            raise RuntimeError("task access needs an owner")
        return TaskRepository(
            self._session,
            self._owner,
            self.lists,
            self._fair_share,
            connection=self._read_connection if self._read_only else None,
        )

    @property
    def lists(self) -> TodoListRepository:
        if self._owner is None:
            raise RuntimeError("list access needs an owner")
        return TodoListRepository(self._session, self._owner)

    @property
    def idempotency_keys(self) -> IdempotencyKeys:
        if self._owner is None:
            raise RuntimeError("idempotency keys belong to an owner")
        return IdempotencyKeys(self._session, self._owner.id, self._fair_share.idempotency_keys_per_day)

    def tags_page(self, limit: int, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        if self._owner is None:
            raise RuntimeError("tags belong to an owner")
        return tag_page(self._session, self._owner.id, limit, after)

    def changes(self, retention: timedelta) -> ChangeFeed:
        if self._owner is None:
            raise RuntimeError("changes belong to an owner")
        return ChangeFeed(self._session, self._owner.id, retention)

    @property
    def sign_in(self) -> SignIn:
        return SignIn(self._session, self._sign_in_limits)

    @property
    def registrations(self) -> Registrations:
        if self._registration_limits is None:
            raise RuntimeError("registration limits were not given")
        return Registrations(self._session, self._registration_limits)

    def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work has nothing to commit")
        self._session.commit()
