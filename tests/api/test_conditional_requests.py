"""ETags on tasks: If-None-Match on GET, If-Match on every change."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tasks_api.auth import TokenIssuer
from tests.api.helpers import ApiClient, assert_problem, create_task, task_url

CHANGES = [
    ("PUT", "", {"title": "replaced"}),
    ("PATCH", "", {"title": "patched"}),
    ("PATCH", "/complete", None),
    ("DELETE", "", None),
]


def change_id(change: tuple[str, str, Any]) -> str:
    return f"{change[0]} {{task}}{change[1]}"


class TestETags:
    def test_every_single_task_response_carries_the_etag_of_its_body(self, client: ApiClient) -> None:
        created = client.post("/api/alice/tasks", json={"title": "x"})
        url = task_url(created.json()["id"])
        responses = [
            created,
            client.get(url),
            client.put(url, json={"title": "y"}),
            client.patch(url, json={"title": "z"}),
            client.patch(url + "/complete"),
        ]

        assert [response.headers["etag"] for response in responses] == ['"1"', '"1"', '"2"', '"3"', '"4"']
        assert all(response.json()["etag"] == response.headers["etag"] for response in responses)


class TestIfNoneMatch:
    @pytest.mark.parametrize("header", ['"1"', '"7", "1"', "*", 'W/"1"'])
    def test_an_unchanged_task_is_304_without_a_body(self, client: ApiClient, header: str) -> None:
        task = create_task(client)

        response = client.get(task_url(task["id"]), headers={"If-None-Match": header})

        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == '"1"'

    def test_a_changed_task_is_sent_again(self, client: ApiClient) -> None:
        task = create_task(client)
        client.patch(task_url(task["id"]), json={"title": "changed"})

        response = client.get(task_url(task["id"]), headers={"If-None-Match": task["etag"]})

        assert response.status_code == 200
        assert response.json()["title"] == "changed"


class TestIfMatch:
    @pytest.mark.parametrize("change", CHANGES, ids=change_id)
    def test_the_current_etag_lets_a_change_through(
        self, client: ApiClient, change: tuple[str, str, Any]
    ) -> None:
        method, suffix, body = change
        task = create_task(client)

        response = client.request(
            method, task_url(task["id"]) + suffix, json=body, headers={"If-Match": '"1"'}
        )

        assert response.status_code in {200, 204}

    @pytest.mark.parametrize("change", CHANGES, ids=change_id)
    def test_any_of_several_etags_may_match(self, client: ApiClient, change: tuple[str, str, Any]) -> None:
        method, suffix, body = change
        task = create_task(client)

        response = client.request(
            method, task_url(task["id"]) + suffix, json=body, headers={"If-Match": 'W/"1", "7", "1"'}
        )

        assert response.status_code in {200, 204}

    @pytest.mark.parametrize("change", CHANGES, ids=change_id)
    # A tag past the integer column's range names no version (and is no error).
    @pytest.mark.parametrize("stale", ['"2"', 'W/"1"', '"01"', '"4294967297"'])
    def test_a_stale_etag_is_412_and_changes_nothing(
        self, client: ApiClient, change: tuple[str, str, Any], stale: str
    ) -> None:
        method, suffix, body = change
        task = create_task(client)

        response = client.request(
            method, task_url(task["id"]) + suffix, json=body, headers={"If-Match": stale}
        )

        assert_problem(response, 412, "precondition-failed")
        assert client.get(task_url(task["id"])).json() == task

    def test_star_matches_any_version(self, client: ApiClient) -> None:
        task = create_task(client)
        client.patch(task_url(task["id"]), json={"title": "v2"})

        response = client.patch(task_url(task["id"]), json={"title": "v3"}, headers={"If-Match": "*"})

        assert response.status_code == 200

    def test_a_missing_task_is_404_not_412(self, client: ApiClient) -> None:
        response = client.patch(
            task_url("6f1c1c5e-8d2a-4b7e-9a51-0c3d6f2b9e10"), json={"title": "x"}, headers={"If-Match": '"1"'}
        )

        assert_problem(response, 404, "not-found")


class TestConcurrentWriters:
    def test_of_two_writers_with_the_same_etag_exactly_one_wins(
        self, live_server: str, token_issuer: TokenIssuer, client: ApiClient
    ) -> None:
        headers = {"Authorization": f"Bearer {token_issuer.issue('alice')['access_token']}"}
        for round_number in range(10):
            task = create_task(client, title=f"round {round_number}")
            barrier = Barrier(2)

            def write(title: str, task_id: str = task["id"], start: Barrier = barrier) -> int:
                start.wait()
                response = httpx.patch(
                    f"{live_server}{task_url(task_id)}",
                    json={"title": title},
                    headers={**headers, "If-Match": '"1"'},
                )
                return response.status_code

            with ThreadPoolExecutor(2) as pool:
                statuses = sorted(pool.map(write, ["first writer", "second writer"]))

            assert statuses == [200, 412]
            final = client.get(task_url(task["id"])).json()
            assert final["etag"] == '"2"'
            assert final["title"] in {"first writer", "second writer"}


def wait_until_a_request_waits_for_a_lock(engine: sa.Engine) -> None:
    """Polls PostgreSQL until some other session is blocked on a lock (no timing assumed)."""
    deadline = time.monotonic() + 60
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.scalar(query):
                return
        time.sleep(0.02)
    raise AssertionError("no request ever waited for the task's lock")


class TestDeleteRaces:
    def test_a_conditional_delete_that_waited_for_the_winning_delete_is_412(
        self, live_server: str, token_issuer: TokenIssuer, client: ApiClient, engine: sa.Engine
    ) -> None:
        task = create_task(client)
        headers = {
            "Authorization": f"Bearer {token_issuer.issue('alice')['access_token']}",
            "If-Match": task["etag"],
        }
        with ThreadPoolExecutor(1) as pool, engine.connect() as winner:
            winner.execute(sa.text("SELECT 1 FROM tasks WHERE id = :id FOR UPDATE"), {"id": task["id"]})
            loser = pool.submit(httpx.delete, f"{live_server}{task_url(task['id'])}", headers=headers)
            wait_until_a_request_waits_for_a_lock(engine)
            winner.execute(sa.text("DELETE FROM tasks WHERE id = :id"), {"id": task["id"]})
            winner.commit()
            response = loser.result(timeout=60)

        assert_problem(response, 412, "precondition-failed")

    def test_of_twenty_deletes_with_the_same_etag_exactly_one_wins(
        self, live_server: str, token_issuer: TokenIssuer, client: ApiClient
    ) -> None:
        task = create_task(client)
        headers = {
            "Authorization": f"Bearer {token_issuer.issue('alice')['access_token']}",
            "If-Match": task["etag"],
        }
        barrier = Barrier(20)

        def delete(_: int) -> int:
            barrier.wait()
            return httpx.delete(f"{live_server}{task_url(task['id'])}", headers=headers).status_code

        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(delete, range(20)))

        assert statuses.count(204) == 1
        # A delete that arrives once the winner has committed finds no task: 404, as RFC 9110
        # asks (preconditions are ignored when the answer would be 404 anyway).
        assert set(statuses) <= {204, 412, 404}

    def test_an_unconditional_delete_of_a_missing_task_is_still_404(self, client: ApiClient) -> None:
        response = client.delete(
            task_url("6f1c1c5e-8d2a-4b7e-9a51-0c3d6f2b9e10"), headers={"If-Match": '"1"'}
        )

        assert_problem(response, 404, "not-found")
