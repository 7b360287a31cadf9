"""What a handler needs from the running app, in one place: the database and the request's owner."""

from __future__ import annotations

from typing import Any, cast

from connexion import request
from starlette.responses import Response

from models.unit_of_work import UnitOfWork
from tasks_api.database import Database

HandlerResult = tuple[Any, int] | tuple[Any, int, dict[str, str]]


def json_result(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HandlerResult:
    """Operations that also declare problem+json errors must name their success media type
    (Connexion refuses to guess between several)."""
    return body, status, {"Content-Type": "application/json", **(headers or {})}


def no_content() -> Response:
    """A bare 204: Connexion would otherwise label it with the operation's only media type."""
    return Response(status_code=204)


def app_state(name: str) -> Any:
    return getattr(request.state, name)


def unit_of_work(path_user_id: str) -> UnitOfWork:
    """A unit of work for the owner of this request.

    Until authentication lands, the owner is the ``{user_id}`` in the path; the authenticated
    subject will be checked against it here, and only here.
    """
    database = cast(Database, app_state("database"))
    return database.unit_of_work(owner_id=path_user_id)
