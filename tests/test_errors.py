"""Errors that no single operation owns: routing, dependencies down, the unexpected, request ids."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from asgi_correlation_id import CorrelationIdFilter
from sqlalchemy.engine import URL

from tasks_api.app import create_app
from tasks_api.auth import TokenIssuer
from tests.api.helpers import ApiClient, assert_problem, tasks_url
from tests.conftest import create_database, free_port, settings_for


@pytest.fixture(scope="module")
def client_without_database(token_issuer: TokenIssuer) -> Iterator[ApiClient]:
    nobody_listens = URL.create(
        "postgresql",
        username="tasks",
        password="hunter2",
        host="127.0.0.1",
        port=free_port(),
        database="tasks",
    )
    with create_app(settings_for(nobody_listens, db_connect_timeout_seconds=1)).test_client() as client:
        yield ApiClient(client, token_issuer, "alice")


@pytest.fixture(scope="module")
def client_on_unmigrated_database(postgres_admin_url: URL, token_issuer: TokenIssuer) -> Iterator[ApiClient]:
    url = create_database(postgres_admin_url, "tasks_unmigrated")
    with create_app(settings_for(url)).test_client() as client:
        yield ApiClient(client, token_issuer, "alice")


class TestRouting:
    def test_unknown_path_is_404(self, client: ApiClient) -> None:
        problem = assert_problem(client.get("/no/such/thing"), 404, "not-found")

        assert problem["instance"] == "/no/such/thing"

    def test_wrong_method_is_405_with_allow(self, client: ApiClient) -> None:
        response = client.delete(tasks_url())

        assert_problem(response, 405, "method-not-allowed")
        assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


class TestDatabaseDown:
    def test_requests_get_503_with_retry_after(self, client_without_database: ApiClient) -> None:
        response = client_without_database.get(tasks_url())

        problem = assert_problem(response, 503, "service-unavailable")
        assert int(response.headers["retry-after"]) > 0
        assert "hunter2" not in response.text
        assert "127.0.0.1" not in problem["detail"]

    def test_readiness_fails_but_liveness_holds(self, client_without_database: ApiClient) -> None:
        assert_problem(client_without_database.get("/ready"), 503, "service-unavailable")
        assert client_without_database.get("/health").status_code == 200


class TestUnexpectedErrors:
    def test_are_500_without_internals(self, client_on_unmigrated_database: ApiClient) -> None:
        response = client_on_unmigrated_database.get(tasks_url())

        problem = assert_problem(response, 500, "internal-error")
        for internal in ("relation", "SELECT", "psycopg2", "Traceback", "tasks."):
            assert internal not in problem["detail"]

    def test_readiness_names_the_missing_migration(self, client_on_unmigrated_database: ApiClient) -> None:
        problem = assert_problem(client_on_unmigrated_database.get("/ready"), 503, "service-unavailable")

        assert "tasks-api db upgrade" in problem["detail"]


class TestRequestIds:
    def test_a_request_id_is_echoed(self, client: ApiClient) -> None:
        response = client.get("/health", headers={"X-Request-ID": "trace-me-42"})

        assert response.headers["x-request-id"] == "trace-me-42"

    def test_one_is_generated_otherwise_even_on_errors(self, client: ApiClient) -> None:
        first = client.get("/no/such/thing").headers["x-request-id"]
        second = client.get("/health").headers["x-request-id"]

        assert len(first) >= 16
        assert first != second

    def test_the_log_line_of_a_request_carries_its_id(
        self, client_on_unmigrated_database: ApiClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.handler.addFilter(CorrelationIdFilter())
        with caplog.at_level(logging.ERROR, logger="tasks_api.problems"):
            client_on_unmigrated_database.get(tasks_url(), headers={"X-Request-ID": "find-me-in-the-log"})

        assert [getattr(record, "correlation_id", None) for record in caplog.records] == [
            "find-me-in-the-log"
        ]
