"""Small builders shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.testclient import TestClient

from tasks_api.auth import TokenIssuer
from tasks_api.contract import Contract
from tasks_api.paths import SPEC_PATH

PROBLEM_JSON = "application/problem+json"
# Every order listTasks offers, as the contract declares them.
SORTS: list[str] = Contract.load(SPEC_PATH).document["components"]["parameters"]["Sort"]["schema"]["enum"]


class ApiClient:
    """A test client that sends a bearer token for one user (or none)."""

    def __init__(self, http: TestClient, issuer: TokenIssuer, user_id: str | None) -> None:
        self._http = http
        self._issuer = issuer
        self.user_id = user_id
        self._token = issuer.issue(user_id)["access_token"] if user_id else None

    def as_user(self, user_id: str) -> ApiClient:
        return ApiClient(self._http, self._issuer, user_id)

    def anonymous(self) -> ApiClient:
        return ApiClient(self._http, self._issuer, None)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self._token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self._token}"
        response: httpx.Response = self._http.request(method, url, headers=headers, **kwargs)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


def tasks_url(user_id: str = "alice") -> str:
    return f"/api/{user_id}/tasks"


def task_url(task_id: str, user_id: str = "alice") -> str:
    return f"/api/{user_id}/tasks/{task_id}"


def create_task(client: ApiClient, user_id: str = "alice", **fields: Any) -> dict[str, Any]:
    response = client.as_user(user_id).post(tasks_url(user_id), json={"title": "Buy milk", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: httpx.Response, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{problem_type}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body
