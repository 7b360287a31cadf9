"""Per-user bounds: task and Idempotency-Key quotas, and a time limit on lists and searches."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from models.errors import TooManyConcurrentListings
from models.fair_share import ListingSlots
from tasks_api.app import create_app
from tasks_api.auth import TokenIssuer
from tasks_api.services import services_of
from tests.api.helpers import ApiClient, assert_problem, create_task, task_url, tasks_url
from tests.conftest import settings_for

TASKS_PER_USER = 5
KEYS_PER_DAY = 2
LISTING_TIMEOUT_MS = 200


@pytest.fixture(scope="module")
def bounded(database_url: URL, token_issuer: TokenIssuer) -> Iterator[ApiClient]:
    settings = settings_for(
        database_url,
        tasks_per_user=TASKS_PER_USER,
        idempotency_keys_per_day=KEYS_PER_DAY,
        listing_statement_timeout_ms=LISTING_TIMEOUT_MS,
    )
    with create_app(settings).test_client() as client:
        yield ApiClient(client, token_issuer, "alice")


@pytest.fixture
def fair(bounded: ApiClient, database_url: URL) -> ApiClient:
    """The bounded app, on emptied tables (``database_url`` makes the autouse fixture empty them),
    as alice with a token issued now (her account is made again after the tables were emptied)."""
    return bounded.as_user("alice")


class TestTaskQuota:
    def test_the_task_past_the_quota_is_403_with_its_own_type(self, fair: ApiClient) -> None:
        for number in range(TASKS_PER_USER):
            create_task(fair, title=f"task {number}")

        response = fair.post(tasks_url(), json={"title": "one too many"})

        problem = assert_problem(response, 403, "task-quota-exceeded")
        assert str(TASKS_PER_USER) in problem["detail"]
        assert len(fair.get(tasks_url(), params={"limit": 100}).json()["items"]) == TASKS_PER_USER

    def test_deleting_a_task_makes_room(self, fair: ApiClient) -> None:
        tasks = [create_task(fair, title=f"task {number}") for number in range(TASKS_PER_USER)]
        assert fair.delete(task_url(tasks[0]["id"])).status_code == 204

        assert fair.post(tasks_url(), json={"title": "fits again"}).status_code == 201

    def test_the_quota_is_per_user(self, fair: ApiClient) -> None:
        for number in range(TASKS_PER_USER):
            create_task(fair, title=f"task {number}")

        assert fair.as_user("bob").post(tasks_url("bob"), json={"title": "mine"}).status_code == 201


class TestIdempotencyKeyQuota:
    def test_a_new_key_past_the_quota_is_429_with_retry_after(self, fair: ApiClient) -> None:
        for number in range(KEYS_PER_DAY):
            key = {"Idempotency-Key": f"key-{number}"}
            assert fair.post(tasks_url(), json={"title": "x"}, headers=key).status_code == 201

        response = fair.post(tasks_url(), json={"title": "x"}, headers={"Idempotency-Key": "one-too-many"})

        assert_problem(response, 429, "idempotency-key-quota-exceeded")
        assert 0 < int(response.headers["retry-after"]) <= 24 * 3600
        assert len(fair.get(tasks_url()).json()["items"]) == KEYS_PER_DAY

    def test_retries_of_held_keys_and_requests_without_a_key_still_work(self, fair: ApiClient) -> None:
        for number in range(KEYS_PER_DAY):
            fair.post(tasks_url(), json={"title": "x"}, headers={"Idempotency-Key": f"key-{number}"})

        replay = fair.post(tasks_url(), json={"title": "x"}, headers={"Idempotency-Key": "key-0"})
        assert replay.status_code == 201
        assert replay.headers["idempotency-replayed"] == "true"
        assert fair.post(tasks_url(), json={"title": "no key"}).status_code == 201

    def test_expired_keys_do_not_count(self, fair: ApiClient, engine: sa.Engine) -> None:
        for number in range(KEYS_PER_DAY):
            fair.post(tasks_url(), json={"title": "x"}, headers={"Idempotency-Key": f"key-{number}"})
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
            )

        response = fair.post(tasks_url(), json={"title": "x"}, headers={"Idempotency-Key": "a-new-day"})

        assert response.status_code == 201


class TestListingTimeLimit:
    def test_a_listing_past_its_time_limit_is_503_with_retry_after(
        self, fair: ApiClient, engine: sa.Engine
    ) -> None:
        create_task(fair)
        # A lock that makes the listing wait: deterministic, unlike a slow query on a loaded machine.
        with engine.connect() as blocker:
            blocker.execute(sa.text("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"))
            try:
                response = fair.get(tasks_url(), params={"q": "milk"})
            finally:
                blocker.rollback()

        problem = assert_problem(response, 503, "listing-timeout")
        assert f"{LISTING_TIMEOUT_MS} ms" in problem["detail"]
        assert int(response.headers["retry-after"]) > 0


class TestConcurrentListingsPerUser:
    def test_a_user_past_the_bound_is_refused_others_are_not(self) -> None:
        slots = ListingSlots(per_user=2)

        with slots.hold("alice"), slots.hold("alice"):
            with pytest.raises(TooManyConcurrentListings), slots.hold("alice"):
                pass
            with slots.hold("bob"):
                pass
        with slots.hold("alice"), slots.hold("alice"):
            pass  # both slots came back

    def test_the_refusal_is_429_with_retry_after(self, fair: ApiClient) -> None:
        slots = services_of(SimpleNamespace(**fair._http.app_state)).listing_slots  # the app's own
        with slots.hold("alice"), slots.hold("alice"), slots.hold("alice"), slots.hold("alice"):
            response = fair.get(tasks_url())

        assert_problem(response, 429, "too-many-concurrent-listings")
        assert int(response.headers["retry-after"]) >= 1
        assert fair.get(tasks_url()).status_code == 200
