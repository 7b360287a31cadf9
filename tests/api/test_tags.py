"""Tags on tasks (create, replace, patch, filter) and GET /api/{user_id}/tags"""

from __future__ import annotations

from typing import Any

from tests.api.helpers import ApiClient, assert_problem, create_task, task_url, tasks_url

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def tags_url(user_id: str = "alice") -> str:
    return f"/api/{user_id}/tags"


def ids(response_body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in response_body["items"]]


class TestTagsOnTasks:
    def test_trimmed_once_without_case_in_the_users_spelling(self, client: ApiClient) -> None:
        task = create_task(client, tags=["  Home ", "home", "Errands", "HOME"])

        assert task["tags"] == ["Home", "Errands"]

    def test_a_task_without_tags_has_an_empty_list(self, client: ApiClient) -> None:
        assert create_task(client)["tags"] == []

    def test_merge_patch_replaces_the_tags(self, client: ApiClient) -> None:
        task = create_task(client, tags=["home"])

        response = client.patch(task_url(task["id"]), json={"tags": ["work"]}, headers=MERGE_PATCH)

        assert response.json()["tags"] == ["work"]

    def test_a_replacement_without_tags_keeps_them(self, client: ApiClient) -> None:
        task = create_task(client, tags=["home"])

        assert client.put(task_url(task["id"]), json={"title": "Replaced"}).json()["tags"] == ["home"]


class TestTags400:
    def test_more_than_twenty(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), json={"title": "x", "tags": [f"t{n}" for n in range(21)]})

        assert_problem(response, 400, "validation-error")

    def test_longer_than_forty_characters(self, client: ApiClient) -> None:
        assert_problem(
            client.post(tasks_url(), json={"title": "x", "tags": ["x" * 41]}), 400, "validation-error"
        )

    def test_blank(self, client: ApiClient) -> None:
        assert_problem(client.post(tasks_url(), json={"title": "x", "tags": ["  "]}), 400, "validation-error")


class TestListTasksByTag:
    def test_every_tag_given_must_match_without_case(self, client: ApiClient) -> None:
        both = create_task(client, tags=["Home", "errands"])
        create_task(client, tags=["home"])
        create_task(client)

        response = client.get(tasks_url(), params=[("tag", "HOME"), ("tag", "Errands")])

        assert response.status_code == 200
        assert ids(response.json()) == [both["id"]]

    def test_one_tag(self, client: ApiClient) -> None:
        first = create_task(client, tags=["home"])
        second = create_task(client, tags=["errands", "Home"])

        assert ids(client.get(tasks_url(), params={"tag": "home"}).json()) == [first["id"], second["id"]]


class TestListTags200:
    def test_counts_per_tag_in_the_commonest_spelling(self, client: ApiClient) -> None:
        create_task(client, tags=["Home", "errands"])
        create_task(client, tags=["Home"])
        create_task(client, tags=["home"])
        create_task(client, "bob", tags=["secret"])

        response = client.get(tags_url())

        assert response.status_code == 200
        assert response.json() == {
            "items": [{"name": "errands", "count": 1}, {"name": "Home", "count": 3}],
            "next_cursor": None,
        }

    def test_pages(self, client: ApiClient) -> None:
        create_task(client, tags=["a", "b", "c"])

        first = client.get(tags_url(), params={"limit": 2}).json()
        second = client.get(tags_url(), params={"limit": 2, "cursor": first["next_cursor"]}).json()

        assert [item["name"] for item in first["items"] + second["items"]] == ["a", "b", "c"]
        assert second["next_cursor"] is None


class TestListTags403:
    def test_another_users_tags(self, client: ApiClient) -> None:
        assert_problem(client.get(tags_url("bob")), 403, "forbidden")
