"""Admission: where it runs (one worker thread per request), that it runs exactly once, and that its
refusals still come before any validation problem."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import anyio.to_thread
import connexion.decorators.main
import connexion.middleware.exceptions
import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from tasks_api.admission import admitted_first
from tasks_api.app import create_app
from tasks_api.auth import TokenIssuer
from tasks_api.services import services_of
from tests.api.helpers import ApiClient, assert_problem, create_task, task_url, tasks_url
from tests.conftest import settings_for

INVALID_TASK = {"title": ""}  # the contract's minLength is 1


@pytest.fixture
def thread_hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions the app hands to a worker thread (Connexion's sync handlers and
    renderers, through ``tasks_api.handler_threads``; anything else through anyio)."""
    handed: list[str] = []

    def counting(hand_off: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            handed.append(getattr(function, "__qualname__", repr(function)))
            return await hand_off(function, *args, **kwargs)

        return counted

    for module in (connexion.decorators.main, connexion.middleware.exceptions):
        monkeypatch.setattr(module, "run_in_threadpool", counting(module.run_in_threadpool))
    monkeypatch.setattr(anyio.to_thread, "run_sync", counting(anyio.to_thread.run_sync))
    return handed


def request_count(engine: sa.Engine, subject: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT request_count FROM users WHERE subject = :subject"), {"subject": subject}
            ).scalar_one()
        )


class TestWhereAdmissionRuns:
    def test_an_authenticated_read_reaches_one_worker_thread(
        self, client: ApiClient, thread_hand_offs: list[str]
    ) -> None:
        task = create_task(client)
        thread_hand_offs.clear()

        response = client.get(task_url(task["id"]))

        assert response.status_code == 200
        assert len(thread_hand_offs) == 1, thread_hand_offs

    def test_a_write_reaches_one_worker_thread(self, client: ApiClient, thread_hand_offs: list[str]) -> None:
        response = client.post(tasks_url(), json={"title": "Buy milk"})

        assert response.status_code == 201
        assert len(thread_hand_offs) == 1, thread_hand_offs

    def test_an_async_handler_is_refused_at_start_up(self) -> None:
        async def handler() -> None:
            return None

        with pytest.raises(TypeError, match="sync handler"):
            admitted_first(handler)


class TestConnectionsGoBack:
    def test_every_connection_is_back_in_the_pool_after_answers_and_refusals(self, client: ApiClient) -> None:
        pool = services_of(SimpleNamespace(**client._http.app_state)).database.engine.pool
        task = create_task(client)
        stale = {"If-Match": '"99"'}

        statuses = [
            client.get(task_url(task["id"])).status_code,
            client.get(task_url("00000000-0000-4000-8000-000000000000")).status_code,
            client.get(tasks_url("bob")).status_code,
            client.post(tasks_url(), json=INVALID_TASK).status_code,
            client.patch(task_url(task["id"]), json={"title": "Oat milk"}, headers=stale).status_code,
        ]

        assert statuses == [200, 404, 403, 400, 412]
        assert pool.checkedout() == 0  # type: ignore[attr-defined]


class TestAdmissionsConnectionIsLentToTheUnitOfWork:
    @pytest.fixture
    def checked_out_at_each_checkout(self, client: ApiClient) -> Iterator[list[int]]:
        """For every checkout, how many connections the pool had out (that one included)."""
        pool = services_of(SimpleNamespace(**client._http.app_state)).database.engine.pool
        counts: list[int] = []

        def checked_out(*_: Any) -> None:
            counts.append(pool.checkedout())  # type: ignore[attr-defined]

        sa.event.listen(pool, "checkout", checked_out)
        yield counts
        sa.event.remove(pool, "checkout", checked_out)

    def test_a_read_checks_out_one_connection(
        self, client: ApiClient, checked_out_at_each_checkout: list[int]
    ) -> None:
        task = create_task(client)
        checked_out_at_each_checkout.clear()

        assert client.get(task_url(task["id"])).status_code == 200
        assert client.get(tasks_url(), params={"limit": 1}).status_code == 200

        assert checked_out_at_each_checkout == [1, 1]  # was two a request: admission's, then the read's

    def test_a_write_checks_out_one_connection(
        self, client: ApiClient, checked_out_at_each_checkout: list[int]
    ) -> None:
        task = create_task(client)
        checked_out_at_each_checkout.clear()

        assert client.patch(task_url(task["id"]), json={"title": "Oat milk"}).status_code == 200
        assert client.post(tasks_url(), json={"title": "Bread"}).status_code == 201

        assert checked_out_at_each_checkout == [1, 1]  # was two a request: admission's, then the write's

    def test_a_read_through_the_session_checks_out_one_connection(
        self, client: ApiClient, checked_out_at_each_checkout: list[int]
    ) -> None:
        assert client.get("/api/alice/lists").status_code == 200
        assert client.get("/api/alice/tags").status_code == 200

        assert checked_out_at_each_checkout == [1, 1]


class TestEachRequestIsCountedOnce:
    def test_whether_the_handler_answers_raises_or_is_never_reached(
        self, client: ApiClient, engine: sa.Engine
    ) -> None:
        create_task(client)
        before = request_count(engine, "alice")

        answered = client.get(tasks_url())
        not_found = client.get(task_url("00000000-0000-4000-8000-000000000000"))
        invalid = client.post(tasks_url(), json=INVALID_TASK)

        assert answered.status_code == 200
        assert_problem(not_found, 404, "not-found")
        assert_problem(invalid, 400, "validation-error")
        assert request_count(engine, "alice") == before + 3


class TestRefusalsComeBeforeValidation:
    def test_a_revoked_token_is_refused_before_its_body_is_judged(self, client: ApiClient) -> None:
        assert client.post("/api/users/me/sign-out").status_code == 204

        response = client.post(tasks_url(), json=INVALID_TASK)

        assert_problem(response, 401, "unauthorized")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]

    def test_a_user_past_their_rate_is_refused_before_their_body_is_judged(
        self, database_url: URL, token_issuer: TokenIssuer
    ) -> None:
        alice = {"Authorization": f"Bearer {token_issuer.issue('alice')['access_token']}"}
        with TestClient(create_app(settings_for(database_url, requests_per_user_per_minute=2))) as http:
            statuses = [http.get(tasks_url(), headers=alice).status_code for _ in range(2)]
            response = http.post(tasks_url(), json=INVALID_TASK, headers=alice)

        assert statuses == [200, 200]
        assert_problem(response, 429, "rate-limited")
        assert 0 < int(response.headers["retry-after"]) <= 60

    def test_a_user_within_their_rate_hears_about_their_body(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), json=INVALID_TASK)

        assert_problem(response, 400, "validation-error")


class TestHandlerThreads:
    def test_a_worker_runs_as_many_requests_on_threads_as_configured(self, database_url: URL) -> None:
        def threads() -> float:
            return anyio.to_thread.current_default_thread_limiter().total_tokens

        with TestClient(
            create_app(settings_for(database_url, handler_threads=3, concurrent_listings_per_user=2))
        ) as http:
            configured = http.portal.call(threads)  # type: ignore[union-attr]

        assert configured == 3

    def test_fewer_threads_than_one_users_concurrent_listings_are_refused(self, database_url: URL) -> None:
        with pytest.raises(ValidationError, match="TASKS_API_HANDLER_THREADS"):
            settings_for(database_url, handler_threads=4, concurrent_listings_per_user=4)
