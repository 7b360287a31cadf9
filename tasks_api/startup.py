"""What ``tasks-api serve`` checks and prepares before it listens, in a process of its own.

The settings, the JWT secret, the database (embedded PostgreSQL started or joined, connections
checked, role settings, migrations) need the whole stack: pydantic, SQLAlchemy, Alembic, PyJWT.
Done in the process that then supervises uvicorn's workers, that stack stayed in memory for the
server's life (128 MB of a 419 MB server). Here it runs in a child (``python -m
tasks_api.startup``) that tells the supervisor, one line each on a pipe, the worker count (as soon
as the settings are read) and then a ``Launch`` (the workers' environment and uvicorn's options, as
JSON), waits until the supervisor has joined the embedded PostgreSQL (so that its own exit does not
stop it), and exits. The ``db`` commands share its checks.
"""

from __future__ import annotations

import json
import logging.config
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict

import click
from pydantic import ValidationError

from tasks_api.client_address import forwarding_options
from tasks_api.http_edge import server_options
from tasks_api.jwt_secret import resolve_jwt_secret
from tasks_api.logging_config import logging_config
from tasks_api.settings import ConfigurationError, Settings

if TYPE_CHECKING:
    from tasks_api.database import DatabaseUrls

# SQLAlchemy and Alembic (tasks_api.database, tasks_api.schema_migrations) are imported once the
# settings are read and the worker count told: a lone worker imports the app meanwhile.

logger = logging.getLogger("tasks_api")

# Workers get at least this long to start, or this many times the app's import time measured at
# start-up, whichever is longer (measured: 3.5 s quiet, 7 s at load average 40; docs/performance.md).
MIN_WORKER_START_TIMEOUT_SECONDS = 60
WORKER_START_HEADROOM = 5


class Launch(TypedDict):
    environment: dict[str, str]  # what the workers read: the resolved database, the secret
    uvicorn: dict[str, Any]  # uvicorn.run's keyword arguments, JSON all through
    embedded_postgres: str | None  # its data folder, for the supervisor to join; None: DATABASE_URL


def fail(message: str) -> NoReturn:
    click.echo(f"tasks-api: {message}", err=True)
    sys.exit(2)


def settings_or_exit() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']).upper()}: {issue['msg']}"
            for issue in error.errors()
        )
        fail(f"invalid settings: {problems}")


def database_urls_or_exit(settings: Settings, *, serving: bool = False) -> DatabaseUrls:
    """The database to use, reachable over its direct URL (and, for ``serving``, over the URL
    requests use, connected exactly as they will be), or exit with one line that says why not."""
    from tasks_api.database import check_connection, resolve_database_urls

    try:
        urls = resolve_database_urls(settings)
        setting = "DATABASE_URL_UNPOOLED" if settings.database_url_unpooled else "DATABASE_URL"
        check_connection(urls.direct, settings, setting)
        if serving and urls.serving != urls.direct:
            check_connection(urls.serving, settings, "DATABASE_URL")
    except ConfigurationError as error:
        fail(str(error))
    return urls


def _measure_app_import() -> subprocess.Popen[str]:
    """Start importing the app in a fresh interpreter, as a worker will, alongside the database
    work; it also writes the bytecode cache the workers then start from."""
    probe = "import time; t = time.perf_counter(); import tasks_api.app; print(time.perf_counter() - t)"
    return subprocess.Popen(
        [sys.executable, "-c", probe], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def import_probe_for(workers: int) -> subprocess.Popen[str] | None:
    """The import probe, for a supervisor of several workers; None for one worker, which uvicorn
    runs in its own process with no health check (waiting for a probe cost it ~4 s of start-up)."""
    return _measure_app_import() if workers > 1 else None


def worker_start_timeout(import_probe: subprocess.Popen[str] | None) -> int:
    """Seconds a worker may take to start, from how long importing the app takes here and now.

    uvicorn kills a worker that is not ready within its health-check timeout (5 s by default); on
    a loaded machine the import alone took 7 s, and workers were killed over and over.
    """
    if import_probe is None:
        return MIN_WORKER_START_TIMEOUT_SECONDS
    output, _ = import_probe.communicate()
    try:
        imported = float(output.strip())
    except ValueError:  # the import failed: the workers will say why
        imported = 0.0
    timeout = max(MIN_WORKER_START_TIMEOUT_SECONDS, math.ceil(imported * WORKER_START_HEADROOM))
    logger.info("A fresh import of the app took %.1f s here; workers get %d s to start", imported, timeout)
    return timeout


def prepare(
    host: str | None,
    port: int | None,
    workers: int | None,
    migrate: bool | None,
    announce_workers: Callable[[int], None] = lambda _: None,
) -> Launch:
    """Everything ``serve`` does before uvicorn starts, or exit with one line that says why not.
    ``announce_workers`` hears the worker count as soon as the settings are read."""
    settings = settings_or_exit()
    workers = workers or settings.workers
    announce_workers(workers)
    # Now, so that it overlaps everything below (starting PostgreSQL, migrating): the workers
    # start only when it is done (it sets their start-up timeout).
    import_probe = import_probe_for(workers)
    log_config = logging_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(log_config)
    try:
        secret = resolve_jwt_secret(settings)
        settings.identity_provider  # noqa: B018  (checked now, not at the first request)
    except ConfigurationError as error:
        fail(str(error))
    from tasks_api import schema_migrations
    from tasks_api.database import apply_role_settings, masked, warn_unless_statement_timeout_applies

    urls = database_urls_or_exit(settings, serving=True)
    apply_role_settings(urls.direct, settings)
    if settings.migrate_on_start if migrate is None else migrate:
        schema_migrations.upgrade(urls.direct)
        logger.info("Database schema at %s (%s)", schema_migrations.current(urls.direct), masked(urls.direct))
    warn_unless_statement_timeout_applies(urls.serving, settings)
    return Launch(
        # Workers are fresh processes: they read the resolved database from the environment.
        environment={
            "DATABASE_URL": urls.serving.render_as_string(hide_password=False),
            "DATABASE_URL_UNPOOLED": urls.direct.render_as_string(hide_password=False),
            "JWT_SECRET": secret,
            "TASKS_API_WORKERS": str(workers),
        },
        uvicorn={
            "host": host or settings.host,
            "port": port if port is not None else settings.port,
            "workers": workers,
            "log_config": log_config,
            "timeout_graceful_shutdown": 10,  # SIGINT/SIGTERM: in-flight requests get this long
            "timeout_worker_healthcheck": worker_start_timeout(import_probe),
            **forwarding_options(settings),
            **server_options(settings),  # the HTTP edge's bounds: tasks_api/http_edge.py
            "server_header": False,  # no advertising of the server software
        },
        embedded_postgres=None if settings.database_url else str(settings.embedded_postgres_dir),
    )


def main() -> None:
    """``python -m tasks_api.startup OPTIONS LAUNCH_FD``: for ``serve``'s OPTIONS (JSON), two lines
    go to descriptor LAUNCH_FD: the worker count (as soon as it is known, so that a lone worker can
    import the app meanwhile), then the Launch. Then this waits for stdin to close before exiting."""
    # A SIGTERM mid-start exits through atexit, which stops an embedded PostgreSQL started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    options, launch_fd = json.loads(sys.argv[1]), int(sys.argv[2])
    with os.fdopen(launch_fd, "w") as channel:

        def announce_workers(workers: int) -> None:
            channel.write(f"{workers}\n")
            channel.flush()

        launch = prepare(**options, announce_workers=announce_workers)
        channel.write(json.dumps(launch) + "\n")
    sys.stdin.read()  # the supervisor has joined the embedded PostgreSQL (or gone away)


if __name__ == "__main__":
    main()
