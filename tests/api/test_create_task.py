"""POST /api/{user_id}/tasks"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.api.helpers import ApiClient, assert_problem, lists_url, tasks_url


class TestCreateTask201:
    def test_defaults_every_optional_field(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), json={"title": "Buy milk"})

        assert response.status_code == 201
        body = response.json()
        assert response.headers["location"] == f"/api/alice/tasks/{body['id']}"
        default_list = client.get(lists_url()).json()["items"][0]
        assert default_list["is_default"]
        assert body == {
            "id": body["id"],
            "user_id": "alice",
            "list_id": default_list["id"],
            "position": body["position"],
            "tags": [],
            "title": "Buy milk",
            "description": None,
            "status": "pending",
            "completed": False,
            "priority": "normal",
            "due_at": None,
            "created_at": body["created_at"],
            "updated_at": body["created_at"],
            "completed_at": None,
            "etag": '"1"',
        }
        assert response.headers["etag"] == '"1"'
        assert datetime.fromisoformat(body["created_at"]).utcoffset() == timedelta(0)

    def test_stores_due_at_in_utc(self, client: ApiClient) -> None:
        body = client.post(tasks_url(), json={"title": "Call", "due_at": "2026-05-01T12:00:00+02:00"}).json()

        assert body["due_at"] == "2026-05-01T10:00:00Z"

    def test_created_completed_task_has_completed_at(self, client: ApiClient) -> None:
        body = client.post(tasks_url(), json={"title": "Done already", "status": "completed"}).json()

        assert body["completed"] is True
        assert body["completed_at"] == body["created_at"]

    def test_is_listed_afterwards(self, client: ApiClient) -> None:
        created = client.post(tasks_url(), json={"title": "Buy milk"}).json()

        assert client.get(tasks_url()).json()["items"] == [created]

    def test_quotes_unusual_user_ids_in_location(self, client: ApiClient) -> None:
        response = client.as_user("auth0|42").post(tasks_url("auth0|42"), json={"title": "x"})

        assert response.headers["location"].startswith("/api/auth0%7C42/tasks/")


class TestCreateTask400:
    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            ({}, ""),
            ({"title": ""}, "/title"),
            ({"title": " \t\n"}, "/title"),
            ({"title": "x" * 201}, "/title"),
            ({"title": "ok", "description": "x" * 4001}, "/description"),
            ({"title": "ok", "status": "done"}, "/status"),
            ({"title": "ok", "priority": "urgent"}, "/priority"),
            ({"title": "ok", "due_at": "tomorrow"}, "/due_at"),
            ({"title": "ok", "due_at": "2026-05-01T12:00:00"}, "/due_at"),
            ({"title": "ok", "id": "6f1c1c5e-8d2a-4b7e-9a51-0c3d6f2b9e10"}, ""),
            ({"title": "ok", "completed": True}, ""),
            ({"title": 5}, "/title"),
        ],
    )
    def test_refuses_input_that_breaks_the_contract(
        self, client: ApiClient, body: dict[str, object], pointer: str
    ) -> None:
        response = client.post(tasks_url(), json=body)

        problem = assert_problem(response, 400, "validation-error")
        assert pointer in [error["pointer"] for error in problem["errors"]]
        assert problem["instance"] == "/api/alice/tasks"
        assert client.get(tasks_url()).json()["items"] == []

    def test_does_not_echo_a_huge_value_back(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), json={"title": "x" * 100_000})

        problem = assert_problem(response, 400, "validation-error")
        assert len(problem["errors"][0]["detail"]) <= 1000
        assert len(response.content) < 3000

    def test_refuses_malformed_json(self, client: ApiClient) -> None:
        response = client.post(
            tasks_url(), content=b'{"title": ', headers={"Content-Type": "application/json"}
        )

        assert_problem(response, 400, "malformed-request")

    def test_refuses_a_missing_body(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), headers={"Content-Type": "application/json"})

        assert_problem(response, 400, "validation-error")

    @pytest.mark.parametrize("title", ["nul\u0000byte", "\u0000"])
    def test_refuses_nul_bytes_that_postgresql_cannot_store(self, client: ApiClient, title: str) -> None:
        response = client.post(tasks_url(), json={"title": title})

        assert_problem(response, 400, "validation-error")

    def test_refuses_lone_surrogates_that_postgresql_cannot_store(self, client: ApiClient) -> None:
        response = client.post(
            tasks_url(),
            content=b'{"title": "half a pair \\ud800"}',
            headers={"Content-Type": "application/json"},
        )

        assert_problem(response, 400, "malformed-request")

    def test_refuses_invalid_utf8(self, client: ApiClient) -> None:
        response = client.post(
            tasks_url(), content=b'{"title": "\xff"}', headers={"Content-Type": "application/json"}
        )

        assert_problem(response, 400, "malformed-request")

    def test_refuses_a_due_date_that_leaves_the_calendar_in_utc(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), json={"title": "ok", "due_at": "9999-12-31T23:00:00-05:00"})

        problem = assert_problem(response, 400, "validation-error")
        assert problem["errors"][0]["pointer"] == "/due_at"

    def test_refuses_an_invalid_user_id(self, client: ApiClient) -> None:
        response = client.post("/api/al%20ice/tasks", json={"title": "ok"})

        problem = assert_problem(response, 400, "validation-error")
        assert problem["errors"][0]["pointer"] == "user_id"

    def test_refuses_unknown_query_parameters(self, client: ApiClient) -> None:
        response = client.post(tasks_url() + "?debug=1", json={"title": "ok"})

        assert_problem(response, 400, "validation-error")


class TestCreateTask413:
    def test_refuses_a_body_over_one_mebibyte(self, client: ApiClient) -> None:
        response = client.post(
            tasks_url(),
            content=b'{"title": "' + b"x" * (1024 * 1024) + b'"}',
            headers={"Content-Type": "application/json"},
        )

        assert_problem(response, 413, "payload-too-large")
        assert client.get(tasks_url()).json()["items"] == []


class TestCreateTask415:
    def test_refuses_a_body_that_is_not_json(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), content=b"title=Buy milk", headers={"Content-Type": "text/plain"})

        assert_problem(response, 415, "unsupported-media-type")
