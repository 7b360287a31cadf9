"""The connection to PostgreSQL: recovery without pre-ping, outages logged once, no values in logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from tasks_api.app import create_app
from tasks_api.auth import TokenIssuer
from tasks_api.database import Database
from tests.api.helpers import ApiClient
from tests.conftest import free_port, settings_for

DATABASE_LOG = "tasks_api.database"


def terminate_every_other_backend(engine: sa.Engine) -> int:
    """What a server restart, a failover or a pooler dropping its server connections looks like."""
    with engine.connect() as connection:
        terminated = connection.scalar(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    engine.dispose()  # the test's own pooled connections were among them
    return int(terminated or 0)


class TestRecoveryWithoutPrePing:
    def test_requests_succeed_again_after_every_backend_is_terminated(
        self, client: ApiClient, engine: sa.Engine, caplog: pytest.LogCaptureFixture
    ) -> None:
        for _ in range(3):  # fill the pool with connections that are about to die
            assert client.get("/ready").status_code == 200

        assert terminate_every_other_backend(engine) >= 1
        with caplog.at_level(logging.INFO, logger=DATABASE_LOG):
            answers = [client.get("/ready") for _ in range(6)]

        statuses = [answer.status_code for answer in answers]
        # The request that meets a dead connection may get 503 + Retry-After; SQLAlchemy then
        # invalidates the whole pool, so every later request gets a fresh connection.
        assert statuses.count(503) <= 1, statuses
        assert statuses[-5:] == [200] * 5, statuses
        for answer in answers:
            if answer.status_code == 503:
                assert answer.headers["Retry-After"] == "5"
                assert answer.headers["Content-Type"] == "application/problem+json"
        outage_lines = [record.getMessage() for record in caplog.records if record.name == DATABASE_LOG]
        assert len(outage_lines) == 2 * statuses.count(503), outage_lines


@pytest.fixture(scope="module")
def client_without_database(token_issuer: TokenIssuer) -> Iterator[ApiClient]:
    nobody_listens = URL.create(
        "postgresql", username="tasks", password="hunter2", host="127.0.0.1", port=free_port(), database="x"
    )
    with create_app(settings_for(nobody_listens, db_connect_timeout_seconds=1)).test_client() as client:
        yield ApiClient(client, token_issuer, "alice")


class TestAnOutageInTheLog:
    def test_is_one_line_when_it_starts_not_one_per_request(
        self, client_without_database: ApiClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Issue 9: every 503 wrote an ERROR line (221 lines in a 10 s outage)."""
        with caplog.at_level(logging.INFO):
            statuses = [client_without_database.get("/ready").status_code for _ in range(5)]

        assert statuses == [503] * 5
        errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert [record.name for record in errors] == [DATABASE_LOG]
        assert "database unavailable: Connection refused" in errors[0].getMessage()

    def test_ends_with_one_line_that_counts_the_failures(self, caplog: pytest.LogCaptureFixture) -> None:
        from tasks_api.database_outages import OutageLog

        outages = OutageLog()
        with caplog.at_level(logging.INFO, logger=DATABASE_LOG):
            for _ in range(3):
                outages.failed(ConnectionRefusedError("Connection refused"))
            outages.succeeded()
            outages.succeeded()

        assert [record.getMessage().split(";")[1].strip() for record in caplog.records[1:]] == [
            "3 database calls failed meanwhile"
        ]
        assert len(caplog.records) == 2

    def test_ends_when_a_statement_succeeds(
        self, database_url: URL, caplog: pytest.LogCaptureFixture
    ) -> None:
        database = Database.for_url(database_url, settings_for(database_url))
        database.outages.failed(ConnectionRefusedError("Connection refused"))
        try:
            with caplog.at_level(logging.INFO, logger=DATABASE_LOG), database.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        finally:
            database.engine.dispose()

        assert not database.outages.in_outage
        assert "database available again" in caplog.records[-1].getMessage()


class TestTheEngine:
    def test_has_no_engine_level_event_listeners(self, database_url: URL) -> None:
        """Each would cost every connection its events on every statement, checkout and commit
        (docs/performance.md, eighth pass); statement settings and the outage log wrap the
        dialect's do_execute instead."""
        database = Database.for_url(database_url, settings_for(database_url))
        try:
            # What a listener on this engine sets (tests/test_pooler.py listens on the Engine
            # class, which sets the class's flag for every engine of the run).
            assert "_has_events" not in vars(database.engine)
        finally:
            database.engine.dispose()


class TestAMisconfiguredDatabase:
    def test_503_says_it_cannot_connect_and_why(
        self, postgres_admin_url: URL, token_issuer: TokenIssuer
    ) -> None:
        """Issue 14: /ready and the 503 said "unavailable" when the cause was configuration."""
        missing = postgres_admin_url.set(database="no_such_database")
        with create_app(settings_for(missing)).test_client() as http:
            ready = http.get("/ready")
            tokens = http.post("/api/tokens", json={"email": "a@example.com", "password": "whatever!"})

        for response in (ready, tokens):
            assert response.status_code == 503
            assert response.json()["detail"] == (
                'The service is misconfigured and cannot connect: database "no_such_database" does not exist'
            )


class TestBoundValuesNeverReachLogs:
    def test_a_failed_statement_does_not_carry_its_parameters(self, database_url: URL) -> None:
        """Issue 9: the engine was built without hide_parameters, so errors carried emails and hashes."""
        database = Database.for_url(database_url, settings_for(database_url))
        try:
            with pytest.raises(sa.exc.DBAPIError) as failed, database.session_factory() as session:
                session.execute(
                    sa.text("SELECT 1 / :zero WHERE :email IS NOT NULL"),
                    {"zero": 0, "email": "secret@example.com"},
                )
        finally:
            database.engine.dispose()

        assert "division by zero" in str(failed.value)
        assert "secret@example.com" not in str(failed.value)
