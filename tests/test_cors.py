"""CORS for configured origins: preflights from the contract, headers on every response."""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.engine import URL

from tasks_api.app import create_app
from tasks_api.contract import HTTP_METHODS, Contract
from tasks_api.paths import SPEC_PATH
from tests.api.helpers import PROBLEM_JSON, ApiClient, tasks_url
from tests.conftest import TEST_BROWSER_ORIGIN, settings_for

CONTRACT = Contract.load(SPEC_PATH)
# Each path of the contract, made concrete, with the methods it declares.
PATHS = {
    re.sub(r"\{[^}]+\}", "x1", template).replace("/docs/x1", "/docs/swagger-ui.css"): sorted(
        method.upper() for method in item if method in HTTP_METHODS
    )
    for template, item in CONTRACT.document["paths"].items()
}
REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
]
EXPOSED_HEADERS = ["ETag", "Location", "Link", "Retry-After", "X-Request-ID", "Idempotency-Replayed"]


def preflight(client: ApiClient, path: str, method: str, origin: str = TEST_BROWSER_ORIGIN) -> httpx.Response:
    return client.anonymous().request(
        "OPTIONS",
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": ", ".join(REQUEST_HEADERS),
        },
    )


def listed(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


class TestPreflight:
    @pytest.mark.parametrize(("path", "method"), [(p, m) for p, methods in PATHS.items() for m in methods])
    def test_every_operation_is_allowed_with_its_paths_methods(
        self, client: ApiClient, path: str, method: str
    ) -> None:
        response = preflight(client, path, method)

        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == TEST_BROWSER_ORIGIN
        allowed = listed(response.headers["Access-Control-Allow-Methods"])
        assert {m.lower() for m in PATHS[path]} <= allowed <= {m.lower() for m in [*PATHS[path], "HEAD"]}
        assert {h.lower() for h in REQUEST_HEADERS} <= listed(
            response.headers["Access-Control-Allow-Headers"]
        )
        assert "origin" in listed(response.headers["Vary"])

    def test_a_method_the_path_does_not_have_is_refused_as_a_problem(self, client: ApiClient) -> None:
        response = preflight(client, tasks_url(), "DELETE")

        assert response.status_code == 400
        assert response.headers["Content-Type"] == PROBLEM_JSON
        assert response.json()["type"] == "/problems/cors-preflight-refused"
        assert "DELETE" not in response.headers["Access-Control-Allow-Methods"]

    def test_an_origin_not_configured_is_refused(self, client: ApiClient) -> None:
        response = preflight(client, tasks_url(), "GET", origin="https://evil.example")

        assert response.status_code == 400
        assert response.headers["Content-Type"] == PROBLEM_JSON
        assert "Access-Control-Allow-Origin" not in response.headers


class TestActualRequests:
    def test_a_success_exposes_the_headers_clients_read(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), json={"title": "x"}, headers={"Origin": TEST_BROWSER_ORIGIN})

        assert response.status_code == 201
        assert response.headers["Access-Control-Allow-Origin"] == TEST_BROWSER_ORIGIN
        assert {h.lower() for h in EXPOSED_HEADERS} <= listed(
            response.headers["Access-Control-Expose-Headers"]
        )
        assert listed(response.headers["Vary"]) == {"origin"}

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [("GET", "/api/bob/tasks", 403), ("GET", "/nowhere", 404), ("DELETE", "/api/alice/tasks", 405)],
    )
    def test_errors_carry_cors_headers_too(
        self, client: ApiClient, method: str, path: str, status: int
    ) -> None:
        response = client.request(method, path, headers={"Origin": TEST_BROWSER_ORIGIN})

        assert response.status_code == status
        assert response.headers["Access-Control-Allow-Origin"] == TEST_BROWSER_ORIGIN
        assert "origin" in listed(response.headers["Vary"])

    def test_an_unauthenticated_request_is_readable_by_the_page(self, client: ApiClient) -> None:
        response = client.anonymous().get(tasks_url(), headers={"Origin": TEST_BROWSER_ORIGIN})

        assert response.status_code == 401
        assert response.headers["Access-Control-Allow-Origin"] == TEST_BROWSER_ORIGIN

    def test_another_origin_gets_no_cors_headers_but_the_same_vary(self, client: ApiClient) -> None:
        response = client.get(tasks_url(), headers={"Origin": "https://evil.example"})

        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "origin" in listed(response.headers["Vary"])


def test_without_configured_origins_nothing_changes(database_url: URL) -> None:
    with create_app(settings_for(database_url)).test_client() as http:
        response = http.options(
            tasks_url(), headers={"Origin": TEST_BROWSER_ORIGIN, "Access-Control-Request-Method": "GET"}
        )
        simple = http.get("/health", headers={"Origin": TEST_BROWSER_ORIGIN})

    assert response.status_code == 405
    assert not any(name.lower().startswith("access-control-") for name in response.headers)
    assert not any(name.lower().startswith("access-control-") for name in simple.headers)


@pytest.mark.parametrize(
    "origins", ["*", "https://app.example.com/path", "app.example.com", "ftp://app.example.com", "https://"]
)
def test_only_exact_origins_are_accepted(origins: str) -> None:
    with pytest.raises(ValidationError, match="TASKS_API_CORS_ORIGINS"):
        settings_for(URL.create("postgresql"), cors_origins=origins)


def test_several_origins_are_comma_separated() -> None:
    settings = settings_for(
        URL.create("postgresql"), cors_origins="https://a.example, http://127.0.0.1:3000/"
    )

    assert settings.cors_origins == ["https://a.example", "http://127.0.0.1:3000"]
