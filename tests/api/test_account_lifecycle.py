"""DELETE /api/users/me, POST /api/users/me/sign-out, PUT /api/users/me/password: each ends every
earlier token at once, on every worker."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from tasks_api.app import create_app
from tasks_api.settings import Settings
from tests.api.helpers import ApiClient, assert_problem, tasks_url
from tests.api.test_accounts import ADA, register, sign_in

NEW_PASSWORD = "a longer phrase nobody would guess"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(client: ApiClient) -> tuple[dict[str, Any], str]:
    user = register(client)
    response = sign_in(client)
    assert response.status_code == 200, response.text
    return user, response.json()["access_token"]


class TestDeleteCurrentUser204:
    def test_the_account_and_its_tasks_go_and_the_token_stops_working(
        self, client: ApiClient, engine: sa.Engine
    ) -> None:
        user, token = signed_in(client)
        anonymous = client.anonymous()
        assert (
            anonymous.post(tasks_url(user["id"]), json={"title": "x"}, headers=bearer(token)).status_code
            == 201
        )

        assert anonymous.delete("/api/users/me", headers=bearer(token)).status_code == 204

        assert_problem(anonymous.get(tasks_url(user["id"]), headers=bearer(token)), 401, "unauthorized")
        assert_problem(
            anonymous.post(tasks_url(user["id"]), json={"title": "x"}, headers=bearer(token)),
            401,
            "unauthorized",
        )
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT count(*) FROM users WHERE id = :id"), user) == 0
            assert connection.scalar(sa.text("SELECT count(*) FROM tasks")) == 0
        assert register(client)["email"] == ADA["email"]  # the email is free again

    def test_a_token_never_re_creates_a_deleted_user(self, client: ApiClient, engine: sa.Engine) -> None:
        user, token = signed_in(client)
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM users"))

        listed = client.anonymous().get(tasks_url(user["id"]), headers=bearer(token))
        created = client.anonymous().post(tasks_url(user["id"]), json={"title": "x"}, headers=bearer(token))

        assert_problem(listed, 401, "unauthorized")
        assert_problem(created, 401, "unauthorized")
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 0


class TestSignOutEverywhere204:
    def test_every_earlier_token_stops_working_on_every_worker(
        self, client: ApiClient, settings: Settings
    ) -> None:
        _, token = signed_in(client)
        other_token = sign_in(client).json()["access_token"]

        assert client.anonymous().post("/api/users/me/sign-out", headers=bearer(token)).status_code == 204

        with TestClient(create_app(settings)) as second_worker:
            for http in (client.anonymous(), second_worker):
                for each in (token, other_token):
                    assert_problem(http.get("/api/users/me", headers=bearer(each)), 401, "unauthorized")

    def test_signing_in_again_right_away_works(self, client: ApiClient) -> None:
        _, token = signed_in(client)
        client.anonymous().post("/api/users/me/sign-out", headers=bearer(token))

        fresh = sign_in(client).json()["access_token"]

        assert client.anonymous().get("/api/users/me", headers=bearer(fresh)).status_code == 200


class TestChangePassword200:
    def test_the_new_password_works_and_earlier_tokens_do_not(self, client: ApiClient) -> None:
        _, token = signed_in(client)

        response = client.anonymous().put(
            "/api/users/me/password",
            json={"current_password": ADA["password"], "new_password": NEW_PASSWORD},
            headers=bearer(token),
        )

        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert (
            client.anonymous()
            .get("/api/users/me", headers=bearer(response.json()["access_token"]))
            .status_code
            == 200
        )
        assert_problem(client.anonymous().get("/api/users/me", headers=bearer(token)), 401, "unauthorized")
        assert_problem(sign_in(client), 401, "invalid-credentials")
        assert sign_in(client, password=NEW_PASSWORD).status_code == 200


class TestChangePassword400:
    def test_a_weak_new_password_is_refused_without_being_echoed(self, client: ApiClient) -> None:
        _, token = signed_in(client)

        response = client.anonymous().put(
            "/api/users/me/password",
            json={"current_password": ADA["password"], "new_password": "12345678"},
            headers=bearer(token),
        )

        body = assert_problem(response, 400, "validation-error")
        assert body["errors"][0]["pointer"] == "/new_password"
        assert "12345678" not in response.text


class TestChangePassword403:
    def test_the_current_password_is_required_and_failures_count(self, client: ApiClient) -> None:
        _, token = signed_in(client)
        wrong = {"current_password": "not it at all", "new_password": NEW_PASSWORD}

        for _ in range(5):
            response = client.anonymous().put("/api/users/me/password", json=wrong, headers=bearer(token))
            assert_problem(response, 403, "wrong-password")
        limited = client.anonymous().put("/api/users/me/password", json=wrong, headers=bearer(token))

        assert_problem(limited, 429, "too-many-requests")
        assert client.anonymous().get("/api/users/me", headers=bearer(token)).status_code == 200


class TestChangePassword409:
    def test_a_user_without_a_password_here(self, client: ApiClient) -> None:
        response = client.put(
            "/api/users/me/password", json={"current_password": "x", "new_password": NEW_PASSWORD}
        )

        assert_problem(response, 409, "conflict")
