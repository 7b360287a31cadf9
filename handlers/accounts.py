"""Built-in accounts: register, exchange credentials for a token, and who am I."""

from __future__ import annotations

from typing import Any, cast

from argon2 import PasswordHasher
from connexion import request

from handlers.context import HandlerResult, app_state, authenticated_owner, database, json_result
from models.input import parse_input
from models.timestamps import utc_now
from models.user import Credentials, User, UserPublic, UserRegistration
from tasks_api.auth import TokenIssuer


def _public(user: User) -> dict[str, Any]:
    return UserPublic.model_validate(user).model_dump(mode="json")


def _hasher() -> PasswordHasher:
    return cast(PasswordHasher, app_state("password_hasher"))


def register_user(body: dict[str, Any]) -> HandlerResult:
    registration = parse_input(UserRegistration, body)
    password_hash = _hasher().hash(registration.password)
    with database().unit_of_work() as uow:
        user = uow.users.register(registration, password_hash)
        uow.commit()
    return json_result(_public(user), 201, {"Location": "/api/users/me"})


def create_token(body: dict[str, Any]) -> HandlerResult:
    credentials = parse_input(Credentials, body)
    client_address = request.client.host if request.client else "unknown"
    with database().unit_of_work() as uow:
        user = uow.sign_in.authenticate(credentials, client_address, _hasher(), utc_now())
        uow.commit()
    token = cast(TokenIssuer, app_state("token_issuer")).issue(user.id)
    return json_result(token, headers={"Cache-Control": "no-store"})


def get_current_user() -> HandlerResult:
    with database().unit_of_work() as uow:
        user = uow.users.ensure(authenticated_owner())
        uow.commit()
    return json_result(_public(user))
