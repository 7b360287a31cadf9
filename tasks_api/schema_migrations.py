"""Alembic, driven from code: upgrade, downgrade and current, serialised by an advisory lock.

Several workers (or several machines) may start at once; the PostgreSQL advisory lock makes them
migrate one at a time, and the later ones find the schema already at head. Callers pass the
direct URL (``DATABASE_URL_UNPOOLED``); even so the lock is transaction-scoped and the whole
migration one transaction (PostgreSQL DDL is transactional), so nothing here needs a session
that a transaction-mode pooler could split.

Workers only ask for the head revision and the database's current one; both are read here without
importing Alembic (14 MiB in every worker otherwise), which only ``upgrade``/``downgrade`` import.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from tasks_api.paths import MIGRATIONS_DIR

if TYPE_CHECKING:
    from alembic.config import Config

# Any fixed 64-bit number, shared by every tasks-api process: "tasks-api schema" in ASCII.
MIGRATION_LOCK_ID = 0x7461736B73736368
UNDEFINED_TABLE = "42P01"  # SQLSTATE: no migration has run yet
CURRENT_REVISION = sa.text("SELECT version_num FROM alembic_version LIMIT 1")


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _revision_and_parents(script: Path) -> tuple[str, set[str]]:
    """A migration's ``revision`` and ``down_revision`` (one, several for a merge, or none), read
    from its source as the literals Alembic's template writes."""
    values: dict[str, object] = {}
    for statement in ast.parse(script.read_text(), str(script)).body:
        if isinstance(statement, ast.AnnAssign | ast.Assign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in {"revision", "down_revision"}:
                    values[target.id] = ast.literal_eval(statement.value)
    revision, down = values["revision"], values.get("down_revision")
    parents = {down} if isinstance(down, str) else set(down) if isinstance(down, tuple | list) else set()
    return str(revision), {str(parent) for parent in parents}


@functools.cache
def head_revision() -> str | None:
    """The newest migration: the one no other names as its ``down_revision`` (what Alembic's
    ``ScriptDirectory.get_current_head`` answers; tests/test_migrations.py holds them equal)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        revision, its_parents = _revision_and_parents(script)
        revisions.add(revision)
        parents |= its_parents
    heads = revisions - parents
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads: {sorted(heads)}; merge them")
    return next(iter(heads), None)


def current_revision(connection: Connection) -> str | None:
    """The revision in ``alembic_version``, read with one plain query.

    Not through Alembic's MigrationContext, which logs two INFO lines each time: readiness probes
    call this every few seconds.
    """
    try:
        revision = connection.scalar(CURRENT_REVISION)
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
    with _locked_connection(url) as connection:
        if revision == "head" and _at_head(connection):
            return  # every start but the first after a release: Alembic is not even imported
        from alembic import command

        command.upgrade(alembic_config(connection), revision)


def _at_head(connection: Connection) -> bool:
    """Whether the schema is at the head revision, asked without ending the locked transaction
    (``current_revision`` rolls back when there is no version table yet)."""
    head = head_revision()
    if head is None or connection.scalar(sa.text("SELECT to_regclass('alembic_version')")) is None:
        return False
    return bool(connection.scalar(CURRENT_REVISION) == head)


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
