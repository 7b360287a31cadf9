"""POST /api/users, POST /api/tokens, GET /api/users/me"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tasks_api.app import create_app
from tasks_api.settings import Settings
from tests.api.helpers import ApiClient, assert_problem, tasks_url
from tests.conftest import TEST_JWT_SECRET

ADA = {"email": "Ada@Example.com", "name": "Ada Lovelace", "password": "correct horse battery"}


def register(client: ApiClient, **overrides: str) -> dict[str, Any]:
    response = client.anonymous().post("/api/users", json={**ADA, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def sign_in(client: ApiClient, email: str = ADA["email"], password: str = ADA["password"]) -> Any:
    return client.anonymous().post("/api/tokens", json={"email": email, "password": password})


class TestRegisterUser201:
    def test_returns_the_account_without_its_password(self, client: ApiClient) -> None:
        response = client.anonymous().post("/api/users", json=ADA)

        assert response.status_code == 201
        body = response.json()
        assert body == {
            "id": body["id"],
            "email": "Ada@Example.com",
            "name": "Ada Lovelace",
            "created_at": body["created_at"],
        }
        assert response.headers["location"] == "/api/users/me"
        assert ADA["password"] not in response.text

    def test_stores_only_an_argon2id_hash(self, client: ApiClient, engine: sa.Engine) -> None:
        user = register(client)

        with engine.connect() as connection:
            stored = connection.scalar(sa.text("SELECT password_hash FROM users WHERE id = :id"), user)
        assert stored.startswith("$argon2id$")
        assert ADA["password"] not in stored


class TestRegisterUser400:
    @pytest.mark.parametrize(
        "overrides",
        [{"password": "seven77"}, {"email": "not-an-email"}, {"name": ""}, {"email": ""}],
    )
    def test_refuses_invalid_accounts(self, client: ApiClient, overrides: dict[str, str]) -> None:
        response = client.anonymous().post("/api/users", json={**ADA, **overrides})

        assert_problem(response, 400, "validation-error")

    def test_refuses_unknown_fields(self, client: ApiClient) -> None:
        response = client.anonymous().post("/api/users", json={**ADA, "id": "chosen"})

        assert_problem(response, 400, "validation-error")

    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            ("        ", "whitespace"),
            ("12345678", "guess"),
            ("password1", "guess"),
            ("Ada@Example.com", "email"),
            ("ada@example.com", "email"),
        ],
    )
    def test_refuses_weak_passwords(self, client: ApiClient, password: str, reason: str) -> None:
        response = client.anonymous().post("/api/users", json={**ADA, "password": password})

        body = assert_problem(response, 400, "validation-error")
        assert body["errors"][0]["pointer"] == "/password"
        assert reason in body["errors"][0]["detail"]
        if password.strip():
            assert password not in response.text

    @pytest.mark.parametrize("password", ["seven77", "x" * 1025])
    def test_never_echoes_a_password(self, client: ApiClient, password: str) -> None:
        response = client.anonymous().post("/api/users", json={**ADA, "password": password})

        assert_problem(response, 400, "validation-error")
        assert password not in response.text


class TestRegisterUser409:
    def test_emails_are_unique_whatever_their_case(self, client: ApiClient) -> None:
        register(client)

        response = client.anonymous().post("/api/users", json={**ADA, "email": "ada@EXAMPLE.com"})

        assert_problem(response, 409, "conflict")


class TestCreateToken200:
    def test_the_token_opens_the_accounts_tasks(self, client: ApiClient) -> None:
        user = register(client)

        response = sign_in(client, email="ada@example.com")

        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        token = response.json()
        assert (token["token_type"], token["expires_in"]) == ("Bearer", 3600)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        created = client.anonymous().post(tasks_url(user["id"]), json={"title": "x"}, headers=headers)
        assert created.status_code == 201

    def test_the_token_carries_the_standard_claims(self, client: ApiClient, settings: Settings) -> None:
        user = register(client)

        token = sign_in(client).json()["access_token"]

        claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"], audience=settings.jwt_audience)
        assert claims["sub"] == user["id"]
        assert claims["iss"] == settings.jwt_issuer
        assert claims["exp"] - claims["iat"] == 3600
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


class TestCreateToken401:
    def test_wrong_password_and_unknown_email_look_alike(self, client: ApiClient) -> None:
        register(client)

        wrong_password = sign_in(client, password="not the password")
        unknown_email = sign_in(client, email="nobody@example.com")

        for response in (wrong_password, unknown_email):
            assert_problem(response, 401, "invalid-credentials")
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert wrong_password.json()["detail"] == unknown_email.json()["detail"]

    def test_a_token_minted_elsewhere_makes_no_user(self, client: ApiClient, settings: Settings) -> None:
        now = int(time.time())
        claims = {"sub": "minted-elsewhere", "email": "grace@example.com", "iat": now, "exp": now + 60}
        token = jwt.encode(
            {**claims, "iss": settings.jwt_issuer, "aud": settings.jwt_audience},
            TEST_JWT_SECRET,
            "HS256",
            headers={"typ": "at+jwt"},
        )

        me = client.anonymous().get("/api/users/me", headers={"Authorization": f"Bearer {token}"})

        assert_problem(me, 401, "unauthorized")
        assert_problem(sign_in(client, email="grace@example.com"), 401, "invalid-credentials")


class TestCreateToken429:
    def test_after_five_failures_the_pair_waits(self, client: ApiClient) -> None:
        register(client)
        for _ in range(5):
            assert sign_in(client, password="guess").status_code == 401

        refused = sign_in(client)  # even with the right password, from the address that guessed

        assert_problem(refused, 429, "too-many-requests")
        assert 0 < int(refused.headers["retry-after"]) <= 900

    def test_a_success_clears_the_pairs_failures(self, client: ApiClient) -> None:
        register(client)
        for _ in range(4):
            sign_in(client, password="guess")
        assert sign_in(client).status_code == 200

        for _ in range(4):
            assert sign_in(client, password="guess").status_code == 401

    def test_one_address_cannot_try_many_accounts(self, client: ApiClient) -> None:
        for attempt in range(20):
            assert sign_in(client, email=f"victim{attempt}@example.com").status_code == 401

        assert_problem(sign_in(client, email="victim99@example.com"), 429, "too-many-requests")

    def test_the_count_is_shared_by_every_worker(self, client: ApiClient, settings: Settings) -> None:
        register(client)
        # A second app on the same database, as another worker process would be.
        with TestClient(create_app(settings)) as second:
            for _ in range(3):
                sign_in(client, password="guess")
            for _ in range(2):
                second.post("/api/tokens", json={"email": ADA["email"], "password": "guess"})

            assert_problem(sign_in(client), 429, "too-many-requests")


class TestGetCurrentUser200:
    def test_a_registered_user(self, client: ApiClient) -> None:
        user = register(client)
        token = sign_in(client).json()["access_token"]

        response = client.anonymous().get("/api/users/me", headers={"Authorization": f"Bearer {token}"})

        assert response.json() == user


class TestGetCurrentUser401:
    def test_without_a_token_the_challenge_has_no_error(self, client: ApiClient) -> None:
        response = client.anonymous().get("/api/users/me")

        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == 'Bearer realm="tasks-api"'

    def test_with_a_bad_token_the_challenge_says_invalid_token(self, client: ApiClient) -> None:
        response = client.anonymous().get("/api/users/me", headers={"Authorization": "Bearer x.y.z"})

        assert_problem(response, 401, "unauthorized")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
