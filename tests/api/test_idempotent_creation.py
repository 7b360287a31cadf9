"""POST /api/{user_id}/tasks with Idempotency-Key"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import httpx
import sqlalchemy as sa

from tasks_api.auth import TokenIssuer
from tests.api.helpers import ApiClient, assert_problem, tasks_url

KEY = {"Idempotency-Key": "8e03978e-40d5-43e8-bc93-6894a57f9324"}


def task_count(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT count(*) FROM tasks")) or 0)


class TestIdempotentCreation:
    def test_a_retry_replays_the_first_response(self, client: ApiClient, engine: sa.Engine) -> None:
        first = client.post(tasks_url(), json={"title": "Buy milk"}, headers=KEY)
        retry = client.post(
            tasks_url(),
            content=b'{ "title" : "Buy milk" }',
            headers={**KEY, "Content-Type": "application/json"},
        )

        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json() == first.json()
        assert retry.headers["location"] == first.headers["location"]
        assert retry.headers["etag"] == first.headers["etag"]
        assert retry.headers["idempotency-replayed"] == "true"
        assert "idempotency-replayed" not in first.headers
        assert task_count(engine) == 1

    def test_the_same_key_with_another_body_is_422(self, client: ApiClient, engine: sa.Engine) -> None:
        client.post(tasks_url(), json={"title": "Buy milk"}, headers=KEY)

        response = client.post(tasks_url(), json={"title": "Buy bread"}, headers=KEY)

        assert_problem(response, 422, "idempotency-key-reused")
        assert task_count(engine) == 1

    def test_keys_belong_to_one_user(self, client: ApiClient, engine: sa.Engine) -> None:
        alice = client.post(tasks_url("alice"), json={"title": "x"}, headers=KEY)
        bob = client.as_user("bob").post(tasks_url("bob"), json={"title": "x"}, headers=KEY)

        assert (alice.status_code, bob.status_code) == (201, 201)
        assert "idempotency-replayed" not in bob.headers
        assert task_count(engine) == 2

    def test_without_a_key_every_post_creates(self, client: ApiClient, engine: sa.Engine) -> None:
        client.post(tasks_url(), json={"title": "x"})
        client.post(tasks_url(), json={"title": "x"})

        assert task_count(engine) == 2

    def test_a_retry_while_the_first_is_in_flight_is_409(self, client: ApiClient, engine: sa.Engine) -> None:
        lock = {"lock": f"alice\x1f{KEY['Idempotency-Key']}"}
        with engine.connect() as in_flight:  # holds the key's lock, as a running request would
            in_flight.execute(sa.text("SELECT pg_advisory_lock(hashtextextended(:lock, 0))"), lock)
            try:
                response = client.post(tasks_url(), json={"title": "x"}, headers=KEY)
            finally:
                in_flight.execute(sa.text("SELECT pg_advisory_unlock(hashtextextended(:lock, 0))"), lock)
                in_flight.commit()
        assert_problem(response, 409, "conflict")
        assert int(response.headers["retry-after"]) >= 1
        assert task_count(engine) == 0

    def test_keys_expire_after_a_day(self, client: ApiClient, engine: sa.Engine) -> None:
        first = client.post(tasks_url(), json={"title": "x"}, headers=KEY).json()
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
            )

        again = client.post(tasks_url(), json={"title": "x"}, headers=KEY)

        assert again.status_code == 201
        assert "idempotency-replayed" not in again.headers
        assert again.json()["id"] != first["id"]

    def test_the_service_purges_expired_keys(self, client: ApiClient, engine: sa.Engine) -> None:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO idempotency_keys (user_id, key, fingerprint, status_code, body, headers,"
                    " created_at, expires_at) VALUES ('someone', 'old', 'x', 201, '{}', '{}',"
                    " now() - interval '25 hours', now() - interval '1 hour')"
                )
            )

        client.post(tasks_url(), json={"title": "x"}, headers=KEY)

        with engine.connect() as connection:
            keys = connection.execute(sa.text("SELECT user_id, key FROM idempotency_keys")).all()
        assert keys == [("alice", KEY["Idempotency-Key"])]


class TestConcurrentRetries:
    def test_create_exactly_one_task_across_workers(
        self, served_with_two_workers: str, token_issuer: TokenIssuer, engine: sa.Engine
    ) -> None:
        headers = {"Authorization": f"Bearer {token_issuer.issue('alice')['access_token']}", **KEY}
        start = Barrier(8)

        def post(_: int) -> httpx.Response:
            start.wait()
            return httpx.post(
                f"{served_with_two_workers}{tasks_url()}", json={"title": "once"}, headers=headers
            )

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(post, range(8)))

        statuses = sorted(response.status_code for response in responses)
        created = [r for r in responses if r.status_code == 201 and "idempotency-replayed" not in r.headers]
        assert set(statuses) <= {201, 409}, statuses
        assert len(created) == 1
        assert task_count(engine) == 1
        assert all(r.json()["id"] == created[0].json()["id"] for r in responses if r.status_code == 201)
