"""Built-in accounts: register, exchange credentials for a token, and who am I."""

from __future__ import annotations

from typing import Any

from connexion import request

from handlers.context import HandlerResult, authenticated_owner, database, json_result, services
from models.input import parse_input
from models.timestamps import utc_now
from models.user import Credentials, User, UserPublic, UserRegistration


def _public(user: User) -> dict[str, Any]:
    return UserPublic.model_validate(user).model_dump(mode="json")


def register_user(body: dict[str, Any]) -> HandlerResult:
    registration = parse_input(UserRegistration, body)
    password_hash = services().password_hasher.hash(registration.password)
    with database().unit_of_work() as uow:
        user = uow.users.register(registration, password_hash)
        uow.commit()
    return json_result(_public(user), 201, {"Location": "/api/users/me"})


def create_token(body: dict[str, Any]) -> HandlerResult:
    credentials = parse_input(Credentials, body)
    client_address = request.client.host if request.client else "unknown"
    with database().unit_of_work() as uow:
        user = uow.sign_in.authenticate(credentials, client_address, services().password_hasher, utc_now())
        uow.commit()
    token = services().token_issuer.issue(user.id)
    return json_result(token, headers={"Cache-Control": "no-store"})


def get_current_user() -> HandlerResult:
    with database().unit_of_work() as uow:
        user = uow.users.ensure(authenticated_owner())
        uow.commit()
    return json_result(_public(user))
