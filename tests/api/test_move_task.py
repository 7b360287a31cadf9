"""POST /api/{user_id}/tasks/{task_id}/move and sort=position: manual order within a list."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.api.helpers import ApiClient, assert_problem, create_list, create_task, task_url, tasks_url


def move_url(task_id: str, user_id: str = "alice") -> str:
    return f"{task_url(task_id, user_id)}/move"


def titles_in_order(client: ApiClient, **params: Any) -> list[str]:
    """Every task in manual order, walked a page of two at a time (cursors included)."""
    titles: list[str] = []
    params = {"sort": "position", "limit": 2, **params}
    for _ in range(50):
        body = client.get(tasks_url(), params=params).json()
        titles += [item["title"] for item in body["items"]]
        if body["next_cursor"] is None:
            return titles
        params["cursor"] = body["next_cursor"]
    raise AssertionError("the walk never ended")


class TestMoveTask200:
    def test_new_tasks_go_last(self, client: ApiClient) -> None:
        for title in "abc":
            create_task(client, title=title)

        assert titles_in_order(client) == ["a", "b", "c"]

    def test_after_another_task_and_first(self, client: ApiClient) -> None:
        a, b, c = (create_task(client, title=title) for title in "abc")

        moved = client.post(move_url(c["id"]), json={"after": a["id"]}, headers={"If-Match": c["etag"]})
        assert moved.status_code == 200
        assert moved.json()["etag"] == '"2"'
        assert titles_in_order(client) == ["a", "c", "b"]

        client.post(move_url(b["id"]), json={"after": None})
        assert titles_in_order(client) == ["b", "a", "c"]

    def test_into_another_list(self, client: ApiClient) -> None:
        groceries = create_list(client)
        milk = create_task(client, title="milk", list_id=groceries["id"])
        bread = create_task(client, title="bread")

        moved = client.post(move_url(bread["id"]), json={"after": milk["id"], "list_id": groceries["id"]})

        assert moved.json()["list_id"] == groceries["id"]
        assert titles_in_order(client, list_id=groceries["id"]) == ["milk", "bread"]

    def test_a_move_rewrites_one_row_until_the_gap_is_used_up(
        self, client: ApiClient, engine: sa.Engine
    ) -> None:
        first = create_task(client, title="first")
        create_task(client, title="second")
        moving = [create_task(client, title=f"m{n}") for n in range(20)]

        # Every move goes between `first` and the task moved before it: the gap halves each time.
        for task in moving:
            client.post(move_url(task["id"]), json={"after": first["id"]})

        expected = ["first", *[task["title"] for task in reversed(moving)], "second"]
        assert titles_in_order(client) == expected
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT title, version FROM tasks")).all()
        versions: dict[str, int] = dict(rows)
        assert versions["first"] == 1  # never rewritten: it was already where renumbering puts it
        assert versions["second"] == 2  # renumbered once the gap ran out (16 halvings of 65536)...
        assert max(versions.values()) == 3  # ...and only once: a moved task, then renumbered


class TestMoveTask400:
    def test_after_a_task_in_another_list(self, client: ApiClient) -> None:
        groceries = create_list(client)
        elsewhere = create_task(client, list_id=groceries["id"])
        task = create_task(client)

        problem = assert_problem(
            client.post(move_url(task["id"]), json={"after": elsewhere["id"]}), 400, "validation-error"
        )

        assert problem["errors"][0]["pointer"] == "/after"

    def test_after_itself(self, client: ApiClient) -> None:
        task = create_task(client)

        assert_problem(client.post(move_url(task["id"]), json={"after": task["id"]}), 400, "validation-error")


class TestMoveTask404:
    def test_another_users_task(self, client: ApiClient) -> None:
        theirs = create_task(client, "bob")

        assert_problem(client.post(move_url(theirs["id"]), json={"after": None}), 404, "not-found")


class TestMoveTask412:
    def test_a_stale_etag(self, client: ApiClient) -> None:
        create_task(client, title="a")
        b = create_task(client, title="b")

        response = client.post(move_url(b["id"]), json={"after": None}, headers={"If-Match": '"9"'})

        assert_problem(response, 412, "precondition-failed")
        assert titles_in_order(client) == ["a", "b"]
