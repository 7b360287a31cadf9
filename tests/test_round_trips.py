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
