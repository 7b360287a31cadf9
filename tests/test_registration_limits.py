"""Registration cannot be turned into unbounded password hashing: a busy hashing pool answers 503
at once (nothing queued, nothing recorded), its slots are shared by every process on the host, and
registrations are limited per address and in total."""

from __future__ import annotations

import fcntl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from tasks_api.app import create_app
from tasks_api.contract import HTTP_METHODS, Contract
from tasks_api.hashing_shedding import HASHING_OPERATIONS, hashing_routes
from tasks_api.password_hashing import HashingSlots
from tasks_api.paths import SPEC_PATH
from tests.api.helpers import assert_problem
from tests.conftest import settings_for


def account(number: int) -> dict[str, str]:
    return {"email": f"user{number}@example.com", "name": "User", "password": "correct horse battery"}


def registration_attempts(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT count(*) FROM registration_attempts")))


def test_a_busy_hashing_pool_answers_503_at_once(database_url: URL, engine: sa.Engine) -> None:
    # One slot, and a hash that takes seconds: the second registration arrives while it is taken.
    settings = settings_for(database_url, password_hash_concurrency=1, password_hash_time_cost=2000)
    with TestClient(create_app(settings)) as http, ThreadPoolExecutor(1) as pool:
        first = pool.submit(http.post, "/api/users", json=account(1))
        deadline = time.monotonic() + 60
        while registration_attempts(engine) == 0:  # the first holds the slot and is hashing
            assert time.monotonic() < deadline, "the first registration never started hashing"
            time.sleep(0.01)

        second = http.post("/api/users", json=account(2))

        assert first.result().status_code == 201
    assert_problem(second, 503, "service-unavailable")
    assert int(second.headers["retry-after"]) > 0
    assert registration_attempts(engine) == 1  # the refused one recorded nothing


@pytest.fixture
def serve_environment() -> dict[str, str]:
    return {"TASKS_API_PASSWORD_HASH_CONCURRENCY": "1"}


def test_the_hashing_slots_are_shared_by_every_process_on_the_host(
    served_with_two_workers: str, tmp_path: Path
) -> None:
    """Issue 8: each of 2 workers had its own slot, so 2 workers on 2 cores hashed on both cores.
    Here the one slot is held by this test's process, as a hash in another worker would hold it."""
    slot = tmp_path / "data" / "password-hashing" / "slot-0"  # the fixture's TASKS_API_DATA_DIR
    slot.parent.mkdir(parents=True, exist_ok=True)
    with slot.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # A fresh connection each: whichever worker accepts it, the slot is taken.
        refused = [httpx.post(f"{served_with_two_workers}/api/users", json=account(n)) for n in range(6)]
    admitted = httpx.post(f"{served_with_two_workers}/api/users", json=account(9))

    for response in refused:
        assert_problem(response, 503, "service-unavailable")
        assert int(response.headers["retry-after"]) > 0
    assert admitted.status_code == 201


def test_a_refused_registration_costs_no_password_estimate(database_url: URL, engine: sa.Engine) -> None:
    """The strength estimate runs inside the hashing slot: before, every registration refused for
    want of a slot had first spent up to 160 ms of CPU on it (a 72-character password)."""
    settings = settings_for(database_url, password_hash_concurrency=1)
    slots = HashingSlots(settings.password_hashing_dir, 1)
    with TestClient(create_app(settings)) as http:
        held = slots.take()  # as a hash in another worker would
        assert held is not None
        weak = {**account(1), "password": "password"}  # a 400 once a slot is free
        refused = http.post("/api/users", json=weak)
        slots.give_back(held)

        judged = http.post("/api/users", json=weak)

    assert_problem(refused, 503, "service-unavailable")
    assert judged.status_code == 400
    assert registration_attempts(engine) == 0


def test_past_capacity_a_hashing_operation_is_refused_before_its_body_is_validated(database_url: URL) -> None:
    """The flood's refusals cost the server no routing, validation or thread hop (issue 8: another
    user's reads waited behind them); the refusal still carries every header the service sets."""
    settings = settings_for(database_url, password_hash_concurrency=1)
    slots = HashingSlots(settings.password_hashing_dir, 1)
    with TestClient(create_app(settings)) as http:
        held = slots.take()
        assert held is not None
        refused = [
            http.post("/api/users", json={"not": "a registration"}),
            http.post("/api/tokens", json={}),
            http.put("/api/users/me/password", json={}),  # not even authenticated
        ]
        slots.give_back(held)

        judged = http.post("/api/users", json={"not": "a registration"})

    for response in refused:
        assert_problem(response, 503, "service-unavailable")
        assert response.headers["retry-after"] == "1"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-request-id"]
    assert_problem(judged, 400, "validation-error")


def test_every_hashing_operation_is_in_the_contract() -> None:
    contract = Contract.load(SPEC_PATH)
    operation_ids = {
        operation["operationId"]
        for item in contract.document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }

    assert operation_ids >= HASHING_OPERATIONS
    assert len(hashing_routes(contract)) == len(HASHING_OPERATIONS)


def test_a_slot_excludes_every_other_holder_until_given_back(tmp_path: Path) -> None:
    # Two workers' views of the same folder (separate descriptors, as two processes would have).
    first, second = HashingSlots(tmp_path, 1), HashingSlots(tmp_path, 1)
    held = first.take()
    assert held is not None
    assert second.take() is None
    assert first.take() is None  # two threads of one process exclude each other too

    first.give_back(held)

    again = second.take()
    assert again is not None
    second.give_back(again)


def test_registrations_are_limited_per_address(database_url: URL) -> None:
    settings = settings_for(database_url, registrations_per_address_per_hour=3)
    with TestClient(create_app(settings)) as http:
        for number in range(3):
            assert http.post("/api/users", json=account(number)).status_code == 201

        refused = http.post("/api/users", json=account(9))

    assert_problem(refused, 429, "too-many-requests")
    assert 0 < int(refused.headers["retry-after"]) <= 3600


def test_registrations_are_limited_in_total(database_url: URL) -> None:
    settings = settings_for(database_url, registrations_per_minute=2)
    with TestClient(create_app(settings)) as http:
        for number in range(2):
            assert http.post("/api/users", json=account(number)).status_code == 201

        refused = http.post("/api/users", json=account(9))

    assert_problem(refused, 429, "too-many-requests")
    assert 0 < int(refused.headers["retry-after"]) <= 60
