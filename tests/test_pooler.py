"""Through a transaction-mode PgBouncer, as Neon's pooled connection string (a -pooler host) works."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from tasks_api import database
from tasks_api.app import create_app
from tests.conftest import TEST_JWT_SECRET, create_database, free_port, settings_for
from tests.pgbouncer import PgBouncer, start_pgbouncer

TASKS_API = str(Path(sys.executable).parent / "tasks-api")


@pytest.fixture
def pooled_client(pgbouncer: PgBouncer, database_url: URL) -> Iterator[TestClient]:
    settings = settings_for(pgbouncer.url_for(database_url), database_url)
    with create_app(settings).test_client() as client:
        yield client


class TestServingThroughPgBouncer:
    def test_accounts_tokens_and_readiness_work(self, pooled_client: TestClient) -> None:
        """Issue 14: every request was a 503 (PgBouncer refused the `options` startup parameter)."""
        account = {"email": "ada@example.com", "name": "Ada", "password": "correct horse"}

        registered = pooled_client.post("/api/users", json=account)
        token = pooled_client.post(
            "/api/tokens", json={"email": account["email"], "password": "correct horse"}
        )
        ready = pooled_client.get("/ready")

        assert (registered.status_code, token.status_code, ready.status_code) == (201, 200, 200)

    def test_a_request_sends_no_session_settings(self, pooled_client: TestClient) -> None:
        """The statement timeout costs no round trip per request: no SET, no SHOW."""
        statements: list[str] = []

        def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            statements.append(statement)

        event.listen(sa.Engine, "before_cursor_execute", record)
        try:
            response = pooled_client.get("/ready")
        finally:
            event.remove(sa.Engine, "before_cursor_execute", record)

        assert response.status_code == 200
        assert statements == ["SELECT version_num FROM alembic_version LIMIT 1"]


class TestStatementTimeoutAsARoleSetting:
    def test_reaches_pooled_sessions(self, postgres_admin_url: URL, pgbouncer: PgBouncer) -> None:
        direct = create_database(postgres_admin_url, "tasks_role_settings")
        settings = settings_for(pgbouncer.url_for(direct), direct, db_statement_timeout_ms=1234)

        database.apply_role_settings(direct, settings)
        database.apply_role_settings(direct, settings)  # idempotent: the second finds it set

        engine = database.create_database_engine(pgbouncer.url_for(direct), settings, poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                applied = connection.scalar(sa.text("SHOW statement_timeout"))
        finally:
            engine.dispose()
        assert applied == "1234ms"


class TestServeRefusesAConnectionItCannotServe:
    def test_a_pooler_refusing_startup_options_stops_serve_with_the_fix(
        self, postgres_admin_url: URL, database_url: URL
    ) -> None:
        """Issue 14: serve migrated and said all was well, then answered 503 to everything."""
        bouncer = start_pgbouncer(postgres_admin_url)  # its own, so the suite's log stays clean
        try:
            pooled = bouncer.url_for(database_url).update_query_dict({"options": "-c statement_timeout=5000"})
            env = {
                **os.environ,
                "DATABASE_URL": pooled.render_as_string(hide_password=False),
                "DATABASE_URL_UNPOOLED": database_url.render_as_string(hide_password=False),
                "JWT_SECRET": TEST_JWT_SECRET,
            }
            result = subprocess.run(
                [TASKS_API, "serve", "--port", str(free_port())],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            bouncer.stop()

        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        last_line = result.stderr.strip().splitlines()[-1]
        assert "unsupported startup parameter: options" in last_line
        assert "(DATABASE_URL)" in last_line
        assert "fix: " in last_line
        assert "remove options=" in last_line
        assert bouncer.refusals(), "PgBouncer logged the refusal"


class TestTheDirectUrl:
    def test_falls_back_to_database_url(self, database_url: URL) -> None:
        settings = settings_for(database_url)
        settings = settings.model_copy(update={"database_url_unpooled": None})

        urls = database.resolve_database_urls(settings)

        assert urls.direct == urls.serving == database_url

    def test_is_used_when_set(self, database_url: URL, pgbouncer: PgBouncer) -> None:
        urls = database.resolve_database_urls(settings_for(pgbouncer.url_for(database_url), database_url))

        assert (urls.serving.port, urls.direct) == (pgbouncer.port, database_url)
