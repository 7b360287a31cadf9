"""GET /health and GET /ready"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from tasks_api.schema_migrations import head_revision
from tests.api.helpers import ApiClient


class TestGetHealth200:
    def test_is_alive(self, client: ApiClient) -> None:
        response = client.get("/health")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


class TestGetReadiness200:
    def test_is_ready_at_the_migration_head(self, client: ApiClient) -> None:
        response = client.get("/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ready", "migration": head_revision()}


class TestProbesAreQuiet:
    def test_readiness_logs_nothing_when_ready(
        self, client: ApiClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Issue 9: every /ready logged Alembic's "Context impl" and "Will assume" INFO lines."""
        with caplog.at_level(logging.DEBUG):
            statuses = [client.get("/ready").status_code for _ in range(3)]

        assert statuses == [200] * 3
        service_lines = [
            record.getMessage()
            for record in caplog.records
            if record.levelno >= logging.INFO and record.name != "httpx"  # the test client's own
        ]
        assert service_lines == []

    def test_successful_probes_leave_no_access_line(
        self, served_with_two_workers: str, tmp_path: Path
    ) -> None:
        with httpx.Client(base_url=served_with_two_workers) as http:
            probes = [http.get(path).status_code for path in ("/health", "/ready", "/health")]
            missing = http.get("/no/such/thing").status_code

        assert (probes, missing) == ([200, 200, 200], 404)
        log = (tmp_path / "serve.log").read_text()
        assert '"GET /no/such/thing HTTP/1.1" 404' in log  # the access log is on
        assert '"GET /health' not in log
        assert '"GET /ready' not in log


class TestRequestIds:
    @pytest.mark.parametrize(
        "safe", ["trace-me-42", "3f2c7a9e-8d41-4c4b-9a8e-2b9f0f6d1c11", "a" * 64, "v1.2_x"]
    )
    def test_a_safe_id_is_echoed(self, client: ApiClient, safe: str) -> None:
        assert client.get("/health", headers={"X-Request-ID": safe}).headers["x-request-id"] == safe

    @pytest.mark.parametrize(
        "unsafe",
        ['x" 200 "GET /admin', "a b", "a" * 65, "id\tforged", "<script>"],
    )
    def test_any_other_is_replaced_by_a_fresh_id(self, client: ApiClient, unsafe: str) -> None:
        """Issue 9: any printable id was accepted, so a crafted one forged an access-log entry."""
        echoed = client.get("/health", headers={"X-Request-ID": unsafe}).headers["x-request-id"]

        assert echoed != unsafe
        assert re.fullmatch(r"[0-9a-f]{32}|[0-9a-f-]{36}", echoed), echoed
