"""The one error table: every domain error has a problem type, found through its class hierarchy."""

from __future__ import annotations

import importlib
import logging
import pkgutil

import orjson
import pytest
from connexion.lifecycle import ConnexionRequest

import models
from models.errors import DomainError, TaskNotFound
from tasks_api import problems


def every_domain_error() -> list[type[DomainError]]:
    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"models.{module.name}")  # a subclass exists once its module is loaded
    found: list[type[DomainError]] = []
    pending = list(DomainError.__subclasses__())
    while pending:
        error_type = pending.pop()
        found.append(error_type)
        pending.extend(error_type.__subclasses__())
    return found


def a_request() -> ConnexionRequest:
    return ConnexionRequest({"type": "http", "method": "GET", "path": "/somewhere", "headers": []})


@pytest.mark.parametrize("error_type", every_domain_error(), ids=lambda error_type: error_type.__name__)
def test_every_domain_error_has_a_problem_type(error_type: type[DomainError]) -> None:
    assert problems.problem_kind_for(error_type) is not None


def test_a_subclass_is_mapped_like_its_parent() -> None:
    class ArchivedTaskNotFound(TaskNotFound):
        pass

    assert problems.problem_kind_for(ArchivedTaskNotFound) == problems.NOT_FOUND


def test_an_unmapped_domain_error_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    class NobodyMappedThis(DomainError):
        pass

    with caplog.at_level(logging.ERROR, logger=problems.__name__):
        response = problems.render_domain_error(a_request(), NobodyMappedThis("internal words"))

    assert response.status_code == 500
    body = orjson.loads(response.body)
    assert body["type"] == problems.INTERNAL_ERROR.type
    assert "internal words" not in body["detail"]
    assert any(record.exc_info and record.exc_info[0] is NobodyMappedThis for record in caplog.records)
