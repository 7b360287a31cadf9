"""GET /health and GET /ready"""

from __future__ import annotations

from starlette.testclient import TestClient


class TestGetHealth200:
    def test_is_alive(self, client: TestClient) -> None:
        response = client.get("/health")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


class TestGetReadiness200:
    def test_is_ready_at_the_migration_head(self, client: TestClient) -> None:
        response = client.get("/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ready", "migration": "0001"}
