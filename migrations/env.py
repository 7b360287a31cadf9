"""Alembic environment: runs on the connection tasks-api hands over, or on DATABASE_URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (importing the package registers every table on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    # Plain `alembic ...` from a shell (e.g. `alembic revision --autogenerate`).
    from tasks_api.database import resolve_database_urls
    from tasks_api.settings import Settings

    engine = sa.create_engine(resolve_database_urls(Settings()).direct, poolclass=sa.NullPool)
    with engine.connect() as own_connection:
        run_migrations(own_connection)
    engine.dispose()


main()
