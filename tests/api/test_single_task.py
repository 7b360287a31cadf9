"""GET, PUT, PATCH and DELETE /api/{user_id}/tasks/{task_id}"""

from __future__ import annotations

import uuid

import pytest

from tests.api.helpers import ApiClient, assert_problem, create_task, task_url, tasks_url

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


class TestGetTask200:
    def test_returns_the_task(self, client: ApiClient) -> None:
        task = create_task(client, description="two litres")

        response = client.get(task_url(task["id"]))

        assert response.status_code == 200
        assert response.json() == task


class TestGetTask404:
    def test_unknown_task(self, client: ApiClient) -> None:
        problem = assert_problem(client.get(task_url(str(uuid.uuid4()))), 404, "not-found")

        assert problem["instance"].startswith("/api/alice/tasks/")

    def test_another_users_task_looks_missing(self, client: ApiClient) -> None:
        theirs = create_task(client, "bob")

        mine = client.get(task_url(theirs["id"], "alice"))
        missing = client.get(task_url(str(uuid.uuid4()), "alice"))

        assert_problem(mine, 404, "not-found")
        assert mine.json()["title"] == missing.json()["title"]


class TestGetTask400:
    def test_task_id_must_be_a_uuid(self, client: ApiClient) -> None:
        problem = assert_problem(client.get(task_url("42")), 400, "validation-error")

        assert problem["errors"][0]["pointer"] == "task_id"


class TestReplaceTask200:
    def test_replaces_every_writable_field_and_resets_the_rest(self, client: ApiClient) -> None:
        task = create_task(
            client, description="old", priority="high", due_at="2026-05-01T10:00:00Z", status="in_progress"
        )

        response = client.put(task_url(task["id"]), json={"title": "Replaced"})

        assert response.status_code == 200
        body = response.json()
        assert body == {
            **task,
            "title": "Replaced",
            "description": None,
            "priority": "normal",
            "due_at": None,
            "status": "pending",
            "updated_at": body["updated_at"],
            "etag": '"2"',
        }
        assert body["updated_at"] > task["updated_at"]

    def test_completing_sets_completed_at(self, client: ApiClient) -> None:
        task = create_task(client)

        body = client.put(task_url(task["id"]), json={"title": "x", "status": "completed"}).json()

        assert body["completed"] is True
        assert body["completed_at"] == body["updated_at"]


class TestReplaceTask400:
    def test_title_is_required(self, client: ApiClient) -> None:
        task = create_task(client)

        assert_problem(client.put(task_url(task["id"]), json={"status": "pending"}), 400, "validation-error")
        assert client.get(task_url(task["id"])).json() == task


class TestReplaceTask404:
    def test_another_users_task(self, client: ApiClient) -> None:
        theirs = create_task(client, "bob")

        response = client.put(task_url(theirs["id"], "alice"), json={"title": "mine now"})

        assert_problem(response, 404, "not-found")
        assert client.as_user("bob").get(task_url(theirs["id"], "bob")).json() == theirs


class TestUpdateTask200:
    def test_merge_patch_sets_and_clears_fields(self, client: ApiClient) -> None:
        task = create_task(client, description="old", due_at="2026-05-01T10:00:00Z")

        response = client.patch(
            task_url(task["id"]),
            content=b'{"priority": "high", "description": null}',
            headers=MERGE_PATCH,
        )

        assert response.status_code == 200
        body = response.json()
        assert body == {
            **task,
            "priority": "high",
            "description": None,
            "updated_at": body["updated_at"],
            "etag": '"2"',
        }

    def test_plain_json_is_accepted_too(self, client: ApiClient) -> None:
        task = create_task(client)

        response = client.patch(task_url(task["id"]), json={"title": "Renamed"})

        assert response.json()["title"] == "Renamed"

    def test_status_changes_keep_completed_at_consistent(self, client: ApiClient) -> None:
        task = create_task(client)

        done = client.patch(task_url(task["id"]), json={"status": "completed"}).json()
        reopened = client.patch(task_url(task["id"]), json={"status": "in_progress"}).json()

        assert (done["completed"], done["completed_at"] is not None) == (True, True)
        assert (reopened["completed"], reopened["completed_at"]) == (False, None)

    def test_empty_patch_changes_nothing_but_updated_at(self, client: ApiClient) -> None:
        task = create_task(client)

        body = client.patch(task_url(task["id"]), json={}).json()

        assert body == {**task, "updated_at": body["updated_at"], "etag": '"2"'}


class TestUpdateTask400:
    @pytest.mark.parametrize("patch", [{"title": None}, {"status": None}, {"user_id": "bob"}, {"title": ""}])
    def test_refuses_invalid_patches(self, client: ApiClient, patch: dict[str, object]) -> None:
        task = create_task(client)

        assert_problem(client.patch(task_url(task["id"]), json=patch), 400, "validation-error")
        assert client.get(task_url(task["id"])).json() == task


class TestUpdateTask404:
    def test_unknown_task(self, client: ApiClient) -> None:
        response = client.patch(task_url(str(uuid.uuid4())), json={"title": "x"})

        assert_problem(response, 404, "not-found")


class TestUpdateTask415:
    def test_refuses_form_data(self, client: ApiClient) -> None:
        task = create_task(client)

        response = client.patch(task_url(task["id"]), data={"title": "x"})

        assert_problem(response, 415, "unsupported-media-type")


class TestDeleteTask204:
    def test_deletes_the_task(self, client: ApiClient) -> None:
        task = create_task(client)

        response = client.delete(task_url(task["id"]))

        assert response.status_code == 204
        assert response.content == b""
        assert "content-type" not in response.headers
        assert_problem(client.get(task_url(task["id"])), 404, "not-found")


class TestDeleteTask404:
    def test_deleting_twice(self, client: ApiClient) -> None:
        task = create_task(client)
        client.delete(task_url(task["id"]))

        assert_problem(client.delete(task_url(task["id"])), 404, "not-found")

    def test_another_users_task_survives(self, client: ApiClient) -> None:
        theirs = create_task(client, "bob")

        assert_problem(client.delete(task_url(theirs["id"], "alice")), 404, "not-found")
        assert client.as_user("bob").get(tasks_url("bob")).json()["items"] == [theirs]
