"""A task is in exactly one of its owner's lists: list_id on create, replace, patch and listTasks."""

from __future__ import annotations

from tests.api.helpers import (
    ApiClient,
    assert_problem,
    create_list,
    create_task,
    lists_url,
    task_url,
    tasks_url,
)

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


class TestTaskListMembership:
    def test_a_task_created_without_a_list_is_in_the_default_list(self, client: ApiClient) -> None:
        task = create_task(client)

        [default] = client.get(lists_url()).json()["items"]

        assert task["list_id"] == default["id"]

    def test_a_task_created_in_a_list(self, client: ApiClient) -> None:
        groceries = create_list(client)

        assert create_task(client, list_id=groceries["id"])["list_id"] == groceries["id"]

    def test_merge_patch_moves_a_task(self, client: ApiClient) -> None:
        groceries = create_list(client)
        task = create_task(client)

        response = client.patch(task_url(task["id"]), json={"list_id": groceries["id"]}, headers=MERGE_PATCH)

        assert response.status_code == 200
        assert response.json()["list_id"] == groceries["id"]
        assert response.json()["etag"] == '"2"'

    def test_a_replacement_without_list_id_keeps_the_list(self, client: ApiClient) -> None:
        groceries = create_list(client)
        task = create_task(client, list_id=groceries["id"])

        response = client.put(task_url(task["id"]), json={"title": "Replaced"})

        assert response.json()["list_id"] == groceries["id"]

    def test_list_tasks_filters_by_list(self, client: ApiClient) -> None:
        groceries = create_list(client)
        inside = create_task(client, list_id=groceries["id"])
        create_task(client)

        response = client.get(f"{tasks_url()}?list_id={groceries['id']}")

        assert [item["id"] for item in response.json()["items"]] == [inside["id"]]


class TestTaskInAnotherUsersList400:
    def test_create(self, client: ApiClient) -> None:
        theirs = create_list(client, "bob")

        response = client.post(tasks_url(), json={"title": "Sneaky", "list_id": theirs["id"]})

        problem = assert_problem(response, 400, "validation-error")
        assert problem["errors"] == [{"pointer": "/list_id", "detail": f"there is no list {theirs['id']}"}]
        assert client.get(tasks_url()).json()["items"] == []

    def test_move(self, client: ApiClient) -> None:
        theirs = create_list(client, "bob")
        task = create_task(client)

        response = client.patch(task_url(task["id"]), json={"list_id": theirs["id"]}, headers=MERGE_PATCH)

        assert_problem(response, 400, "validation-error")
        assert client.get(task_url(task["id"])).json() == task


class TestMergePatchEdges:
    def test_due_at_null_clears_the_date(self, client: ApiClient) -> None:
        task = create_task(client, due_at="2026-05-01T10:00:00Z")

        response = client.patch(task_url(task["id"]), json={"due_at": None}, headers=MERGE_PATCH)

        assert response.status_code == 200
        assert response.json()["due_at"] is None
        assert client.get(task_url(task["id"])).json()["due_at"] is None


class TestDueBoundaries:
    """The contract: due_before is "due before this instant", due_after "due after" it; a task due
    exactly at the instant matches neither."""

    def test_a_task_due_exactly_at_the_boundary_matches_neither(self, client: ApiClient) -> None:
        create_task(client, due_at="2026-05-01T10:00:00Z")

        before = client.get(tasks_url(), params={"due_before": "2026-05-01T10:00:00Z"}).json()["items"]
        after = client.get(tasks_url(), params={"due_after": "2026-05-01T10:00:00Z"}).json()["items"]

        assert (before, after) == ([], [])

    def test_one_microsecond_either_side_matches(self, client: ApiClient) -> None:
        task = create_task(client, due_at="2026-05-01T10:00:00Z")

        before = client.get(tasks_url(), params={"due_before": "2026-05-01T10:00:00.000001Z"}).json()
        after = client.get(tasks_url(), params={"due_after": "2026-05-01T09:59:59.999999Z"}).json()

        assert [item["id"] for item in before["items"]] == [task["id"]]
        assert [item["id"] for item in after["items"]] == [task["id"]]
