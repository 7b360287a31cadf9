"""A user is (issuer, subject); provider claims are checked before they are stored; tokens end
(revocation, key removal); an unreachable provider is a 503, not a sign-out; the per-user rate."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from tasks_api.app import create_app
from tasks_api.auth import TokenIssuer
from tasks_api.settings import Settings
from tests.api.helpers import assert_problem
from tests.conftest import settings_for
from tests.identity_provider import IdentityProvider

ADA = {"email": "ada@example.com", "name": "Ada Lovelace", "password": "correct horse battery"}


@pytest.fixture(scope="module")
def provider_settings(database_url: URL, identity_provider: IdentityProvider) -> Settings:
    return settings_for(
        database_url,
        BETTER_AUTH_URL=identity_provider.url,
        JWKS_ALGORITHMS="EdDSA,RS256,ES256",
        JWKS_REFETCH_COOLDOWN_SECONDS=0,
        JWKS_CACHE_SECONDS=1,
    )


@pytest.fixture(scope="module")
def http(provider_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(provider_settings)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def built_in_account(http: TestClient) -> tuple[str, str]:
    user_id = http.post("/api/users", json=ADA).json()["id"]
    token = http.post("/api/tokens", json={"email": ADA["email"], "password": ADA["password"]})
    return user_id, token.json()["access_token"]


class TestOneIdentityPerIssuer:
    def test_a_provider_subject_equal_to_a_built_in_id_reaches_nothing_of_it(
        self, http: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        victim, victims_token = built_in_account(http)
        task = http.post(
            f"/api/{victim}/tasks", json={"title": "private"}, headers=bearer(victims_token)
        ).json()
        impostor = bearer(identity_provider.token(sub=victim, email="mallory@example.com"))

        listed = http.get(f"/api/{victim}/tasks", headers=impostor)
        deleted = http.delete(f"/api/{victim}/tasks/{task['id']}", headers=impostor)
        who = http.get("/api/users/me", headers=impostor)

        assert listed.status_code == 200
        assert listed.json()["items"] == []
        assert_problem(deleted, 404, "not-found")
        assert who.json()["email"] != ADA["email"]
        still_there = http.get(f"/api/{victim}/tasks", headers=bearer(victims_token)).json()["items"]
        assert [item["id"] for item in still_there] == [task["id"]]

    def test_the_provider_users_tasks_show_its_subject(
        self, http: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        victim, _ = built_in_account(http)
        headers = bearer(identity_provider.token(sub=victim))

        created = http.post(f"/api/{victim}/tasks", json={"title": "mine"}, headers=headers)

        assert created.status_code == 201
        assert created.json()["user_id"] == victim
        assert created.headers["location"].startswith(f"/api/{victim}/tasks/")


class TestProviderClaims:
    def test_an_email_another_account_has_is_not_stored_and_that_is_logged_once(
        self, http: TestClient, identity_provider: IdentityProvider, caplog: pytest.LogCaptureFixture
    ) -> None:
        built_in_account(http)
        token = identity_provider.token(sub="provider-ada", email=ADA["email"])

        with caplog.at_level(logging.INFO, logger="models.user_admission"):
            profiles = [http.get("/api/users/me", headers=bearer(token)).json() for _ in range(3)]

        assert [profile["email"] for profile in profiles] == [None, None, None]
        logged = [record.getMessage() for record in caplog.records if record.name == "models.user_admission"]
        assert logged == [
            f"Provider user 'provider-ada' of {identity_provider.url} stored without its email: "
            "another account has that address"
        ]
        assert ADA["email"] not in caplog.text

    def test_an_unverified_email_reserves_nothing(
        self, http: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        token = identity_provider.token(email=ADA["email"], email_verified=False)

        assert http.get("/api/users/me", headers=bearer(token)).json()["email"] is None
        assert http.post("/api/users", json=ADA).status_code == 201

    def test_better_auths_email_verified_claim_counts(
        self, http: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        token = identity_provider.token(email="grace@example.com", email_verified=None, emailVerified=True)

        assert http.get("/api/users/me", headers=bearer(token)).json()["email"] == "grace@example.com"

    def test_an_overlong_name_is_clipped_not_refused(
        self, http: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        token = identity_provider.token(name="G" * 500 + "\x00")

        response = http.get("/api/users/me", headers=bearer(token))
        created = http.post("/api/ba_user_1/tasks", json={"title": "x"}, headers=bearer(token))

        assert response.status_code == 200
        assert response.json()["name"] == "G" * 200
        assert created.status_code == 201

    def test_the_newest_token_says_who_the_user_is(
        self, http: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        now = int(time.time())
        http.get("/api/users/me", headers=bearer(identity_provider.token(iat=now - 20, name="Old Name")))
        newer = identity_provider.token(iat=now - 10, name="New Name", email="new@example.com")
        older = identity_provider.token(iat=now - 15, name="Stale Name")

        assert http.get("/api/users/me", headers=bearer(newer)).json()["name"] == "New Name"
        me = http.get("/api/users/me", headers=bearer(older)).json()
        assert (me["name"], me["email"]) == ("New Name", "new@example.com")


class TestProviderTokensEnd:
    def test_sign_out_ends_the_providers_earlier_tokens(
        self, http: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        token = identity_provider.token()
        assert http.post("/api/users/me/sign-out", headers=bearer(token)).status_code == 204

        assert_problem(http.get("/api/users/me", headers=bearer(token)), 401, "unauthorized")
        later = identity_provider.token(iat=int(time.time()) + 1)
        assert http.get("/api/users/me", headers=bearer(later)).status_code == 200

    def test_deleting_the_account_deletes_its_tasks_and_ends_its_tokens(
        self, http: TestClient, identity_provider: IdentityProvider, engine: sa.Engine
    ) -> None:
        token = identity_provider.token()
        http.post("/api/ba_user_1/tasks", json={"title": "x"}, headers=bearer(token))

        assert http.delete("/api/users/me", headers=bearer(token)).status_code == 204

        assert_problem(http.get("/api/ba_user_1/tasks", headers=bearer(token)), 401, "unauthorized")
        later = bearer(identity_provider.token(iat=int(time.time()) + 1))
        assert http.get("/api/ba_user_1/tasks", headers=later).json()["items"] == []

    def test_a_key_removed_from_the_jwks_stops_verifying(
        self, http: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        identity_provider.add_key("ed-removed", "EdDSA")
        token = identity_provider.token("ed-removed")
        assert http.get("/api/users/me", headers=bearer(token)).status_code == 200

        identity_provider.published = [
            key for key in identity_provider.published if key["kid"] != "ed-removed"
        ]
        time.sleep(1.5)  # past JWKS_CACHE_SECONDS=1: the cached key set expires

        assert_problem(http.get("/api/users/me", headers=bearer(token)), 401, "unauthorized")

    def test_an_unreachable_provider_is_a_503_not_a_sign_out(
        self,
        http: TestClient,
        identity_provider: IdentityProvider,
        database_url: URL,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        identity_provider.add_key("ed-new", "EdDSA")
        identity_provider.reachable = False
        try:
            with caplog.at_level(logging.WARNING, logger="tasks_api.auth"):
                response = http.get("/api/users/me", headers=bearer(identity_provider.token("ed-new")))
        finally:
            identity_provider.reachable = True

        assert_problem(response, 503, "service-unavailable")
        assert int(response.headers["retry-after"]) > 0
        assert "identity provider unreachable" in caplog.text


class TestPerUserRequestRate:
    @pytest.fixture
    def limited(self, database_url: URL) -> Any:
        return settings_for(database_url, requests_per_user_per_minute=3)

    def test_past_the_rate_429_with_retry_after_on_every_worker(
        self, limited: Settings, token_issuer: TokenIssuer
    ) -> None:
        alice, bob = (
            bearer(token_issuer.issue("alice")["access_token"]),
            bearer(token_issuer.issue("bob")["access_token"]),
        )
        with TestClient(create_app(limited)) as first, TestClient(create_app(limited)) as second:
            statuses = [first.get("/api/alice/tasks", headers=alice).status_code for _ in range(2)]
            statuses.append(second.get("/api/alice/tasks", headers=alice).status_code)
            limited_first: httpx.Response = first.get("/api/alice/tasks", headers=alice)
            limited_second: httpx.Response = second.get("/api/users/me", headers=alice)
            bobs = first.get("/api/bob/tasks", headers=bob)

        assert statuses == [200, 200, 200]
        for response in (limited_first, limited_second):
            assert_problem(response, 429, "rate-limited")
            assert 0 < int(response.headers["retry-after"]) <= 60
            assert response.headers["ratelimit-policy"] == '"per-user";q=3;w=60'
        assert bobs.status_code == 200

    def test_a_worker_that_saw_the_refusal_refuses_again_without_asking_the_database(
        self, limited: Settings, token_issuer: TokenIssuer, engine: sa.Engine
    ) -> None:
        alice = bearer(token_issuer.issue("alice")["access_token"])

        def counted() -> int:
            with engine.connect() as connection:
                return int(
                    connection.execute(
                        sa.text("SELECT request_count FROM users WHERE subject = 'alice'")
                    ).scalar_one()
                )

        with TestClient(create_app(limited)) as first, TestClient(create_app(limited)) as second:
            statuses = [first.get("/api/alice/tasks", headers=alice).status_code for _ in range(4)]
            counted_when_refused = counted()
            again = [first.get("/api/alice/tasks", headers=alice) for _ in range(5)]
            counted_after_refusing_again = counted()
            elsewhere = second.get("/api/alice/tasks", headers=alice)

        assert statuses == [200, 200, 200, 429]
        for response in again:
            assert_problem(response, 429, "rate-limited")
            assert 0 < int(response.headers["retry-after"]) <= 60
            assert response.headers["ratelimit-policy"] == '"per-user";q=3;w=60'
        assert counted_after_refusing_again == counted_when_refused == 4
        # A worker that has not seen the refusal asks the shared counter, which still refuses.
        assert_problem(elsewhere, 429, "rate-limited")
        assert counted() == 5
