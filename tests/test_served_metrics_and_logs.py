"""`tasks-api serve --workers 2` as production runs it: metrics summed over the workers, JSON logs."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_METRICS_TOKEN

PASSWORD = "correct horse battery staple"
# Each on a new connection, which the kernel hands to either worker (tasks_api/worker_listeners.py):
# all 40 on one worker is a chance of 2^-39.
REQUESTS = 40


@pytest.fixture
def serve_environment() -> dict[str, str]:
    return {"TASKS_API_LOG_FORMAT": "json"}


def test_metrics_add_up_every_worker_and_logs_are_json_lines(
    served_with_two_workers: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=served_with_two_workers, timeout=30) as http:
        user = http.post("/api/users", json={"email": "ops@example.com", "name": "Ops", "password": PASSWORD})
        token = http.post("/api/tokens", json={"email": "ops@example.com", "password": PASSWORD}).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}", "Connection": "close"}
        for _ in range(REQUESTS):
            assert http.get(f"/api/{user.json()['id']}/tasks", headers=bearer).status_code == 200
        scrapes = [
            http.get("/metrics", headers={"Authorization": f"Bearer {TEST_METRICS_TOKEN}"}) for _ in range(6)
        ]

    assert "server" not in {name.lower() for name in scrapes[0].headers}
    counts = set()
    for scrape in scrapes:
        for family in text_string_to_metric_families(scrape.text):
            for sample in family.samples:
                if sample.name == "tasks_api_requests_total" and sample.labels == {
                    "operation": "listTasks",
                    "status": "200",
                }:
                    counts.add(sample.value)
    assert counts == {REQUESTS}  # whichever worker answered the scrape

    lines = (tmp_path / "serve.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    listed = [record for record in records if record.get("operation_id") == "listTasks"]
    assert len(listed) == REQUESTS
    assert set(listed[0]) >= {
        "timestamp",
        "level",
        "request_id",
        "operation_id",
        "user_id",
        "status",
        "latency_ms",
        "client_addr",
    }
    assert listed[0]["user_id"] == user.json()["id"]
    assert listed[0]["status"] == 200
    assert listed[0]["client_addr"] == "127.0.0.1"
    log = "\n".join(lines)
    assert token["access_token"] not in log
    assert PASSWORD not in log
    assert TEST_METRICS_TOKEN not in log
