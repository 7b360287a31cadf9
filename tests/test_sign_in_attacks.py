"""Sign-in as an attacker tries it, over real HTTP against `tasks-api serve` (the CLI, so uvicorn
runs with the options production gets). Distinct clients bind distinct source addresses in
127.0.0.0/8."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from tests.conftest import TEST_JWT_SECRET
from tests.serving import tasks_api_serve

OWNER = {"email": "owner@example.com", "name": "Owner", "password": "correct horse battery"}


def serve(database_url: URL, log_path: Path, **settings: str) -> Iterator[str]:
    """`tasks-api serve` (one worker) with these settings, until the generator is closed."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "JWT_SECRET": TEST_JWT_SECRET,
        "TASKS_API_PASSWORD_HASH_TIME_COST": "1",
        "TASKS_API_PASSWORD_HASH_MEMORY_KIB": "1024",
        "TASKS_API_DATA_DIR": str(log_path.parent / "data"),  # its own hashing slots
        **settings,
    }
    yield from tasks_api_serve(env, log_path, workers=1)


@pytest.fixture(scope="module")
def server(database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(
        database_url,
        tmp_path_factory.mktemp("serve") / "serve.log",
        TASKS_API_SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR="8",
        TASKS_API_PASSWORD_HASH_CONCURRENCY="16",
    )


@pytest.fixture(scope="module")
def server_behind_a_proxy(database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(
        database_url, tmp_path_factory.mktemp("proxied") / "serve.log", TASKS_API_TRUSTED_PROXIES="127.0.0.1"
    )


def client_at(base: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=address), timeout=60)


def sign_in(http: httpx.Client, password: str, email: str = OWNER["email"], **headers: str) -> httpx.Response:
    return http.post("/api/tokens", json={"email": email, "password": password}, headers=headers)


def register_owner(base: str) -> None:
    with client_at(base, "127.0.0.200") as http:
        assert http.post("/api/users", json=OWNER).status_code == 201


def failures(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT count(*) FROM sign_in_failures")))


class TestClientAddresses:
    def test_a_rotating_x_forwarded_for_buys_no_extra_guesses(self, server: str, engine: sa.Engine) -> None:
        # From 127.0.0.1, the address uvicorn trusts forwarding headers from unless told otherwise.
        with client_at(server, "127.0.0.1") as http:
            for attempt in range(20):
                response = sign_in(
                    http,
                    "guess",
                    email=f"victim{attempt}@example.com",
                    **{"X-Forwarded-For": f"10.0.0.{attempt}"},
                )
                assert response.status_code == 401, response.text

            refused = sign_in(http, "guess", email="victim99@example.com", **{"X-Forwarded-For": "10.9.9.9"})

        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0

    @pytest.mark.parametrize("length", [65, 300, 7000])
    def test_no_forwarded_header_length_stops_a_failure_being_counted(
        self, server: str, server_behind_a_proxy: str, engine: sa.Engine, length: int
    ) -> None:
        register_owner(server)
        forged = "f" * length  # one entry, so it is what a proxy-trusting uvicorn takes as the client
        for base in (server, server_behind_a_proxy):
            with client_at(base, "127.0.0.1") as http:
                assert sign_in(http, "guess", **{"X-Forwarded-For": forged}).status_code == 401

        assert failures(engine) == 2

    def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
        self, server_behind_a_proxy: str
    ) -> None:
        register_owner(server_behind_a_proxy)
        with client_at(server_behind_a_proxy, "127.0.0.1") as proxy:
            for _ in range(5):
                assert sign_in(proxy, "guess", **{"X-Forwarded-For": "203.0.113.7"}).status_code == 401
            attacker = sign_in(proxy, OWNER["password"], **{"X-Forwarded-For": "203.0.113.7"})
            owner = sign_in(proxy, OWNER["password"], **{"X-Forwarded-For": "198.51.100.1"})

        assert attacker.status_code == 429
        assert owner.status_code == 200


class TestLockouts:
    def test_failures_from_other_addresses_never_lock_the_owner_out(self, server: str) -> None:
        register_owner(server)
        for host in range(2, 7):
            with client_at(server, f"127.0.0.{host}") as attacker:
                assert sign_in(attacker, "guess").status_code == 401

        with client_at(server, "127.0.0.7") as owner:
            assert sign_in(owner, OWNER["password"]).status_code == 200

    def test_the_guessing_address_waits_while_the_owner_gets_in(self, server: str) -> None:
        register_owner(server)
        with client_at(server, "127.0.0.2") as attacker:
            for _ in range(5):
                assert sign_in(attacker, "guess").status_code == 401
            assert sign_in(attacker, OWNER["password"]).status_code == 429

        with client_at(server, "127.0.0.3") as owner:
            assert sign_in(owner, OWNER["password"]).status_code == 200

    def test_guesses_spread_over_addresses_get_one_each_per_hour(self, server: str) -> None:
        register_owner(server)
        for host in range(10, 18):  # the account's ceiling: 8 failures an hour from all addresses
            with client_at(server, f"127.0.0.{host}") as attacker:
                assert sign_in(attacker, "guess").status_code == 401

        with client_at(server, "127.0.0.10") as attacker:
            assert sign_in(attacker, "guess again").status_code == 429
        with client_at(server, "127.0.0.30") as owner:
            assert sign_in(owner, OWNER["password"]).status_code == 200

    def test_concurrent_guesses_from_one_address_never_pass_its_limit(
        self, server: str, engine: sa.Engine
    ) -> None:
        def attempt(number: int) -> int:
            with client_at(server, "127.0.0.40") as http:
                return sign_in(http, "guess", email=f"victim{number}@example.com").status_code

        with ThreadPoolExecutor(40) as pool:
            statuses = list(pool.map(attempt, range(80)))

        assert set(statuses) <= {401, 429, 503}
        assert statuses.count(401) <= 20
        assert failures(engine) <= 20
