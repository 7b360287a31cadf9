"""GET /api/{user_id}/changes: every change after a sync token, exactly once, in order, no gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from models.change_feed import FeedPosition
from tasks_api.cursors import CursorCodec, listing_digest
from tests.api.helpers import (
    ApiClient,
    assert_problem,
    changes_url,
    create_list,
    create_task,
    list_url,
    task_url,
)
from tests.conftest import TEST_JWT_SECRET

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def start(client: ApiClient) -> str:
    response = client.get(changes_url(client.user_id or ""))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["changes"], body["has_more"]) == ([], False)
    token: str = body["sync_token"]
    return token


def follow(client: ApiClient, token: str, limit: int = 100) -> tuple[list[dict[str, Any]], str]:
    """Every change after ``token``, page by page, and the token after the last one."""
    changes: list[dict[str, Any]] = []
    for _ in range(100):  # bounded: a test never loops for ever
        response = client.get(changes_url(), params={"since": token, "limit": limit})
        assert response.status_code == 200, response.text
        body = response.json()
        changes += body["changes"]
        token = body["sync_token"]
        if not body["has_more"]:
            return changes, token
    raise AssertionError("the feed never ran out")


def summary(changes: list[dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    return [(c["entity"], c["operation"], c["id"], c["version"]) for c in changes]


class TestListChanges200:
    def test_without_a_token_nothing_and_a_token_for_now(self, client: ApiClient) -> None:
        create_task(client)

        token = start(client)

        assert follow(client, token)[0] == []

    def test_creations_updates_and_tombstones_in_order(self, client: ApiClient) -> None:
        token = start(client)
        groceries = create_list(client)
        task = create_task(client, list_id=groceries["id"])
        updated = client.patch(task_url(task["id"]), json={"title": "Oat milk"}, headers=MERGE_PATCH).json()
        client.delete(task_url(task["id"]))

        changes, _ = follow(client, token)

        assert summary(changes) == [
            ("list", "created", groceries["id"], 1),
            ("task", "created", task["id"], 1),
            ("task", "updated", task["id"], 2),
            ("task", "deleted", task["id"], 2),
        ]
        assert changes[0]["list"] == groceries
        assert changes[1]["task"] == task
        assert changes[2]["task"] == updated
        assert "task" not in changes[3]

    def test_deleting_a_list_leaves_a_tombstone_for_each_of_its_tasks(self, client: ApiClient) -> None:
        groceries = create_list(client)
        task = create_task(client, list_id=groceries["id"])
        token = start(client)

        client.delete(list_url(groceries["id"]))
        changes, _ = follow(client, token)

        assert sorted(summary(changes)) == [
            ("list", "deleted", groceries["id"], 1),
            ("task", "deleted", task["id"], 1),
        ]

    def test_pages_deliver_every_change_once(self, client: ApiClient) -> None:
        token = start(client)
        created = [create_task(client, title=f"task {n}")["id"] for n in range(7)]

        changes, token = follow(client, token, limit=3)

        assert [change["id"] for change in changes] == created
        assert follow(client, token)[0] == []

    def test_only_the_owners_changes(self, client: ApiClient) -> None:
        token = start(client)
        create_task(client, "bob")

        assert follow(client, token)[0] == []

    def test_a_change_committed_late_by_an_older_transaction_is_not_skipped(
        self, client: ApiClient, engine: sa.Engine
    ) -> None:
        """A transaction that wrote before another one committed, and commits after a client
        read the feed, is delivered on the next read: exactly once, nothing skipped."""
        early = create_task(client, title="early")
        token = start(client)
        with engine.connect() as slow:
            slow_transaction = slow.begin()
            slow.execute(
                sa.text("UPDATE tasks SET title = 'slow', version = version + 1 WHERE id = :id"),
                {"id": early["id"]},
            )
            fast = create_task(client, title="fast")  # commits while the slow one is open

            first, token = follow(client, token)
            assert summary(first) == [("task", "created", fast["id"], 1)]

            slow_transaction.commit()

        second, token = follow(client, token)
        assert summary(second) == [("task", "updated", early["id"], 2)]
        assert second[0]["task"]["title"] == "slow"
        assert follow(client, token)[0] == []


class TestListChanges400:
    def test_a_token_of_another_user(self, client: ApiClient) -> None:
        bobs = start(client.as_user("bob"))

        problem = assert_problem(client.get(changes_url(), params={"since": bobs}), 400, "validation-error")

        assert problem["errors"][0]["pointer"] == "since"

    def test_an_altered_token(self, client: ApiClient) -> None:
        token = start(client)

        response = client.get(changes_url(), params={"since": token[:-2] + "xx"})

        assert_problem(response, 400, "validation-error")


class TestListChanges403:
    def test_another_users_feed(self, client: ApiClient) -> None:
        assert_problem(client.get(changes_url("bob")), 403, "forbidden")


class TestListChanges410:
    def test_a_token_older_than_the_history_kept(self, client: ApiClient) -> None:
        long_ago = datetime.now(UTC) - timedelta(days=31)
        position = FeedPosition(base="1:1:", base_taken_at=long_ago)
        token = CursorCodec(TEST_JWT_SECRET).encode(
            listing_digest(user="alice", resource="changes"), position.to_json()
        )

        problem = assert_problem(
            client.get(changes_url(), params={"since": token}), 410, "sync-token-expired"
        )

        assert "sync from scratch" in problem["detail"]
