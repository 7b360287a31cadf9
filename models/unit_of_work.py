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


def _in_transactions(connection: Connection) -> Connection:
    """An autocommitted connection, made to run transactions again at the server's default
    isolation level."""
    connection.commit()  # ends what SQLAlchemy began around its autocommitted statements
    return connection.execution_options(isolation_level=connection.dialect.default_isolation_level)


class UnitOfWork:
    """``with UnitOfWork(...) as uow: ...; uow.commit()`` -- leaving the block without
    ``commit()`` (an exception, an early return) rolls everything back; the session is always
    closed. Task access exists only for an owner, and only to that owner's tasks.

    A ``read_only`` unit of work is for an operation that reads in a single statement (one task,
    one page): its session is autocommitted, so the driver sends neither ``BEGIN`` nor, at the
    end, ``ROLLBACK`` (two round trips of three, for a read). It has nothing to commit: each
    statement is its own transaction, so several statements would not share one snapshot. Its
    task reads go over a connection of their own, without the session's machinery (a session
    transaction begun and closed around one statement).

    ``lent_connection`` may give a connection the request already holds (autocommitted: the one
    admission used). The unit of work then runs on it, session and task reads alike, and closes it
    as its own; a unit of work that writes makes it run transactions again first.
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
        lent = self._lent_connection()
        if lent is not None and not self._read_only:
            try:
                lent = _in_transactions(lent)
            except BaseException:
                lent.close()  # it is this unit of work's to close, and the block never starts
                raise
        # Closed when the block ends: the connection lent to this unit of work, or the one its
        # task reads open.
        self._connection: Connection | None = lent
        self._session = self._session_factory() if lent is None else self._session_factory(bind=lent)
        self.users = UserRepository(self._session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            # Closing ends the open transaction with a rollback; a rollback() first did that
            # work twice over in Python (the session's transaction, then its closing).
            self._session.close()
        finally:
            if self._connection is not None:
                self._connection.close()

    def _read_connection(self) -> Connection:
        if self._connection is None:
            engine = self._session.get_bind().engine  # autocommitted, for a read-only unit of work
            self._connection = engine.connect()
        return self._connection

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
