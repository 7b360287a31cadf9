"""A task listing's statement is built once per shape: only its parameters change between requests.

Building the statement and computing its cache key cost more Python time than the query's round
trip (docs/performance.md, eighth pass); these tests fail if a listing builds it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from models.task_query import page_statement
from tests.api.helpers import ApiClient, create_task, tasks_url


@pytest.fixture
def statements_built() -> Iterator[Any]:
    page_statement.cache_clear()
    yield page_statement.cache_info
    page_statement.cache_clear()


def listed(client: ApiClient, user_id: str = "alice", **params: Any) -> dict[str, Any]:
    response = client.as_user(user_id).get(tasks_url(user_id), params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


class TestListTasksStatements:
    def test_pages_of_one_shape_share_one_statement(self, client: ApiClient, statements_built: Any) -> None:
        for index in range(5):
            create_task(client, title=f"milk {index}")
            create_task(client, "bob", title=f"bread {index}")

        first = listed(client, limit=2)
        listed(client, limit=1, cursor=first["next_cursor"])
        second = listed(client, "bob", limit=3)
        listed(client, "bob", limit=2, cursor=second["next_cursor"])

        assert statements_built().misses == 2  # a first page, a page after a position
        assert statements_built().hits == 2

    def test_filter_values_share_a_statement_and_filters_given_do_not(
        self, client: ApiClient, statements_built: Any
    ) -> None:
        create_task(client, title="Buy milk and bread", priority="high")

        assert listed(client, priority="high", q="milk bread")["items"]
        assert not listed(client, priority="low", q="eggs ham")["items"]
        assert listed(client, q="milk")["items"]

        assert statements_built().misses == 2  # two words and a priority; one word
        assert statements_built().hits == 1
