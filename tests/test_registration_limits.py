"""Registration cannot be turned into unbounded password hashing: a busy hashing pool answers 503
at once (nothing queued, nothing recorded), and registrations are limited per address and in total."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from tasks_api.app import create_app
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
