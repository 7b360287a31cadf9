"""GET /openapi.json, /openapi.yaml, /docs and its assets"""

from __future__ import annotations

import pytest
import yaml

from tasks_api.paths import SPEC_PATH
from tests.api.helpers import ApiClient


class TestOpenApiDocument:
    def test_yaml_is_the_contract_as_written(self, client: ApiClient) -> None:
        response = client.get("/openapi.yaml")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/yaml")
        assert response.text == SPEC_PATH.read_text()

    @pytest.mark.parametrize(
        "accept",
        [
            None,
            "*/*",
            "application/yaml",
            "text/plain;q=0.5, application/yaml",
            "application/yaml, text/plain",
        ],
    )
    def test_yaml_is_application_yaml_unless_the_client_prefers_text(
        self, client: ApiClient, accept: str | None
    ) -> None:
        response = client.get("/openapi.yaml", headers={"Accept": accept} if accept else {})

        assert response.headers["content-type"].startswith("application/yaml")

    @pytest.mark.parametrize("accept", ["text/plain", "text/*", "text/plain, application/yaml;q=0.9"])
    def test_yaml_as_text_for_clients_that_prefer_it(self, client: ApiClient, accept: str) -> None:
        response = client.get("/openapi.yaml", headers={"Accept": accept})

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == SPEC_PATH.read_text()

    def test_json_is_the_same_document(self, client: ApiClient) -> None:
        response = client.get("/openapi.json")

        assert response.json() == yaml.safe_load(SPEC_PATH.read_text())
        assert response.json()["openapi"] == "3.1.0"


class TestInteractiveDocs:
    def test_page_loads_swagger_ui_from_this_service(self, client: ApiClient) -> None:
        page = client.get("/docs")

        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'src="docs/swagger-ui-bundle.js"' in page.text
        assert 'url: "openapi.json"' in page.text
        assert "http" not in page.text.replace("http-equiv", "")  # no CDN

    def test_assets_are_swagger_ui_5(self, client: ApiClient) -> None:
        bundle = client.get("/docs/swagger-ui-bundle.js")
        style = client.get("/docs/swagger-ui.css")

        assert bundle.status_code == 200
        assert bundle.headers["content-type"].startswith("text/javascript")
        assert b"SwaggerUIBundle" in bundle.content
        # Swagger UI 5 is the first major version that renders OpenAPI 3.1.
        assert b"OpenAPI 3.1" in bundle.content or b"isOAS31" in bundle.content
        assert style.headers["content-type"].startswith("text/css")

    def test_other_files_are_not_served(self, client: ApiClient) -> None:
        assert client.get("/docs/..%2F..%2Fpyproject.toml").status_code in {400, 404}
