"""``tasks-api serve`` and ``tasks-api db upgrade|downgrade|current``."""

from __future__ import annotations

import logging.config
import os
import sys
from typing import NoReturn

import click
import uvicorn
from pydantic import ValidationError
from sqlalchemy.engine import URL

from tasks_api import schema_migrations
from tasks_api.auth import resolve_jwt_secret
from tasks_api.database import check_connection, masked, resolve_database_url
from tasks_api.logging_config import logging_config
from tasks_api.settings import ConfigurationError, Settings

logger = logging.getLogger("tasks_api")


def _fail(message: str) -> NoReturn:
    click.echo(f"tasks-api: {message}", err=True)
    sys.exit(2)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']).upper()}: {issue['msg']}"
            for issue in error.errors()
        )
        _fail(f"invalid settings: {problems}")


def _database_url(settings: Settings) -> URL:
    """The database to use, reachable, or exit with one line that says why not."""
    try:
        url = resolve_database_url(settings)
        check_connection(url, settings)
    except ConfigurationError as error:
        _fail(str(error))
    return url


@click.group()
def main() -> None:
    """A contract-first tasks service."""


@main.command()
@click.option("--host", help="Address to listen on [default: TASKS_API_HOST or 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [default: TASKS_API_PORT or 8000].")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes [default: 1].")
@click.option("--migrate/--no-migrate", default=None, help="Upgrade the schema to head first [default: on].")
def serve(host: str | None, port: int | None, workers: int | None, migrate: bool | None) -> None:
    """Serve the API (embedded PostgreSQL unless DATABASE_URL is set)."""
    settings = _settings()
    logging.config.dictConfig(logging_config(settings.log_level))
    try:
        secret = resolve_jwt_secret(settings)
        settings.identity_provider  # noqa: B018  (checked now, not at the first request)
    except ConfigurationError as error:
        _fail(str(error))
    url = _database_url(settings)
    if settings.migrate_on_start if migrate is None else migrate:
        schema_migrations.upgrade(url)
        logger.info("Database schema at %s (%s)", schema_migrations.current(url), masked(url))
    # Workers are fresh processes: they read the resolved database from the environment.
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    os.environ["JWT_SECRET"] = secret
    uvicorn.run(
        "tasks_api.app:create_app_from_environment",
        factory=True,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        workers=workers or settings.workers,
        log_config=logging_config(settings.log_level),
        timeout_graceful_shutdown=10,
        # A worker imports for 1-4 s on a quiet machine and over 15 s on a loaded one; uvicorn's
        # default 5 s health check would kill it again and again.
        timeout_worker_healthcheck=60,
    )


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    settings = _settings()
    logging.config.dictConfig(logging_config(settings.log_level))
    schema_migrations.upgrade(_database_url(settings), revision)


@db.command()
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (default: one step back; 'base' removes everything)."""
    settings = _settings()
    logging.config.dictConfig(logging_config(settings.log_level))
    schema_migrations.downgrade(_database_url(settings), revision)


@db.command()
def current() -> None:
    """Print the schema's current revision."""
    settings = _settings()
    click.echo(schema_migrations.current(_database_url(settings)) or "(none)")
