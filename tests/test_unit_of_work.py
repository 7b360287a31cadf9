"""A unit of work keeps what it commits and nothing else, and always gives its connection back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.errors import EmailAlreadyRegistered
from models.sign_in import SignInLimits
from models.unit_of_work import UnitOfWork
from models.user import UserRegistration
from tasks_api.database import create_database_engine
from tasks_api.settings import Settings

LIMITS = SignInLimits(failures_per_account=5, failures_per_address=5, window=timedelta(minutes=1))


@pytest.fixture
def engine(database_url: URL, settings: Settings) -> Iterator[sa.Engine]:
    """The engine requests use, with one connection: what one request leaves, the next one gets."""
    engine = create_database_engine(database_url, settings, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def units_of_work(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


def register(uow: UnitOfWork, email: str) -> None:
    uow.users.register(UserRegistration(email=email, name="N", password="unused"), "hash")


def stored(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(sa.text("SELECT email FROM users ORDER BY email")))


def admissions_connection(engine: sa.Engine) -> Connection:
    """What admission lends the request's unit of work (tasks_api.lent_connections)."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    connection.execute(sa.text("SELECT 1"))
    return connection


def used_autocommitted(engine: sa.Engine) -> None:
    """What an admission or a read does with its connection, given back."""
    admissions_connection(engine).close()


@pytest.fixture(params=["fresh", "last used autocommitted", "lent by admission"])
def new_unit_of_work(
    request: pytest.FixtureRequest, engine: sa.Engine, units_of_work: sessionmaker[Session]
) -> Callable[[], UnitOfWork]:
    """Units of work as a request makes them, on the pool's one connection as they find it: a
    switch into or out of autocommit waits for a statement that needs the other mode
    (tasks_api.database.LazyAutocommitConnection), and admission may lend the connection it used
    (a second checkout would wait for the pool's timeout and fail)."""
    if request.param == "last used autocommitted":
        used_autocommitted(engine)
    lent = (lambda: admissions_connection(engine)) if request.param == "lent by admission" else (lambda: None)
    return lambda: UnitOfWork(units_of_work, LIMITS, lent_connection=lent)


class TestLeavingTheBlock:
    def test_what_was_committed_is_kept(
        self, engine: sa.Engine, new_unit_of_work: Callable[[], UnitOfWork]
    ) -> None:
        with new_unit_of_work() as uow:
            register(uow, "kept@example.com")
            uow.commit()

        assert stored(engine) == ["kept@example.com"]

    def test_without_commit_nothing_is_written(
        self, engine: sa.Engine, new_unit_of_work: Callable[[], UnitOfWork]
    ) -> None:
        with new_unit_of_work() as uow:
            register(uow, "flushed@example.com")  # sent to the server, in the open transaction

        assert stored(engine) == []

    def test_on_an_error_nothing_is_written(
        self, engine: sa.Engine, new_unit_of_work: Callable[[], UnitOfWork]
    ) -> None:
        def fail_half_way() -> None:
            with new_unit_of_work() as uow:
                register(uow, "half@example.com")
                raise LookupError

        with pytest.raises(LookupError):
            fail_half_way()

        assert stored(engine) == []

    def test_after_a_commit_later_changes_are_not_written(
        self, engine: sa.Engine, new_unit_of_work: Callable[[], UnitOfWork]
    ) -> None:
        with new_unit_of_work() as uow:
            register(uow, "first@example.com")
            uow.commit()
            register(uow, "second@example.com")

        assert stored(engine) == ["first@example.com"]

    def test_after_a_failed_statement_the_connection_serves_the_next_one(
        self, engine: sa.Engine, new_unit_of_work: Callable[[], UnitOfWork]
    ) -> None:
        with new_unit_of_work() as uow:
            register(uow, "taken@example.com")
            uow.commit()

        def register_again() -> None:
            with new_unit_of_work() as uow:
                register(uow, "TAKEN@example.com")  # the failed INSERT aborts the transaction

        with pytest.raises(EmailAlreadyRegistered):
            register_again()
        with new_unit_of_work() as uow:  # the same connection, rolled back
            register(uow, "next@example.com")
            uow.commit()

        assert stored(engine) == ["next@example.com", "taken@example.com"]

    def test_the_connection_goes_back_to_the_pool_idle(
        self, engine: sa.Engine, new_unit_of_work: Callable[[], UnitOfWork]
    ) -> None:
        for _ in range(3):
            with new_unit_of_work() as uow:
                register(uow, "again@example.com")

        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        with engine.connect() as connection:
            states = connection.scalars(
                sa.text(
                    "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
            ).all()
        assert "idle in transaction" not in states


class TestAfterAnAutocommittedUse:
    """Connections switch into and out of autocommit only when a statement needs the other mode
    (tasks_api.database.LazyAutocommitConnection): each switch releases the GIL. What a unit of
    work writes after such a use: TestLeavingTheBlock, run every way."""

    def test_the_connection_goes_back_to_the_pool_still_autocommitted(self, engine: sa.Engine) -> None:
        used_autocommitted(engine)

        with engine.connect() as connection:  # the pool's one connection, before any statement
            driver_connection = connection.connection.dbapi_connection
            assert driver_connection is not None
            assert driver_connection.autocommit is True

    def test_an_isolation_level_other_than_the_default_is_refused(self, engine: sa.Engine) -> None:
        with engine.connect() as connection, pytest.raises(NotImplementedError, match="SERIALIZABLE"):
            connection.execution_options(isolation_level="SERIALIZABLE")
