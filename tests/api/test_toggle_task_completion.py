"""PATCH /api/{user_id}/tasks/{task_id}/complete"""

from __future__ import annotations

import uuid

from tests.api.helpers import ApiClient, assert_problem, create_task, task_url


class TestToggleTaskCompletion200:
    def test_completes_an_open_task(self, client: ApiClient) -> None:
        task = create_task(client, status="in_progress")

        response = client.patch(task_url(task["id"]) + "/complete")

        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["completed"]) == ("completed", True)
        assert body["completed_at"] == body["updated_at"]

    def test_reopens_a_completed_task(self, client: ApiClient) -> None:
        task = create_task(client)
        client.patch(task_url(task["id"]) + "/complete")

        body = client.patch(task_url(task["id"]) + "/complete").json()

        assert (body["status"], body["completed"], body["completed_at"]) == ("pending", False, None)


class TestToggleTaskCompletion404:
    def test_unknown_task(self, client: ApiClient) -> None:
        response = client.patch(task_url(str(uuid.uuid4())) + "/complete")

        assert_problem(response, 404, "not-found")

    def test_another_users_task_is_untouched(self, client: ApiClient) -> None:
        theirs = create_task(client, "bob")

        assert_problem(client.patch(task_url(theirs["id"], "alice") + "/complete"), 404, "not-found")
        assert client.as_user("bob").get(task_url(theirs["id"], "bob")).json() == theirs
