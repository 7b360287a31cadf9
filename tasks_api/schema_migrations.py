"""Alembic, driven from code: upgrade, downgrade and current, serialised by an advisory lock.

Several workers (or several machines) may start at once; the PostgreSQL advisory lock makes them
migrate one at a time, and the later ones find the schema already at head. Callers pass the
direct URL (``DATABASE_URL_UNPOOLED``); even so the lock is transaction-scoped and the whole
migration one transaction (PostgreSQL DDL is transactional), so nothing here needs a session
that a transaction-mode pooler could split.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from tasks_api.paths import MIGRATIONS_DIR

# Alembic is imported where it is used, not here: a worker needs it only for the first /ready
# (the migration head), and importing it was ~8% of a worker's start-up (docs/performance.md).
if TYPE_CHECKING:
    from alembic.config import Config

# Any fixed 64-bit number, shared by every tasks-api process: "tasks-api schema" in ASCII.
MIGRATION_LOCK_ID = 0x7461736B73736368
UNDEFINED_TABLE = "42P01"  # SQLSTATE: no migration has run yet


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision (the scripts do not change while a process runs)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision in ``alembic_version``, read with one plain query.

    Not through Alembic's MigrationContext, which logs two INFO lines each time: readiness probes
    call this every few seconds.
    """
    try:
        revision = connection.scalar(sa.text("SELECT version_num FROM alembic_version LIMIT 1"))
    except sa.exc.ProgrammingError as error:
        if getattr(error.orig, "pgcode", None) == UNDEFINED_TABLE:
            connection.rollback()
            return None
        raise
    return str(revision) if revision is not None else None


@contextmanager
def _locked_connection(url: URL) -> Iterator[Connection]:
    """One transaction holding the migration lock; committed when the block succeeds."""
    engine = sa.create_engine(url, poolclass=sa.NullPool, hide_parameters=True)
    try:
        with engine.connect() as connection:
            # Migrations may run longer than the statement timeout the role gives requests.
            connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            yield connection
            connection.commit()  # releases the lock with the migration's changes
    finally:
        engine.dispose()


def upgrade(url: URL, revision: str = "head") -> None:
    from alembic import command

    with _locked_connection(url) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(url: URL, revision: str = "-1") -> None:
    from alembic import command

    with _locked_connection(url) as connection:
        command.downgrade(alembic_config(connection), revision)


def current(url: URL) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()
