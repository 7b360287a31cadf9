"""/metrics: Prometheus text for the operator's scraper only, with what operators watch."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import URL

from tasks_api.app import create_app
from tests.api.helpers import ApiClient, tasks_url
from tests.conftest import TEST_METRICS_TOKEN, free_port, settings_for

SCRAPER = {"Authorization": f"Bearer {TEST_METRICS_TOKEN}"}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(client: ApiClient) -> str:
    response = client.anonymous().get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.text


class TestAccess:
    def test_without_a_token_it_is_refused(self, client: ApiClient) -> None:
        response = client.anonymous().get("/metrics")

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_a_users_token_is_not_the_scrape_token(self, client: ApiClient) -> None:
        assert client.get("/metrics").status_code == 401

    def test_with_no_token_configured_nobody_may_read_them(self, database_url: URL) -> None:
        with create_app(settings_for(database_url)).test_client() as http:
            assert http.get("/metrics", headers=SCRAPER).status_code == 401


class TestContent:
    def test_requests_are_counted_and_timed_by_operation_and_status(self, client: ApiClient) -> None:
        before = scrape(client)
        client.get(tasks_url())
        client.get(tasks_url())
        client.get("/api/bob/tasks")

        after = scrape(client)

        for name in ("tasks_api_requests_total", "tasks_api_request_duration_seconds_count"):
            assert (
                value(after, name, operation="listTasks", status="200")
                - value(before, name, operation="listTasks", status="200")
                == 2
            )
            assert (
                value(after, name, operation="listTasks", status="403")
                - value(before, name, operation="listTasks", status="403")
                == 1
            )

    def test_the_pool_and_requests_in_flight_are_reported(self, client: ApiClient) -> None:
        client.get(tasks_url())

        text = scrape(client)

        assert value(text, "tasks_api_requests_in_flight") == 1  # the scrape itself
        assert value(text, "tasks_api_db_pool_checked_out") == 0  # every connection came back
        assert ("tasks_api_db_pool_overflow", frozenset()) in samples(text)
        assert ("tasks_api_db_pool_exhausted_total", frozenset()) in samples(text)

    def test_refused_sign_ins_are_counted(self, client: ApiClient) -> None:
        before = value(scrape(client), "tasks_api_sign_in_refusals_total", reason="invalid_credentials")

        client.anonymous().post(
            "/api/tokens", json={"email": "nobody@example.com", "password": "not it at all"}
        )

        after = value(scrape(client), "tasks_api_sign_in_refusals_total", reason="invalid_credentials")
        assert after - before == 1


@pytest.mark.parametrize("path", ["/ready", "/api/users/me"])
def test_database_outages_are_counted(database_url: URL, path: str, client: ApiClient) -> None:
    unreachable = database_url.set(host="127.0.0.1", port=free_port(), query={})
    settings = settings_for(unreachable, metrics_token=TEST_METRICS_TOKEN, db_connect_timeout_seconds=1)
    token = client._token  # alice's, valid for any app with the test secret

    with create_app(settings).test_client() as http:
        response = http.get(path, headers={"Authorization": f"Bearer {token}"})
        text = http.get("/metrics", headers=SCRAPER).text

    assert response.status_code == 503
    assert value(text, "tasks_api_database_unavailable_total") == 1
