"""Headers every response carries, and the documentation page's Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from tests.api.helpers import ApiClient, tasks_url


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", tasks_url(), 200),
        ("POST", tasks_url(), 201),
        ("GET", "/api/users/me", 200),
        ("GET", "/api/bob/tasks", 403),
        ("GET", "/nowhere", 404),
        ("GET", "/openapi.json", 200),
    ],
)
def test_every_response_is_private_and_not_sniffed(
    client: ApiClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, json={"title": "x"} if method == "POST" else None)

    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_a_problem_from_the_token_exchange_is_not_stored(client: ApiClient) -> None:
    response = client.anonymous().post(
        "/api/tokens", json={"email": "no@example.com", "password": "wrong pass"}
    )

    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_documentation_may_run_only_its_own_scripts(client: ApiClient) -> None:
    response = client.anonymous().get("/docs")

    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'none'"
    inline_script = re.search(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert inline_script
    digest = base64.b64encode(hashlib.sha256(inline_script.group(1).encode()).digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_documentations_assets_stay_cacheable(client: ApiClient) -> None:
    response = client.anonymous().get("/docs/swagger-ui-bundle.js")

    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
