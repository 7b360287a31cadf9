"""What each task operation costs in round trips to PostgreSQL, counted on the wire.

Round trips are most of a request's latency. Every authenticated request starts with admission's
one autocommitted statement; what follows is the operation's own. The counts include what the
driver sends on its own (``BEGIN``, ``ROLLBACK``, ``SET``), which statement events never see.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from tasks_api.app import create_app
from tests.api.helpers import ApiClient, create_task, task_url, tasks_url
from tests.conftest import EnrollingTokenIssuer, settings_for
from tests.wire import WireProxy


@pytest.fixture(scope="module")
def wire(database_url: URL) -> Iterator[WireProxy]:
    proxy = WireProxy(database_url)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def wire_app(wire: WireProxy, database_url: URL, engine: sa.Engine) -> Iterator[Any]:
    settings = settings_for(wire.url_for(database_url), database_url)
    with create_app(settings).test_client() as http:
        yield http, EnrollingTokenIssuer(engine, settings)


@pytest.fixture
def alice(wire_app: Any) -> ApiClient:
    http, issuer = wire_app
    return ApiClient(http, issuer, "alice")


def after_admission(queries: list[str]) -> list[str]:
    """The request's queries after admission's (checked to come first), each by its first words."""
    assert "UPDATE users" in queries[0], queries
    return [" ".join(query.split()[:2]) for query in queries[1:]]


class TestSessionCharacteristics:
    def test_no_request_resets_the_isolation_level_on_the_server(
        self, wire: WireProxy, alice: ApiClient
    ) -> None:
        """Admission runs autocommitted; going back to transactions must not cost a SET."""
        task = create_task(alice)

        for _ in range(3):
            with wire.recording() as queries:
                assert alice.get(task_url(task["id"])).status_code == 200
                assert alice.get(tasks_url()).status_code == 200

            assert not [query for query in queries if "SET default_transaction" in query]
            assert not [query for query in queries if "ISOLATION LEVEL" in query]


def words(query: str, count: int = 2) -> str:
    return " ".join(query.split()[:count])


class TestReads:
    """A read is admission and one statement: no BEGIN before it, no ROLLBACK after it."""

    def test_a_task_is_one_select(self, wire: WireProxy, alice: ApiClient) -> None:
        task = create_task(alice)

        with wire.recording() as queries:
            response = alice.get(task_url(task["id"]))

        assert response.status_code == 200
        assert after_admission(queries) == ["SELECT tasks.title,"]

    @pytest.mark.parametrize(
        ("task_id", "status"), [("known", 304), ("6f1c1c5e-8d2a-4b7e-9a51-0c3d6f2b9e10", 404)]
    )
    def test_a_304_or_a_404_costs_the_same(
        self, wire: WireProxy, alice: ApiClient, task_id: str, status: int
    ) -> None:
        task = create_task(alice)

        with wire.recording() as queries:
            response = alice.get(
                task_url(task["id"] if task_id == "known" else task_id),
                headers={"If-None-Match": task["etag"]},
            )

        assert response.status_code == status
        assert after_admission(queries) == ["SELECT tasks.title,"]

    @pytest.mark.parametrize("params", [{}, {"q": "milk", "tag": "home", "sort": "-priority"}])
    def test_a_page_is_one_query_carrying_its_time_limit(
        self, wire: WireProxy, alice: ApiClient, params: dict[str, str]
    ) -> None:
        create_task(alice, title="Buy milk", tags=["home"])

        with wire.recording() as queries:
            response = alice.get(tasks_url(), params=params)

        assert response.status_code == 200
        assert len(response.json()["items"]) == 1
        assert len(after_admission(queries)) == 1
        settings, select = queries[1].split("; SELECT", 1)
        assert settings == "SET LOCAL statement_timeout = 2000; SET LOCAL max_parallel_workers_per_gather = 0"
        assert select.startswith(" tasks.title,")

    @pytest.mark.parametrize("path", ["lists/{list_id}", "tags", "users/me"])
    def test_other_single_statement_reads_are_one_query(
        self, wire: WireProxy, alice: ApiClient, path: str
    ) -> None:
        list_id = create_task(alice)["list_id"]
        url = "/api/" + ("users/me" if path == "users/me" else f"alice/{path.format(list_id=list_id)}")

        with wire.recording() as queries:
            response = alice.get(url)

        assert response.status_code == 200
        assert [words(query, 1) for query in after_admission(queries)] == ["SELECT"]


CHANGES = [
    ("PUT", "", {"title": "replaced", "priority": "high", "tags": ["x"]}),
    ("PATCH", "", {"title": "changed", "status": "completed", "description": None}),
    ("PATCH", "/complete", None),
]


class TestChanges:
    """A change is one statement in its transaction: BEGIN, the statement, COMMIT."""

    @pytest.mark.parametrize("change", CHANGES)
    @pytest.mark.parametrize("if_match", [None, '"1"', "*"])
    def test_a_change_is_one_statement(
        self, wire: WireProxy, alice: ApiClient, change: tuple[str, str, Any], if_match: str | None
    ) -> None:
        method, suffix, body = change
        task = create_task(alice)
        headers = {"If-Match": if_match} if if_match else {}

        with wire.recording() as queries:
            response = alice.request(method, task_url(task["id"]) + suffix, json=body, headers=headers)

        assert response.status_code == 200
        assert response.json()["etag"] == '"2"'
        assert [words(query) for query in queries[1:]] == ["BEGIN", "WITH seen", "COMMIT"]
        assert "UPDATE tasks SET" in queries[2]

    def test_a_delete_is_one_statement(self, wire: WireProxy, alice: ApiClient) -> None:
        task = create_task(alice)

        with wire.recording() as queries:
            response = alice.delete(task_url(task["id"]), headers={"If-Match": task["etag"]})

        assert response.status_code == 204
        assert [words(query) for query in queries[1:]] == ["BEGIN", "WITH seen", "COMMIT"]
        assert "DELETE FROM tasks" in queries[2]

    @pytest.mark.parametrize(
        ("task_id", "status"), [("known", 412), ("6f1c1c5e-8d2a-4b7e-9a51-0c3d6f2b9e10", 404)]
    )
    def test_a_refusal_costs_no_second_statement(
        self, wire: WireProxy, alice: ApiClient, task_id: str, status: int
    ) -> None:
        task = create_task(alice)

        with wire.recording() as queries:
            response = alice.patch(
                task_url(task["id"] if task_id == "known" else task_id),
                json={"title": "x"},
                headers={"If-Match": '"7"'},
            )

        assert response.status_code == status
        assert [words(query) for query in queries[1:]] == ["BEGIN", "WITH seen", "ROLLBACK"]

    def test_a_move_to_another_list_also_checks_and_locks_the_list(
        self, wire: WireProxy, alice: ApiClient
    ) -> None:
        task = create_task(alice)
        other = alice.post("/api/alice/lists", json={"name": "Other"}).json()

        with wire.recording() as queries:
            response = alice.patch(task_url(task["id"]), json={"list_id": other["id"]})

        assert response.status_code == 200
        assert response.json()["list_id"] == other["id"]
        assert [words(query) for query in queries[1:]] == [
            "BEGIN",
            "SELECT task_lists.id",
            "WITH seen",
            "COMMIT",
        ]


class TestCreation:
    def test_a_task_takes_its_list_and_its_end_with_the_quota_and_the_insert(
        self, wire: WireProxy, alice: ApiClient
    ) -> None:
        # The default list and the end of the list were a SELECT each: two round trips per create.
        first = create_task(alice)

        with wire.recording() as queries:
            response = alice.post(tasks_url(), json={"title": "Buy milk"})

        assert response.status_code == 201
        assert response.json()["position"] > first["position"]
        assert [words(query) for query in queries[1:]] == [
            "BEGIN",
            "SELECT (SELECT",  # the quota and the default list, with the owner's row locked
            "INSERT INTO",
            "COMMIT",
        ]
        assert "max(tasks.position)" in queries[3]
        assert response.json()["list_id"] == first["list_id"]
