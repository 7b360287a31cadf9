"""GET /health and GET /ready"""

from __future__ import annotations

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
