"""Turning a contract-valid request body into an input model."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from models.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)


def parse_input(model: type[Model], body: dict[str, Any]) -> Model:
    """The contract has validated ``body``; what still fails (a date that leaves the calendar in
    UTC, say) is the client's error, reported per field like any other."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise InvalidInput(
            [
                {"pointer": "".join(f"/{part}" for part in issue["loc"]), "detail": issue["msg"]}
                for issue in error.errors()
            ]
        ) from error
