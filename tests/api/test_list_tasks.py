"""GET /api/{user_id}/tasks"""

from __future__ import annotations

from tests.api.helpers import ApiClient, assert_problem, create_task, tasks_url


class TestListTasks200:
    def test_is_empty_for_a_new_user(self, client: ApiClient) -> None:
        response = client.as_user("nobody-yet").get(tasks_url("nobody-yet"))

        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}

    def test_lists_oldest_first(self, client: ApiClient) -> None:
        first = create_task(client, title="first")
        second = create_task(client, title="second")

        assert client.get(tasks_url()).json()["items"] == [first, second]

    def test_lists_only_the_owners_tasks(self, client: ApiClient) -> None:
        mine = create_task(client, "alice")
        create_task(client, "bob")

        assert client.get(tasks_url("alice")).json()["items"] == [mine]


class TestListTasks400:
    def test_refuses_a_user_id_with_forbidden_characters(self, client: ApiClient) -> None:
        assert_problem(client.get("/api/%00/tasks"), 400, "validation-error")
