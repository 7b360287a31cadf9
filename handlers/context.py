"""What a handler needs from the running app, in one place: the database and the request's owner."""

from __future__ import annotations

from typing import Any

import connexion.context
from connexion.context import context
from starlette.datastructures import URL, Headers
from starlette.responses import Response

from models.errors import NotTheOwner
from models.unit_of_work import UnitOfWork
from models.user import Owner
from tasks_api.admission import OWNER
from tasks_api.database import Database
from tasks_api.services import Services, current_services

HandlerResult = tuple[Any, int] | tuple[Any, int, dict[str, str]]


def json_result(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HandlerResult:
    """Operations that also declare problem+json errors must name their success media type
    (Connexion refuses to guess between several)."""
    return body, status, {"Content-Type": "application/json", **(headers or {})}


def no_content() -> Response:
    """A bare 204: Connexion would otherwise label it with the operation's only media type."""
    return Response(status_code=204)


def request_headers() -> Headers:
    """The request's headers. (Each attribute read through ``connexion.request`` builds a new
    request object; these read the ASGI scope as Starlette's request would.)"""
    return Headers(scope=connexion.context.scope)


def request_url() -> URL:
    return URL(scope=connexion.context.scope)


def services() -> Services:
    """The running app's services (built once by ``create_app``)."""
    return current_services()


def database() -> Database:
    return services().database


def authenticated_owner() -> Owner:
    """The token's user, as admission found it (``bearer_token_info`` verified the token; every
    handler runs after ``tasks_api.admission`` refused a revoked one and counted the request)."""
    owner: Owner = context["token_info"][OWNER]
    return owner


def owners_unit_of_work(path_user_id: str, *, read_only: bool = False) -> UnitOfWork:
    """A unit of work on the data of ``{user_id}``, after checking it is the token's subject
    (NotTheOwner otherwise); the data is the token's user's, found by (issuer, subject).
    ``read_only``: for an operation that only reads, in one statement (see ``UnitOfWork``).

    This is the one place that decides whose tasks a request may touch.
    """
    owner = authenticated_owner()
    if owner.public_id != path_user_id:
        raise NotTheOwner
    return database().unit_of_work(owner, read_only=read_only)
