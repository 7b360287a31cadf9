"""Small builders shared by the API tests."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

PROBLEM_JSON = "application/problem+json"


def tasks_url(user_id: str = "alice") -> str:
    return f"/api/{user_id}/tasks"


def task_url(task_id: str, user_id: str = "alice") -> str:
    return f"/api/{user_id}/tasks/{task_id}"


def create_task(client: TestClient, user_id: str = "alice", **fields: Any) -> dict[str, Any]:
    response = client.post(tasks_url(user_id), json={"title": "Buy milk", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: Any, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{problem_type}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body
