"""OpenAPI 3.1 on Connexion: 2020-12 semantics enforced, and loud failure if an upgrade breaks it.

These run on a probe contract (tests/openapi31_probe/probe.yaml) that uses exactly the keywords
Connexion's own Draft 4 validation ignores.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import connexion.decorators.parameter
import connexion.utils
import pytest
import yaml
from connexion import AsyncApp
from connexion.decorators.main import ASGIDecorator, BaseDecorator
from connexion.exceptions import InvalidSpecification
from connexion.spec import OpenAPISpecification, Specification
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import (
    VALIDATOR_MAP,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.testclient import TestClient

from tasks_api import contract_verdicts, openapi31
from tasks_api.openapi31 import (
    _ORIGINAL_ACCEPTS_KWARG as ORIGINAL_ACCEPTS_KWARG,
)
from tasks_api.openapi31 import (
    _ORIGINAL_EXTRACT_CONTENT_TYPE as ORIGINAL_EXTRACT_CONTENT_TYPE,
)
from tasks_api.openapi31 import (
    _ORIGINAL_OPERATION_FN as ORIGINAL_OPERATION_FN,
)
from tasks_api.openapi31 import (
    _ORIGINAL_SANITIZED as ORIGINAL_SANITIZED,
)
from tasks_api.openapi31 import (
    COMPILED_SCHEMAS,
    _decorate_once,
    _extract_content_type,
    _sanitized,
    accept_openapi_31,
    check_openapi_31,
    validator_map,
)
from tests.api.helpers import ApiClient

PROBE_SPEC = Path(__file__).parent / "openapi31_probe" / "probe.yaml"
VALID = {"count": 1, "kind": "probe"}


@pytest.fixture(scope="module")
def probe() -> TestClient:
    accept_openapi_31()
    app = AsyncApp(__name__)
    app.add_api(PROBE_SPEC, validate_responses=True, validator_map=validator_map(max_body_bytes=1024))
    client: TestClient = app.test_client()
    return client


class TestRequestBodiesFollowDraft202012:
    def test_a_valid_body_passes(self, probe: TestClient) -> None:
        body = {
            **VALID,
            "note": None,
            "id": "6f1c1c5e-8d2a-4b7e-9a51-0c3d6f2b9e10",
            "at": "2026-01-01T00:00:00Z",
        }

        response = probe.post("/probe", json=body)

        assert response.status_code == 200
        assert response.json() == body

    @pytest.mark.parametrize(
        ("body", "pointer", "keyword"),
        [
            ({**VALID, "count": 0}, "/count", "less than or equal to the minimum of 0"),
            ({**VALID, "kind": "other"}, "/kind", '"probe" was expected'),
            ({**VALID, "note": 5}, "/note", 'is not of types "null", "string"'),
            ({**VALID, "extra": True}, "", "Additional properties are not allowed"),
            ({**VALID, "id": "not-a-uuid"}, "/id", 'is not a "uuid"'),
            ({**VALID, "at": "2026-13-01T00:00:00Z"}, "/at", 'is not a "date-time"'),
        ],
    )
    def test_2020_12_keywords_are_enforced(
        self, probe: TestClient, body: dict[str, Any], pointer: str, keyword: str
    ) -> None:
        response = probe.post("/probe", json=body)

        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        [error] = response.json()["errors"]
        assert error["pointer"] == pointer
        assert keyword in error["detail"]

    def test_bodies_over_the_limit_are_refused_with_413(self, probe: TestClient) -> None:
        response = probe.post("/probe", json={**VALID, "note": "x" * 2000})

        assert response.status_code == 413


class TestParametersFollowDraft202012:
    def test_exclusive_minimum_on_a_query_parameter(self, probe: TestClient) -> None:
        assert probe.get("/probe", params={"count": 1}).status_code == 200
        refused = probe.get("/probe", params={"count": 0})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["pointer"] == "count"


class TestResponsesAreValidated:
    def test_a_handler_breaking_the_contract_is_caught(self, probe: TestClient) -> None:
        response = probe.get("/broken-response")

        assert response.status_code == 500
        assert "less than or equal to the minimum of 0" in response.json()["detail"]


class TestSchemasAreCompiledOnce:
    def test_repeated_requests_compile_nothing_new(self, probe: TestClient) -> None:
        probe.post("/probe", json=VALID)
        compiled = COMPILED_SCHEMAS.compilations

        for _ in range(20):
            probe.post("/probe", json=VALID)
            probe.get("/probe", params={"count": 3})
            probe.get("/broken-response")

        assert COMPILED_SCHEMAS.compilations - compiled <= 2  # the GET's parameter and response, once


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[object]:
    """Every full check of a 3.1 document, with verdicts kept in a fresh cache folder."""
    monkeypatch.setattr(contract_verdicts, "_verdicts_folder", lambda: tmp_path / "verdicts")
    checked: list[object] = []

    class CountingValidator(OpenAPIV31SpecValidator):
        def validate(self) -> None:
            checked.append(self)
            super().validate()

    monkeypatch.setattr(openapi31, "OpenAPIV31SpecValidator", CountingValidator)
    return checked


def unseen_probe_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(PROBE_SPEC.read_text())
    document["info"]["title"] = f"probe {uuid.uuid4()}"  # unseen by this process
    return document


class TestSpecLoading:
    def test_a_broken_31_spec_fails_with_a_clear_message(self, tmp_path: Path) -> None:
        accept_openapi_31()
        broken = tmp_path / "broken.yaml"
        broken.write_text(PROBE_SPEC.read_text().replace("description: The body, echoed.", "description: 5"))
        app = AsyncApp(__name__)

        with pytest.raises(
            InvalidSpecification, match=r"5 is not of type 'string'|5 is not of type \"string\""
        ):
            app.add_api(broken)

    def test_a_valid_31_document_is_checked_once_per_process(self, checks: list[object]) -> None:
        # serve checks the contract while the database starts; create_app then finds it checked.
        document = unseen_probe_document()

        check_openapi_31(document)
        check_openapi_31(copy.deepcopy(document))
        assert len(checks) == 1

        document["info"]["description"] = "changed"
        check_openapi_31(document)
        assert len(checks) == 2

    def test_a_valid_31_document_is_not_checked_again_by_a_later_process(
        self, checks: list[object], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Each worker's start checked it again: 0.2 s of CPU (docs/performance.md, Start-up).
        document = unseen_probe_document()
        check_openapi_31(document)

        monkeypatch.setattr(openapi31, "_VALID_31_DOCUMENTS", set())  # as a fresh process holds
        check_openapi_31(copy.deepcopy(document))

        assert len(checks) == 1

    def test_a_new_version_of_the_checker_checks_again(
        self, checks: list[object], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        document = unseen_probe_document()
        check_openapi_31(document)

        monkeypatch.setattr(openapi31, "_VALID_31_DOCUMENTS", set())
        monkeypatch.setattr(contract_verdicts, "_checkers", lambda: b"openapi-spec-validator==99.0")
        check_openapi_31(document)

        assert len(checks) == 2

    def test_a_broken_31_document_fails_every_time(self, checks: list[object], tmp_path: Path) -> None:
        broken = yaml.safe_load(PROBE_SPEC.read_text())
        broken["info"]["description"] = 5

        for _ in range(2):
            with pytest.raises(InvalidSpecification):
                check_openapi_31(broken)

        assert len(checks) == 2
        assert not list(tmp_path.rglob("*")), "a broken document left a verdict"

    def test_a_cache_that_cannot_be_written_costs_only_the_check(
        self, checks: list[object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "a-file").write_text("not a folder")
        monkeypatch.setattr(contract_verdicts, "_verdicts_folder", lambda: tmp_path / "a-file" / "verdicts")
        document = unseen_probe_document()

        check_openapi_31(document)
        monkeypatch.setattr(openapi31, "_VALID_31_DOCUMENTS", set())
        check_openapi_31(document)

        assert len(checks) == 2

    def test_30_specs_still_go_through_connexions_own_check(self) -> None:
        accept_openapi_31()
        spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}, "bogus": 1}

        with pytest.raises(InvalidSpecification):
            Specification.from_dict(spec)


class TestConnexionInternalsWeRelyOn:
    """If one of these fails after a Connexion upgrade, revisit tasks_api/openapi31.py."""

    def test_connexion_is_the_version_this_was_written_for(self) -> None:
        assert version("connexion").startswith("3.3."), (
            "Connexion changed: check spec-first/connexion#1396 (native 3.1 support) and the "
            "internals listed in tasks_api/openapi31.py, then update this test."
        )

    def test_the_spec_check_is_still_a_classmethod_on_specification(self) -> None:
        assert isinstance(Specification.__dict__["_validate_spec"], classmethod)
        assert issubclass(OpenAPISpecification, Specification)

    def test_the_validator_hooks_still_exist_with_the_same_shape(self) -> None:
        assert set(VALIDATOR_MAP) == {"parameter", "body", "response"}
        assert list(inspect.signature(ParameterValidator.validate_parameter).parameters) == [
            "parameter_type",
            "value",
            "param",
            "param_name",
        ]
        assert list(inspect.signature(JSONRequestBodyValidator._parse).parameters) == [
            "self",
            "stream",
            "scope",
        ]
        assert list(inspect.signature(JSONRequestBodyValidator._validate).parameters) == ["self", "body"]
        assert list(inspect.signature(JSONResponseBodyValidator._parse).parameters) == ["self", "stream"]
        assert list(inspect.signature(JSONResponseBodyValidator._validate).parameters) == ["self", "body"]

    def test_connexion_alone_still_refuses_31(self) -> None:
        """When this fails, Connexion accepts 3.1 by itself: our spec-check override can go."""
        original = Specification.__dict__["_validate_spec"]
        spec = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}

        with pytest.raises(InvalidSpecification):
            original.__func__(OpenAPISpecification, spec)

    def test_the_scope_keys_read_for_metrics_and_logs_are_still_connexions(self) -> None:
        """``request_context`` relies on these names; the metrics tests check the values arrive."""
        from connexion.middleware.abstract import ROUTING_CONTEXT

        assert ROUTING_CONTEXT == "connexion_routing"
        assert '"connexion_context"' in inspect.getsource(importlib.import_module("connexion.lifecycle"))


class TestPerRequestWorkIsDoneOnce:
    """``reuse_per_operation_work``: what depends only on the operation is not redone per request."""

    def test_the_hooks_still_have_the_same_shape(self) -> None:
        assert isinstance(ORIGINAL_OPERATION_FN, property)
        assert isinstance(ORIGINAL_ACCEPTS_KWARG, staticmethod)
        # Connexion defines decorate on BaseDecorator only; ASGIDecorator's is ours once patched.
        assert ASGIDecorator.__dict__.get("decorate") in (None, _decorate_once)
        assert issubclass(ASGIDecorator, BaseDecorator)
        assert list(inspect.signature(BaseDecorator.decorate).parameters) == ["self", "function"]
        assert list(inspect.signature(ORIGINAL_ACCEPTS_KWARG.__func__).parameters) == ["func", "keyword"]

    def test_an_authenticated_request_inspects_no_signature(
        self, client: ApiClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        created = client.post("/api/alice/tasks", json={"title": "warm"}).json()

        def requests() -> list[int]:
            return [
                client.get("/api/alice/tasks").status_code,
                client.get(f"/api/alice/tasks/{created['id']}").status_code,
                client.patch(f"/api/alice/tasks/{created['id']}", json={"title": "x"}).status_code,
            ]

        assert requests() == [200, 200, 200]  # each operation's first request may set things up
        calls: list[object] = []
        original = inspect.signature

        def counted(function: Any, *args: Any, **kwargs: Any) -> inspect.Signature:
            calls.append(function)
            return original(function, *args, **kwargs)

        monkeypatch.setattr(inspect, "signature", counted)

        assert requests() == [200, 200, 200]
        assert calls == []

    def test_a_handler_reads_its_parameters_with_the_operations_one_uri_parser(
        self, client: ApiClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        created = client.post("/api/alice/tasks", json={"title": "warm"}).json()

        def parsers_built() -> list[int]:
            counts = []
            for method, url, body in [
                ("GET", "/api/alice/tasks?limit=5", None),
                ("GET", f"/api/alice/tasks/{created['id']}", None),
                ("PATCH", f"/api/alice/tasks/{created['id']}", {"title": "x"}),
            ]:
                built.clear()
                assert client.request(method, url, json=body).status_code == 200
                counts.append(len(built))
            return counts

        built: list[object] = []
        original = OpenAPIURIParser.__init__

        def counted(parser: OpenAPIURIParser, *args: Any) -> None:
            built.append(parser)
            original(parser, *args)

        parsers_built()  # each operation's first request may set things up
        monkeypatch.setattr(OpenAPIURIParser, "__init__", counted)

        # Connexion's request validation builds its own per request (and one for a body);
        # before, the handler's decorator built one more for every request.
        assert parsers_built() == [1, 1, 2]

    def test_a_uri_parsers_parameter_schemas_are_worked_out_once(self) -> None:
        parser = OpenAPIURIParser([{"name": "limit", "in": "query", "schema": {"type": "integer"}}], {})

        assert parser.param_schemas == {"limit": {"type": "integer"}}
        assert parser.param_schemas is parser.param_schemas

    @pytest.mark.parametrize(
        "headers",
        [
            [(b"host", b"x"), (b"content-type", b"application/merge-patch+json; charset=utf-8")],
            [(b"Content-Type", b"application/json"), (b"content-type", b"text/plain")],
            [(b"host", b"x")],
            [(b"content-type", "caf\u00e9".encode("latin-1"))],
            [],
            {"ETag": '"1"', "Content-Type": "application/json"},
            {"content-type": "application/problem+json"},
            {"Location": "/x"},
        ],
    )
    def test_content_types_are_read_as_connexion_reads_them(self, headers: Any) -> None:
        assert _extract_content_type(headers) == ORIGINAL_EXTRACT_CONTENT_TYPE(headers)

    @pytest.mark.parametrize("name", ["task_id", "filter[status]", "sort", "user-id", "1st", "a[]", "", "if"])
    def test_parameter_names_are_sanitized_as_connexion_sanitizes_them(self, name: str) -> None:
        assert _sanitized(name) == ORIGINAL_SANITIZED(name)

    def test_connexion_still_calls_the_replaced_functions_through_their_modules(
        self, client: ApiClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Replacing a module attribute helps only while Connexion looks it up there."""
        assert connexion.utils.extract_content_type is _extract_content_type
        assert connexion.decorators.parameter.sanitized is _sanitized
        # Parameter decorators take ``sanitized`` from their module when built (once per operation).
        assert "sanitize_fn = pythonic if pythonic_params else sanitized" in inspect.getsource(
            connexion.decorators.parameter.BaseParameterDecorator.__init__
        )
        seen: list[object] = []

        def counted(headers: Any) -> str | None:
            seen.append(headers)
            return _extract_content_type(headers)

        monkeypatch.setattr(connexion.utils, "extract_content_type", counted)

        assert client.post("/api/alice/tasks", json={"title": "t"}).status_code == 201
        assert len(seen) >= 2  # the request's body, the response's media type
