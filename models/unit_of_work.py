"""A unit of work per request: one session, committed only when asked, rolled back otherwise."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.task_repository import TaskRepository


class UnitOfWork:
    """``with UnitOfWork(...) as uow: ...; uow.commit()`` -- leaving the block without
    ``commit()`` (an exception, an early return) rolls everything back; the session is always
    closed."""

    tasks: TaskRepository

    def __init__(self, session_factory: sessionmaker[Session], owner_id: str) -> None:
        self._session_factory = session_factory
        self._owner_id = owner_id

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        self.tasks = TaskRepository(self._session, self._owner_id)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._session.rollback()
        finally:
            self._session.close()

    def commit(self) -> None:
        self._session.commit()
