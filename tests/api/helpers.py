"""Small builders shared by the API tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import orjson
from starlette.testclient import TestClient

from tasks_api.auth import TokenIssuer
from tasks_api.contract import HTTP_METHODS, Contract
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

    def with_token(self, token: str) -> ApiClient:
        """The same client sending ``token`` as it is (a forged or malformed one, say)."""
        client = ApiClient(self._http, self._issuer, None)
        client._token = token
        return client

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


def lists_url(user_id: str = "alice") -> str:
    return f"/api/{user_id}/lists"


def list_url(list_id: str, user_id: str = "alice") -> str:
    return f"/api/{user_id}/lists/{list_id}"


def changes_url(user_id: str = "alice") -> str:
    return f"/api/{user_id}/changes"


def create_list(client: ApiClient, user_id: str = "alice", name: str = "Groceries") -> dict[str, Any]:
    response = client.as_user(user_id).post(lists_url(user_id), json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


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


@dataclass(frozen=True)
class ContractOperation:
    """An operation as the contract declares it, with a request the contract accepts."""

    method: str
    path: str
    body: Any = None
    media_type: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, user_id: str, **path_ids: str) -> str:
        """The path with ``user_id`` and any other id filled in (ids the caller leaves out get a
        fresh UUID: a well-formed id of nothing)."""
        values = {name: path_ids.get(name, str(uuid4())) for name in re.findall(r"{(\w+)}", self.path)}
        return self.path.format(**{**values, "user_id": user_id})

    def send(self, client: ApiClient, url: str) -> httpx.Response:
        if self.media_type is None:
            return client.request(self.method, url)
        return client.request(
            self.method, url, content=orjson.dumps(self.body), headers={"Content-Type": self.media_type}
        )


def owner_scoped_operations() -> list[ContractOperation]:
    """Every operation on a user's data (``/api/{user_id}/...``) that needs a token, from the
    contract itself, so a new one is covered by the auth battery the moment it is declared."""
    document = Contract.load(SPEC_PATH).document
    operations = []
    for path, item in document["paths"].items():
        if not path.startswith("/api/{user_id}/"):
            continue
        for method, operation in item.items():
            if method not in HTTP_METHODS or operation.get("security", document.get("security")) == []:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            media_type = next(iter(content), None)
            body = None
            if media_type is not None:
                examples = content[media_type].get("examples")
                if not examples:
                    raise AssertionError(f"{method.upper()} {path}: give its request body an example")
                body = next(iter(examples.values()))["value"]
            operations.append(ContractOperation(method.upper(), path, body, media_type))
    return operations
