"""Alembic, driven from code: upgrade, downgrade and current, serialised by an advisory lock.

Several workers (or several machines) may start at once; the PostgreSQL advisory lock makes them
migrate one at a time, and the later ones find the schema already at head.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection

from tasks_api.paths import MIGRATIONS_DIR

# Any fixed 64-bit number, shared by every tasks-api process: "tasks-api schema" in ASCII.
MIGRATION_LOCK_ID = 0x7461736B73736368


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _locked_connection(url: URL) -> Iterator[Connection]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()  # the lock is session-level: it outlives this transaction
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                connection.commit()
    finally:
        engine.dispose()


def upgrade(url: URL, revision: str = "head") -> None:
    with _locked_connection(url) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(url: URL, revision: str = "-1") -> None:
    with _locked_connection(url) as connection:
        command.downgrade(alembic_config(connection), revision)


def current(url: URL) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()
