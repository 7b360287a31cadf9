"""GET /api/{user_id}/tasks"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.helpers import SORTS, ApiClient, assert_problem, create_task, tasks_url

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2}


def walk(client: ApiClient, **params: Any) -> list[dict[str, Any]]:
    """Every page, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        response = client.get(tasks_url(), params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the walk did not end")


def expected_order(tasks: list[dict[str, Any]], sort: str) -> list[str]:
    field, descending = sort.removeprefix("-"), sort.startswith("-")

    def key(task: dict[str, Any]) -> Any:
        if field == "priority":
            return PRIORITY_RANK[task["priority"]]
        return task[field]

    with_value = [task for task in tasks if key(task) is not None]
    without_value = [task for task in tasks if key(task) is None]
    ordered = sorted(with_value, key=lambda task: (key(task), task["id"]), reverse=descending)
    return [task["id"] for task in ordered] + [
        task["id"] for task in sorted(without_value, key=lambda task: task["id"], reverse=descending)
    ]


@pytest.fixture
def assorted_tasks(client: ApiClient) -> list[dict[str, Any]]:
    """Seventeen tasks with shared and missing sort values, so ties and nulls are exercised."""
    base = datetime(2026, 5, 1, tzinfo=UTC)
    tasks = []
    for index in range(17):
        due = None if index % 4 == 0 else (base + timedelta(days=index % 3)).isoformat()
        priority = ["low", "normal", "high"][index % 3]
        tasks.append(create_task(client, title=f"task {index}", due_at=due, priority=priority))
    for task in tasks[::5]:  # some later updates, so updated_at differs from created_at order
        client.patch(f"{tasks_url()}/{task['id']}", json={"description": "touched"})
    return [client.get(f"{tasks_url()}/{task['id']}").json() for task in tasks]


class TestListTasks200:
    def test_is_empty_for_a_new_user(self, client: ApiClient) -> None:
        response = client.as_user("nobody-yet").get(tasks_url("nobody-yet"))

        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}
        assert "link" not in response.headers

    def test_pages_hold_twenty_by_default_and_link_to_the_next(self, client: ApiClient) -> None:
        created = [create_task(client, title=f"t{index}") for index in range(23)]

        first = client.get(tasks_url())
        second = client.get(tasks_url(), params={"cursor": first.json()["next_cursor"]})

        assert [task["id"] for task in first.json()["items"]] == [task["id"] for task in created[:20]]
        cursor = first.json()["next_cursor"]
        assert first.headers["link"] == f'</api/alice/tasks?cursor={cursor}>; rel="next"'
        assert second.json() == {"items": created[20:], "next_cursor": None}
        assert "link" not in second.headers

    @pytest.mark.parametrize("sort", SORTS)
    def test_walking_every_page_returns_each_task_once_in_order(
        self, client: ApiClient, assorted_tasks: list[dict[str, Any]], sort: str
    ) -> None:
        walked = walk(client, sort=sort, limit=4)

        assert [task["id"] for task in walked] == expected_order(assorted_tasks, sort)

    def test_tasks_added_during_a_walk_cause_no_repeats_or_gaps(self, client: ApiClient) -> None:
        original = [create_task(client, title=f"t{index}")["id"] for index in range(9)]
        page = client.get(tasks_url(), params={"limit": 4}).json()
        seen = [task["id"] for task in page["items"]]
        added = [create_task(client, title=f"late {index}")["id"] for index in range(3)]
        while page["next_cursor"]:
            page = client.get(tasks_url(), params={"limit": 4, "cursor": page["next_cursor"]}).json()
            seen += [task["id"] for task in page["items"]]

        assert seen == original + added

    def test_the_page_size_may_change_between_pages(self, client: ApiClient) -> None:
        created = [create_task(client, title=f"t{index}")["id"] for index in range(6)]
        first = client.get(tasks_url(), params={"limit": 2}).json()

        rest = client.get(tasks_url(), params={"limit": 10, "cursor": first["next_cursor"]}).json()

        assert [task["id"] for task in first["items"] + rest["items"]] == created

    def test_lists_only_the_owners_tasks(self, client: ApiClient) -> None:
        mine = create_task(client, "alice")
        create_task(client, "bob")

        assert client.get(tasks_url("alice")).json()["items"] == [mine]

    def test_list_items_carry_their_etag(self, client: ApiClient) -> None:
        task = create_task(client)

        [item] = client.get(tasks_url()).json()["items"]

        assert item["etag"] == client.get(f"{tasks_url()}/{task['id']}").headers["etag"]


class TestListTasksFilters:
    @pytest.fixture
    def tasks(self, client: ApiClient) -> dict[str, dict[str, Any]]:
        tasks = {
            "milk": create_task(client, title="Buy MILK", priority="high", due_at="2026-05-01T10:00:00Z"),
            "tax": create_task(client, title="File taxes", description="Receipts in the blue folder"),
            "call": create_task(
                client, title="Call Ada", status="in_progress", due_at="2026-06-01T10:00:00Z"
            ),
            "done": create_task(client, title="Water plants", status="completed", priority="low"),
        }
        return {name: client.get(f"{tasks_url()}/{task['id']}").json() for name, task in tasks.items()}

    def listed(self, client: ApiClient, **params: Any) -> set[str]:
        response = client.get(tasks_url(), params=params)
        assert response.status_code == 200, response.text
        return {task["title"] for task in response.json()["items"]}

    @pytest.mark.parametrize(
        ("params", "titles"),
        [
            ({"status": "in_progress"}, {"Call Ada"}),
            ({"priority": "low"}, {"Water plants"}),
            ({"completed": "true"}, {"Water plants"}),
            ({"completed": "false"}, {"Buy MILK", "File taxes", "Call Ada"}),
            ({"due_before": "2026-05-15T00:00:00Z"}, {"Buy MILK"}),
            ({"due_after": "2026-05-15T00:00:00Z"}, {"Call Ada"}),
            ({"due_after": "2026-01-01T00:00:00+02:00", "priority": "normal"}, {"Call Ada"}),
            ({"q": "milk"}, {"Buy MILK"}),
            ({"q": "MIL"}, {"Buy MILK"}),
            ({"q": "blue folder"}, {"File taxes"}),
            ({"q": "blue ada"}, set()),
            ({"q": "!!!"}, set()),
        ],
    )
    def test_filters_combine(
        self, client: ApiClient, tasks: dict[str, Any], params: dict[str, str], titles: set[str]
    ) -> None:
        assert self.listed(client, **params) == titles

    def test_updated_since(self, client: ApiClient, tasks: dict[str, Any]) -> None:
        later = client.patch(f"{tasks_url()}/{tasks['tax']['id']}", json={"priority": "high"}).json()

        assert self.listed(client, updated_since=later["updated_at"]) == {"File taxes"}


class TestListTasks400:
    def test_refuses_a_user_id_with_forbidden_characters(self, client: ApiClient) -> None:
        assert_problem(client.get("/api/%00/tasks"), 400, "validation-error")

    @pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"sort": "title"}, {"status": "done"}])
    def test_refuses_out_of_contract_parameters(self, client: ApiClient, params: dict[str, Any]) -> None:
        assert_problem(client.get(tasks_url(), params=params), 400, "validation-error")

    @pytest.fixture
    def cursor(self, client: ApiClient) -> str:
        for index in range(3):
            create_task(client, title=f"t{index}", priority="high")
        cursor: str = client.get(tasks_url(), params={"limit": 1, "priority": "high"}).json()["next_cursor"]
        return cursor

    @pytest.mark.parametrize(
        "other_listing", [{"priority": "low"}, {"sort": "-created_at"}, {"q": "t0"}, {}], ids=str
    )
    def test_refuses_a_cursor_from_another_listing(
        self, client: ApiClient, cursor: str, other_listing: dict[str, str]
    ) -> None:
        response = client.get(tasks_url(), params={"limit": 1, "cursor": cursor, **other_listing})

        problem = assert_problem(response, 400, "validation-error")
        assert problem["errors"][0]["pointer"] == "cursor"

    def test_refuses_another_users_cursor(self, client: ApiClient, cursor: str) -> None:
        bob = client.as_user("bob")

        response = bob.get(tasks_url("bob"), params={"limit": 1, "priority": "high", "cursor": cursor})

        assert_problem(response, 400, "validation-error")

    @pytest.mark.parametrize("position", [0, 10, -3])
    def test_refuses_an_altered_cursor(self, client: ApiClient, cursor: str, position: int) -> None:
        altered = cursor[:position] + ("A" if cursor[position] != "A" else "B") + cursor[position + 1 :]

        response = client.get(tasks_url(), params={"limit": 1, "priority": "high", "cursor": altered})

        assert_problem(response, 400, "validation-error")
