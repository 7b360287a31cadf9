"""Alembic migrations: reversible, and in step with the SQLModel models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from tasks_api import schema_migrations
from tests.conftest import create_database

TABLES = {*SQLModel.metadata.tables, "alembic_version"}


def table_names(url: URL) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_head_revision_is_alembics() -> None:
    # Workers read it from the migration files without importing Alembic.
    alembic_head = ScriptDirectory.from_config(schema_migrations.alembic_config()).get_current_head()

    assert schema_migrations.head_revision() == alembic_head


def test_upgrade_downgrade_upgrade(postgres_admin_url: URL) -> None:
    url = create_database(postgres_admin_url, "tasks_migrations_roundtrip")

    schema_migrations.upgrade(url)
    assert table_names(url) == TABLES
    assert schema_migrations.current(url) == schema_migrations.head_revision()

    schema_migrations.downgrade(url, "base")
    assert table_names(url) == {"alembic_version"}
    assert schema_migrations.current(url) is None

    schema_migrations.upgrade(url)
    assert table_names(url) == TABLES


def test_an_upgrade_from_one_revision_behind_reaches_head(postgres_admin_url: URL) -> None:
    url = create_database(postgres_admin_url, "tasks_migrations_one_behind")
    schema_migrations.upgrade(url)
    schema_migrations.downgrade(url, "-1")
    assert schema_migrations.current(url) != schema_migrations.head_revision()

    schema_migrations.upgrade(url)

    assert schema_migrations.current(url) == schema_migrations.head_revision()
    assert table_names(url) == TABLES


def test_an_upgrade_at_head_does_not_import_alembic(database_url: URL) -> None:
    # Every start of serve upgrades; Alembic's import was 0.3 s of CPU beside the app's import.
    probe = (
        "import sys; from sqlalchemy.engine import make_url; from tasks_api import schema_migrations; "
        f"schema_migrations.upgrade(make_url({database_url.render_as_string(hide_password=False)!r})); "
        "print('alembic' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert output.strip() == "False"


def test_models_and_migrations_do_not_drift(database_url: URL) -> None:
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()

    assert differences == []


def test_concurrent_upgrades_take_turns(postgres_admin_url: URL) -> None:
    """Several workers starting at once: the advisory lock lets one migrate, the rest find head."""
    url = create_database(postgres_admin_url, "tasks_migrations_race")
    tasks_api = Path(sys.executable).parent / "tasks-api"
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}

    processes = [
        subprocess.Popen([tasks_api, "db", "upgrade"], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        # A bound, not a target: at load average 15 three fresh interpreters took over the 60 s
        # this once allowed, and the pipes of the abandoned processes then broke the next test.
        outcomes = [process.communicate(timeout=600) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()

    assert [process.returncode for process in processes] == [0, 0, 0], outcomes
    assert schema_migrations.current(url) == schema_migrations.head_revision()
